"""部标 TXT coordinate files: how parcels travel between Chinese land systems (报批, 增减挂钩, 一张图).

Layout written (and read)::

    [属性描述]
    格式版本号=1.01
    数据产生单位=…
    数据产生日期=2026-11-28
    坐标系=2000国家大地坐标系
    几度分带=3
    投影类型=高斯克吕格
    计量单位=米
    带号=40
    精度=0.001
    转换参数=,,,,,,
    [地块坐标]
    界址点数,地块面积(公顷),地块编号,地块名称,面,图幅号,地块用途,地类编码,@
    J1,1,X(北),Y(东，带号+坐标或不带带号)
    …
    J1,1,…                       ← each ring closes on its first point, with its number

Rings: 圈号 1, 2, … within a 地块, outer rings clockwise (as seen on the map), holes
counter-clockwise and following their outer ring; J numbers run on through the 地块.
界址点数 counts the coordinate lines, closing points included. On reading, a ring
inside another ring of the same 地块 is a hole of it.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence, TypedDict

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from ..common.errors import InputError
from ..common.i18n import tr

if TYPE_CHECKING:
    from shapely.coords import CoordinateSequence

HEADER_SECTION = "[属性描述]"
COORDINATE_SECTION = "[地块坐标]"
RECORD_END = "@"
CGCS2000_NAME = "2000国家大地坐标系"


@dataclass
class TxtParcel:
    geometry: Polygon | MultiPolygon  # in GK metres, easting WITHOUT zone prefix
    number: str = ""
    name: str = ""
    use: str = ""
    class_code: str = ""
    sheet: str = ""
    area_ha: float | None = None


@dataclass
class TxtHeader:
    zone: int
    zone_width: int = 3
    coordinate_system: str = CGCS2000_NAME
    producer: str = ""
    date: str = ""
    precision: str = "0.001"
    version: str = "1.01"
    extra: dict[str, str] = field(default_factory=dict)


def gauss_kruger_zone(longitude: float, zone_width: int = 3) -> int:
    """Zone number of a 3° (or 6°) Gauss–Krüger zone containing ``longitude``."""
    if zone_width == 3:
        return int(np.floor(longitude / 3.0 + 0.5))
    return int(np.floor(longitude / 6.0)) + 1


def cgcs2000_gk_epsg(zone: int, zone_width: int = 3, with_prefix: bool = False) -> int:
    """EPSG code of CGCS2000 / Gauss–Krüger for a zone (3°: zones 25–45; 6°: 13–23)."""
    if zone_width == 3:
        if not 25 <= zone <= 45:
            raise ValueError(zone)
        return (4513 if with_prefix else 4534) + zone - 25
    if not 13 <= zone <= 23:
        raise ValueError(zone)
    return (4491 if with_prefix else 4502) + zone - 13


def cgcs2000_gk3_zone_of_epsg(epsg: int | None) -> tuple[int, bool] | None:
    """``(zone, eastings carry the zone number)`` of a CGCS2000 3° Gauss–Krüger EPSG code, else None.

    EPSG:4513–4533 are "CGCS2000 / 3-degree Gauss-Kruger zone 25…45" (false easting with the zone
    number, e.g. 40 500 000); EPSG:4534–4554 are "… CM 75E…135E", zones 25…45 without it (500 000).
    The inverse of ``cgcs2000_gk_epsg`` for 3° zones."""
    if epsg is None:
        return None
    if 4513 <= epsg <= 4533:
        return epsg - 4513 + 25, True
    if 4534 <= epsg <= 4554:
        return epsg - 4534 + 25, False
    return None


@dataclass(frozen=True)
class ZoneChoice:
    """The 3° zone a file is written in, and why."""

    zone: int
    layer_prefix: bool  # the layer's convention: eastings with the zone number (only meaningful from_layer)
    from_layer: bool  # True: the layer's own CGCS2000 3° GK zone; False: chosen by the data's longitude


def choose_zone(epsg: int | None, mid_longitude: float) -> ZoneChoice:
    """A layer in a CGCS2000 3° Gauss–Krüger CRS keeps its zone (and its coordinates); any other CRS
    gets the zone of the data's mean longitude."""
    own = cgcs2000_gk3_zone_of_epsg(epsg)
    if own is not None:
        return ZoneChoice(zone=own[0], layer_prefix=own[1], from_layer=True)
    return ZoneChoice(zone=gauss_kruger_zone(mid_longitude), layer_prefix=True, from_layer=False)


