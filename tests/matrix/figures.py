"""The sample's figures from every README algorithm, as plain tables, and their comparison between QGIS lines.

``collect OUT``  (inside a chroot of the matrix, with QGIS): runs ``tools/demo.py`` (every algorithm of
the toolbox on the sample through qgis_process) plus createscheme and importtxt, then writes each
output's figures as a CSV under OUT: CSV tables as they are, every feature layer of a GeoPackage
(attributes, planar area and vertex count of the geometry), the sheets of 附表.xlsx, the lines of the 部标
TXT files (in their order: point numbering is part of the file). Table rows are sorted, so a different
feature order is not a difference.

``compare A B`` (stdlib only): every table of A must be in B with the same columns and rows, and the
same files must have been written. Text must be equal; numbers — also inside messages — equal as
printed (within half a unit of the last printed decimal: integers exactly) or, for full-precision
values, within ``REL_TOL``/``ABS_TOL`` (PROJ releases differ in the last digits of a reprojection).
Codes with leading zeros (0101), dates and digits inside ids (DY01-02, J12) are text.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

REL_TOL = 1e-9
ABS_TOL = 1e-9  # for full-precision values only: float cancellation leaves 1e-12 where 0 is meant
ROOT = Path(__file__).resolve().parents[2]
# A number standing alone: not inside an id (DY01-02, J12), a code with a leading zero (0101) or a date.
NUMBER = re.compile(r"(?<![A-Za-z0-9_.\-])-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?(?![A-Za-z0-9_.\-])")
SKIPPED_SUFFIXES = {".pdf", ".png", ".docx", ".json", ".qpt"}  # listed in inventory.csv, not read
# GeoPackage tables that hold no figures (styles carry the writer's version and time).
SKIPPED_TABLES = {"layer_styles"}


# ----------------------------------------------------------------------------- comparing (stdlib only)

class Number(str):
    """A decimal number as printed: its text, its value and how many decimals were printed."""

    @property
    def value(self) -> float:
        return float(self)

    @property
    def decimals(self) -> int:
        mantissa = self.split("e")[0].split("E")[0]
        return len(mantissa.split(".")[1]) if "." in mantissa else 0

    @property
    def full_precision(self) -> bool:
        """Written as a float's repr (13 significant digits or more), not rounded for a reader."""
        digits = self.lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0")
        return "e" in self.lower() or len(digits) >= 13


def tokens(text: str) -> list:
    """Text split into literal pieces and decimal numbers, so '3.2500000000001 亩' and '3.25 亩' can compare."""
    pieces, position = [], 0
    for match in NUMBER.finditer(text):
        pieces.append(text[position:match.start()])
        pieces.append(Number(match.group()))
        position = match.end()
    pieces.append(text[position:])
    return pieces


def same_number(x: Number, y: Number) -> bool:
    """Equal as printed (half a unit of the finer print), or within REL_TOL for full-precision values."""
    tolerance = 0.5 * 10.0 ** -max(x.decimals, y.decimals)
    if x.full_precision or y.full_precision:
        tolerance = max(tolerance, REL_TOL * max(abs(x.value), abs(y.value)), ABS_TOL)
    return abs(x.value - y.value) <= tolerance * (1 + 1e-12)


def same_cell(a: str, b: str) -> bool:
    if a == b:
        return True
    left, right = tokens(a), tokens(b)
    if len(left) != len(right):
        return False
    for x, y in zip(left, right):
        if isinstance(x, Number) and isinstance(y, Number):
            if not same_number(x, y):
                return False
        elif x != y:
            return False
    return True


def read_table(path: Path) -> list:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def compare_tables(name: str, expected: list, actual: list) -> list:
    """Differences between two tables (header row first), as readable lines."""
    if not expected or not actual:
        return [] if expected == actual else [f"{name}: one of the tables is empty"]
    if expected[0] != actual[0]:
        return [f"{name}: columns differ: {expected[0]} ≠ {actual[0]}"]
    if len(expected) != len(actual):
        return [f"{name}: {len(expected) - 1} rows ≠ {len(actual) - 1} rows"]
    problems = []
    for number, (row_a, row_b) in enumerate(zip(expected[1:], actual[1:]), start=1):
        for column, a, b in zip(expected[0], row_a, row_b):
            if not same_cell(a, b):
                problems.append(f"{name} row {number} {column}: {a!r} ≠ {b!r}")
    return problems


def compare_folders(expected: Path, actual: Path) -> tuple[list, int, int]:
    """(problems, tables compared, numbers compared) for two collected folders."""
    problems, tables, numbers = [], 0, 0
    expected_files = sorted(p.relative_to(expected) for p in expected.rglob("*.csv"))
    actual_files = {p.relative_to(actual) for p in actual.rglob("*.csv")}
    if not expected_files:
        problems.append(f"{expected}: no tables collected")
    for relative in expected_files:
        if relative not in actual_files:
            problems.append(f"{relative}: missing")
            continue
        table_a, table_b = read_table(expected / relative), read_table(actual / relative)
        problems += compare_tables(str(relative), table_a, table_b)
        tables += 1
        numbers += sum(1 for row in table_a[1:] for cell in row for t in tokens(cell) if isinstance(t, Number))
    for relative in sorted(actual_files - set(expected_files)):
        problems.append(f"{relative}: not in the reference")
    return problems, tables, numbers


