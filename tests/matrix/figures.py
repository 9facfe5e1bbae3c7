"""The sample's figures from every README algorithm, as plain tables, and their comparison between QGIS lines.

``collect OUT``  (inside a chroot of the matrix, with QGIS): runs ``tools/demo.py`` (every algorithm of
the toolbox on the sample through qgis_process) plus createscheme and importtxt, then writes each
output's figures as a CSV under OUT: CSV tables as they are, every feature layer of a GeoPackage
(attributes, planar area and vertex count of the geometry), the sheets of 附表.xlsx, the lines of the 部标
TXT files (in their order: point numbering is part of the file). Table rows are sorted, so a different
feature order is not a difference.

``compare A B`` (stdlib only): every table of A must be in B with the same columns and rows; text must
be equal and numbers — also inside messages — equal within ``REL_TOL``/``ABS_TOL`` (PROJ releases differ
in the last digits of a reprojection, never in a printed figure).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import subprocess
import sys
from pathlib import Path

REL_TOL = 1e-7
ABS_TOL = 1e-6
ROOT = Path(__file__).resolve().parents[2]
# A number as the plugin prints it; a sign only where it cannot be a hyphen inside an id (DY01-02).
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|(?<=\w)\d+(?:\.\d+)?")
SKIPPED_SUFFIXES = {".pdf", ".png", ".docx", ".json", ".qpt", ".gpkg-wal", ".gpkg-shm"}
# GeoPackage tables that hold no figures (styles carry the writer's version and time).
SKIPPED_TABLES = {"layer_styles"}


# ----------------------------------------------------------------------------- comparing (stdlib only)

def tokens(text: str) -> list:
    """Text split into literal pieces and numbers (floats), so '3.25 亩' and '3.2500000001 亩' compare equal."""
    pieces, position = [], 0
    for match in NUMBER.finditer(text):
        pieces.append(text[position:match.start()])
        pieces.append(float(match.group()))
        position = match.end()
    pieces.append(text[position:])
    return pieces


def same_cell(a: str, b: str) -> bool:
    if a == b:
        return True
    left, right = tokens(a), tokens(b)
    if len(left) != len(right):
        return False
    for x, y in zip(left, right):
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL):
                return False
        elif x != y:
            return False
    return True


def read_table(path: Path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
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
        numbers += sum(1 for row in table_a[1:] for cell in row for t in tokens(cell) if isinstance(t, float))
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
        rows = []
        for feature in layer:
            row = [text(feature.GetField(name)) for name in fields]
            if has_geometry:
                geometry = feature.GetGeometryRef()
                row += [text(geometry.GetArea()) if geometry else "", text(_vertex_count(geometry))]
            rows.append(row)
        write_rows(target / f"{layer.GetName()}.csv", fields + (["_area", "_vertices"] if has_geometry else []), rows)


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
    subprocess.run([qgis_process, "run", "landconsolidation:importtxt", "--", f"INPUT={run / '子项目坐标.txt'}",
                    f"OUTPUT={run / '导入子项目.gpkg'}"], check=True, env=env, capture_output=True)
    subprocess.run([qgis_process, "run", "landconsolidation:createscheme", "--",
                    f"PBF={sample}|layername=YJJBNTTB", f"OUTPUT={run / '新方案.gpkg'}"],
                   check=True, env=env, capture_output=True)
    for path in sorted(run.rglob("*")):
        if not path.is_file() or path.suffix in SKIPPED_SUFFIXES or "输入数据" in path.parts:
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
