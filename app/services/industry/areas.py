"""The places an organisation can be: Shanghai's 16 districts and the seven Jiangsu corridor cities (沿沪宁产业创新带,
"七市一区" with Putuo), each with the clinmatch region it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from app.models.enums import Region


@dataclass(frozen=True)
class Area:
    code: str
    name_zh: str
    name_en: str
    region: Region
    city: bool = False  # a Jiangsu corridor city (else a Shanghai district)
    source_key: str = ""  # the city's file name in the vendored package


_SHANGHAI = (
    ("huangpu", "黄浦区", "Huangpu"), ("xuhui", "徐汇区", "Xuhui"), ("changning", "长宁区", "Changning"),
    ("jingan", "静安区", "Jing'an"), ("putuo", "普陀区", "Putuo"), ("hongkou", "虹口区", "Hongkou"),
    ("yangpu", "杨浦区", "Yangpu"), ("minhang", "闵行区", "Minhang"), ("baoshan", "宝山区", "Baoshan"),
    ("jiading", "嘉定区", "Jiading"), ("pudong", "浦东新区", "Pudong"), ("jinshan", "金山区", "Jinshan"),
    ("songjiang", "松江区", "Songjiang"), ("qingpu", "青浦区", "Qingpu"), ("fengxian", "奉贤区", "Fengxian"),
    ("chongming", "崇明区", "Chongming"),
)
_JIANGSU = (
    ("nanjing", "南京市", "Nanjing", "nan2_jing1"), ("wuxi", "无锡市", "Wuxi", "wu2_xi2"),
    ("changzhou", "常州市", "Changzhou", "chang2_zhou1"), ("suzhou", "苏州市", "Suzhou", "su1_zhou1"),
    ("nantong", "南通市", "Nantong", "nan2_tong1"), ("zhenjiang", "镇江市", "Zhenjiang", "zhen4_jiang1"),
    ("taizhou", "泰州市", "Taizhou", "tai4_zhou1"),
)

AREAS: dict[str, Area] = {
    **{c: Area(c, zh, en, Region.putuo if c == "putuo" else Region.shanghai) for c, zh, en in _SHANGHAI},
    **{c: Area(c, zh, en, Region(c), city=True, source_key=k) for c, zh, en, k in _JIANGSU},
}
AREA_CODES = tuple(AREAS)


def areas_of_region(region: str) -> tuple[str, ...]:
    """The areas an organisation of ``region`` may be in (none for 'other': outside the map)."""
    return tuple(a.code for a in AREAS.values() if a.region == region)
