"""Geometry over the vendored boundaries (data/regions.geojson): point in area, a representative point of each
area, bounds. Pure functions; the file is read once per process."""

from __future__ import annotations

import itertools
import json
import math
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "regions.geojson"
Ring = list[list[float]]
Multi = list[list[Ring]]


@lru_cache(maxsize=1)
def regions() -> dict:
    """The FeatureCollection of the 23 areas (as served to the map page)."""
    return json.loads(DATA.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def shapes() -> dict[str, Multi]:
    return {f["id"]: f["geometry"]["coordinates"] for f in regions()["features"]}


def _in_ring(x: float, y: float, ring: Ring) -> bool:
    """Even-odd ray casting."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def in_multi(x: float, y: float, multi: Multi) -> bool:
    return any(_in_ring(x, y, poly[0]) and not any(_in_ring(x, y, h) for h in poly[1:]) for poly in multi)


def contains(area: str, lon: float, lat: float) -> bool:
    multi = shapes().get(area)
    return multi is not None and in_multi(lon, lat, multi)


def area_of(lon: float, lat: float) -> str | None:
    """The area a point lies in (None: outside all 23)."""
    return next((code for code, multi in shapes().items() if in_multi(lon, lat, multi)), None)


def _ring_centroid(ring: Ring) -> tuple[float, float, float]:
    """(signed area, cx, cy) of a closed ring (shoelace)."""
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        c = x0 * y1 - x1 * y0
        a += c
        cx += (x0 + x1) * c
        cy += (y0 + y1) * c
    a /= 2
    return (a, cx / (6 * a), cy / (6 * a)) if a else (0.0, ring[0][0], ring[0][1])


def bounds_of(multi: Multi) -> tuple[float, float, float, float]:
    xs = [p[0] for poly in multi for p in poly[0]]
    ys = [p[1] for poly in multi for p in poly[0]]
    return min(xs), min(ys), max(xs), max(ys)


@lru_cache(maxsize=64)
def anchor(area: str) -> tuple[float, float]:
    """A point inside the area: the centroid of its largest polygon when that lies inside (a concave outline's may
    not), else the inside point nearest to it on a grid over the polygon's box."""
    multi = shapes()[area]
    largest = max(multi, key=lambda poly: abs(_ring_centroid(poly[0])[0]))
    _, cx, cy = _ring_centroid(largest[0])
    if in_multi(cx, cy, multi):
        return round(cx, 5), round(cy, 5)
    x0, y0, x1, y1 = bounds_of([largest])
    best, steps = None, 40
    for i in range(1, steps):
        for j in range(1, steps):
            x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * j / steps
            if in_multi(x, y, multi):
                d = (x - cx) ** 2 + (y - cy) ** 2
                if best is None or d < best[0]:
                    best = (d, x, y)
    return round(best[1], 5), round(best[2], 5)


def spread(area: str, n: int) -> tuple[float, float]:
    """The ``n``-th default spot in an area: the anchor for 0, then a golden-angle spiral around it (about 600 m
    apart) kept inside the area, so that organisations without their own coordinates do not sit on one point."""
    x0, y0 = anchor(area)
    k = n
    while k > 0:
        r, theta = 0.006 * math.sqrt(k), k * 2.399963
        x, y = round(x0 + r * math.cos(theta), 5), round(y0 + r * math.sin(theta), 5)
        if contains(area, x, y):
            return x, y
        k += 7  # outside (a narrow area): try further round the spiral
        if k > n + 700:
            break
    return x0, y0


def extent(areas: list[str] | None = None) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of these areas (all by default)."""
    bs = [bounds_of(shapes()[a]) for a in (areas or list(shapes()))]
    return min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs)