# ----------------------------------------------------------------------------- collecting (needs QGIS's GDAL)

def write_rows(path: Path, header: list, rows: list, keep_order: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not keep_order:
        rows = sorted(rows, key=lambda row: [str(v) for v in row])
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def geopackage_tables(path: Path, target: Path) -> None:
    from osgeo import ogr

    source = ogr.Open(str(path))
    for index in range(source.GetLayerCount()):
        layer = source.GetLayer(index)
        if layer.GetName() in SKIPPED_TABLES:
            continue
        definition = layer.GetLayerDefn()
        fields = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
        has_geometry = layer.GetGeomType() != ogr.wkbNone
        srs = layer.GetSpatialRef()
        crs = f"{srs.GetAuthorityName(None)}:{srs.GetAuthorityCode(None)}" if srs is not None else ""
        rows = []
        for feature in layer:
            row = [text(feature.GetField(name)) for name in fields]
            if has_geometry:
                geometry = feature.GetGeometryRef()
                centroid = geometry.Centroid() if geometry is not None and not geometry.IsEmpty() else None
                row += [crs, text(geometry.GetArea()) if geometry else "", text(_vertex_count(geometry)),
                        text(centroid.GetX()) if centroid else "", text(centroid.GetY()) if centroid else ""]
            rows.append(row)
        geometry_columns = ["_crs", "_area", "_vertices", "_centroid_x", "_centroid_y"] if has_geometry else []
        write_rows(target / f"{layer.GetName()}.csv", fields + geometry_columns, rows)


def _vertex_count(geometry) -> int:
    if geometry is None:
        return 0
    if geometry.GetGeometryCount():
        return sum(_vertex_count(geometry.GetGeometryRef(i)) for i in range(geometry.GetGeometryCount()))
    return geometry.GetPointCount()


def workbook_tables(path: Path, target: Path) -> None:
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    for sheet in workbook.worksheets:
        rows = [[text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        write_rows(target / f"{sheet.title}.csv", header, body)


def txt_table(path: Path, target: Path) -> None:
    lines = path.read_bytes().decode("gb18030").splitlines()
    # The header names the producer and the date the file was written: the parcel records are the figures.
    start = next((i for i, line in enumerate(lines) if "[地块坐标]" in line), 0)
    write_rows(target.with_suffix(".csv"), ["line"], [[line] for line in lines[start:]], keep_order=True)


def collect(out: Path) -> None:
    run = out / "run"
    figures = out / "figures"
    for folder in (run, figures):
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    subprocess.run([sys.executable, str(ROOT / "tools" / "demo.py"), "--out", str(run)], check=True, env=env)
    qgis_process = str(ROOT / "tools" / "qgis-process")
    sample = run / "输入数据" / "sample_pianqu.gpkg"
    for algorithm, *parameters in (
            ("importtxt", f"INPUT={run / '子项目坐标.txt'}", f"OUTPUT={run / '导入子项目.gpkg'}"),
            ("createscheme", f"PBF={sample}|layername=YJJBNTTB", f"OUTPUT={run / '新方案.gpkg'}")):
        completed = subprocess.run([qgis_process, "run", f"landconsolidation:{algorithm}", "--", *parameters],
                                   env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            sys.exit(f"{algorithm} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    written = sorted(p for p in run.rglob("*") if p.is_file() and "输入数据" not in p.relative_to(run).parts
                     and not p.name.endswith(("-wal", "-shm")))
    # Every file an algorithm wrote, figures or not (a map or PDF missing on one line is a difference).
    write_rows(figures / "inventory.csv", ["file"], [[str(p.relative_to(run))] for p in written])
    for path in written:
        if path.suffix in SKIPPED_SUFFIXES:
            continue
        target = figures / path.relative_to(run)
        if path.suffix == ".csv":
            header, *body = read_table(path)
            write_rows(target, header, body)
        elif path.suffix == ".gpkg":
            geopackage_tables(path, target.with_suffix(""))
        elif path.suffix == ".xlsx":
            workbook_tables(path, target.with_suffix(""))
        elif path.suffix == ".txt":
            txt_table(path, target)
    print(f"figures of {sum(1 for _ in figures.rglob('*.csv'))} tables in {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    collect_command = commands.add_parser("collect")
    collect_command.add_argument("out", type=Path)
    compare_command = commands.add_parser("compare")
    compare_command.add_argument("expected", type=Path)
    compare_command.add_argument("actual", type=Path)
    arguments = parser.parse_args()
    if arguments.command == "collect":
        collect(arguments.out)
        return
    problems, tables, numbers = compare_folders(arguments.expected / "figures", arguments.actual / "figures")
    if problems:
        print(f"{len(problems)} differences, e.g. " + "; ".join(problems[:5]))
        sys.exit(1)
    print(f"same figures in {tables} tables ({numbers:,} numbers)")


if __name__ == "__main__":
    main()