def _oriented(polygon: Polygon) -> Polygon:
    """Outer ring clockwise, holes counter-clockwise (as seen on the map)."""
    return shapely.geometry.polygon.orient(polygon, sign=-1.0)


def _northwest_key(coords: Iterable[Sequence[float]]) -> tuple[float, float]:
    """Where a ring's northwest corner is, for ordering parts and holes: north first, then west."""
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    return (-max(ys), min(xs))


def _from_northwest(coords: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """The ring's vertices (closing one dropped) starting at the one nearest its bounding box's
    northwest corner, as boundary points are numbered (从西北角起): the same polygon gives the same
    file whatever vertex the drawing or GEOS started the ring at."""
    west, north = min(c[0] for c in coords), max(c[1] for c in coords)
    # Ties (a diamond has two vertices as near) go to the northern, then the western one.
    start = min(range(len(coords)), key=lambda i: ((coords[i][0] - west) ** 2 + (coords[i][1] - north) ** 2,
                                                   -coords[i][1], coords[i][0]))
    return coords[start:] + coords[:start]


def _fmt(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if text in ("-0", "-0." + "0" * decimals) else text


def write_txt(parcels: Iterable[TxtParcel], header: TxtHeader, decimals: int = 3, prefix_zone: bool = True) -> str:
    """The TXT text for ``parcels`` (coordinates rounded to ``decimals``)."""
    date = header.date or _dt.date.today().isoformat()
    lines = [HEADER_SECTION,
             f"格式版本号={header.version}",
             f"数据产生单位={header.producer}",
             f"数据产生日期={date}",
             f"坐标系={header.coordinate_system}",
             f"几度分带={header.zone_width}",
             "投影类型=高斯克吕格",
             "计量单位=米",
             f"带号={header.zone}",
             f"精度={header.precision}",
             "转换参数=,,,,,,"]
    for key, value in header.extra.items():
        lines.append(f"{key}={value}")
    lines.append(COORDINATE_SECTION)
    offset = header.zone * 1_000_000 if prefix_zone else 0
    for parcel in parcels:
        body = []
        point = 0
        ring_number = 0
        polygons = [parcel.geometry] if isinstance(parcel.geometry, Polygon) else list(parcel.geometry.geoms)
        for polygon in sorted((_oriented(p) for p in polygons), key=lambda p: _northwest_key(p.exterior.coords)):
            holes = sorted(polygon.interiors, key=lambda ring: _northwest_key(ring.coords))
            for ring in [polygon.exterior] + holes:
                ring_number += 1
                coords = _from_northwest(list(ring.coords)[:-1])
                first = point + 1
                for x, y in coords:
                    point += 1
                    body.append(f"J{point},{ring_number},{_fmt(y, decimals)},{_fmt(x + offset, decimals)}")
                x, y = coords[0]
                body.append(f"J{first},{ring_number},{_fmt(y, decimals)},{_fmt(x + offset, decimals)}")
        area = "" if parcel.area_ha is None else f"{parcel.area_ha:.4f}"
        fields = [str(len(body)), area, parcel.number, parcel.name, "面", parcel.sheet, parcel.use,
                  parcel.class_code, RECORD_END]
        lines.append(",".join(_clean(f) for f in fields))
        lines.extend(body)
    return "\r\n".join(lines) + "\r\n"


def _clean(value: object) -> str:
    # Commas would shift the fields of the record line.
    return "" if value is None else str(value).replace(",", "，").replace("\n", " ").strip()


class _Record(TypedDict):
    """A 地块's record line as read: its fields and its line number."""

    fields: list[str]
    line: int


_POINT = re.compile(r"^\s*(J?\d+)\s*,\s*(\d+)\s*,\s*([-+\d.eE]+)\s*,\s*([-+\d.eE]+)\s*$", re.IGNORECASE)


def read_txt(text: str, source: str = "TXT") -> tuple[TxtHeader, list[TxtParcel]]:
    """Parse a TXT file's text into its header and parcels (easting without the zone prefix)."""
    header_values: dict[str, str] = {}
    parcels: list[TxtParcel] = []
    zone_holder: dict[str, int] = {}
    section: str | None = None
    record: _Record | None = None
    rings: dict[int, list[tuple[str, str]]] = {}  # ring number -> (X, Y) as written
    line_no = 0

    def close_record() -> None:
        if record is None:
            return
        parcels.append(_build_parcel(record, rings, source, zone_holder.get("zone")))

    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("["):
            section = line
            continue
        if section == HEADER_SECTION or (section is None and "=" in line):
            key, _, value = line.partition("=")
            header_values[key.strip()] = value.strip()
            if key.strip() == "带号" and value.strip().isdigit():
                zone_holder["zone"] = int(value.strip())
            continue
        if section != COORDINATE_SECTION:
            continue
        if line.endswith(RECORD_END):
            close_record()
            fields = [f.strip() for f in line.split(",")]
            record = {"fields": fields, "line": line_no}
            rings = {}
            continue
        match = _POINT.match(line)
        if match is None or record is None:
            raise InputError(tr("{source} 第 {line} 行不是界址点坐标（点号,圈号,X,Y）：{text}").format(
                source=source, line=line_no, text=line[:60]))
        ring = int(match.group(2))
        rings.setdefault(ring, []).append((match.group(3), match.group(4)))
    close_record()

    zone = header_values.get("带号", "")
    if not zone.strip().isdigit():
        raise InputError(tr("{source} 缺少有效的“带号”。").format(source=source))
    header = TxtHeader(zone=int(zone), zone_width=int(header_values.get("几度分带", "3") or 3),
                       coordinate_system=header_values.get("坐标系", CGCS2000_NAME),
                       producer=header_values.get("数据产生单位", ""), date=header_values.get("数据产生日期", ""),
                       precision=header_values.get("精度", ""), version=header_values.get("格式版本号", ""))
    return header, parcels


def _coordinate(text: str, prefix: int) -> float:
    """A coordinate as written, less the zone number, rounded back to the decimals written."""
    value = float(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    if value > 1_000_000 and prefix:
        value = round(value - prefix, decimals)
    return value


def _build_parcel(record: _Record, rings: dict[int, list[tuple[str, str]]], source: str, zone: int | None) -> TxtParcel:
    fields = record["fields"] + [""] * 9
    if not rings:
        raise InputError(tr("{source} 第 {line} 行的地块没有界址点。").format(source=source, line=record["line"]))
    closed = []
    for number in sorted(rings):
        points = rings[number]
        # X is northing and Y easting in the file: swap to (easting, northing); eastings carrying
        # the zone number (e.g. 40 620 000) lose it, the CRS says the zone.
        prefix = (zone or 0) * 1_000_000
        coords = [(_coordinate(y, prefix), float(x)) for x, y in points]
        if len(coords) > 1 and coords[0] == coords[-1]:
            coords = coords[:-1]
        if len(coords) < 3:
            raise InputError(tr("{source} 第 {line} 行地块的第 {ring} 圈不足 3 个点。").format(
                source=source, line=record["line"], ring=number))
        closed.append(Polygon(coords))
    # Rings inside another ring are its holes; the others are outer rings of parts.
    outers = []
    holes: dict[int, list[CoordinateSequence]] = {}
    for i, ring in enumerate(closed):
        container = next((j for j, other in enumerate(closed) if j != i and other.contains(ring)), None)
        if container is None:
            outers.append(i)
        else:
            holes.setdefault(container, []).append(ring.exterior.coords)
    polygons = [Polygon(closed[i].exterior.coords, holes.get(i, [])) for i in outers]
    geometry = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    try:
        area = float(fields[1]) if fields[1] else None
    except ValueError:
        area = None
    return TxtParcel(geometry=geometry, number=fields[2], name=fields[3], sheet=fields[5], use=fields[6],
                     class_code=fields[7] if fields[7] != RECORD_END else "", area_ha=area)
