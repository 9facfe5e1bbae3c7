"""The matrix's comparison of figures between QGIS lines finds a changed figure and forgives float noise."""

import csv
import importlib.util
from pathlib import Path

from fixtures.paths import TESTS

spec = importlib.util.spec_from_file_location("matrix_figures", TESTS / "matrix" / "figures.py")
figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(figures)


def write(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_numbers_compare_as_printed_and_ids_codes_and_counts_stay_text():
    assert figures.same_cell("最大 3.25 亩，占 2.64%", "最大 3.2500000000001 亩，占 2.64%")  # a repr vs its print
    assert figures.same_cell("652.0612345678901", "652.0612345678912")  # PROJ noise in the 14th digit
    assert figures.same_cell("3316757.290770222", "3316757.290770223")  # a centroid from another GEOS
    assert not figures.same_cell("最大 3.25 亩", "最大 3.26 亩")
    assert not figures.same_cell("652.0612345678901", "652.0613345678901")
    # Printed coordinates must agree to the printed millimetre, whatever their size.
    assert not figures.same_cell("J1,1,3316010.000,40620000.000", "J1,1,3316010.001,40620000.000")
    assert not figures.same_cell("符合", "不符合")
    for text in ("DY01-02", "0101", "2026-12-01", "J12"):
        assert figures.tokens(text) == [text]  # ids, codes and dates are compared as text
    assert not figures.same_cell("0101", "101") and not figures.same_cell("157 行", "158 行")  # counts exactly
    assert figures.same_cell("2.79396772384644e-12", "0")  # float noise where the exact answer is 0
    assert figures.tokens("-0.5 亩") == ["", "-0.5", " 亩"]


def test_folders_with_the_same_figures_agree(tmp_path):
    table = [["scope_id", "value", "message"], ["DY01", "652.0600000", "合计 7.25 亩"], ["DY02", "0.0", ""]]
    write(tmp_path / "a" / "figures" / "check.csv", table)
    noisy = [table[0], ["DY01", "652.0600000001", "合计 7.25 亩"], table[2]]
    write(tmp_path / "b" / "figures" / "check.csv", noisy)
    problems, tables, numbers = figures.compare_folders(tmp_path / "a" / "figures", tmp_path / "b" / "figures")
    assert problems == [] and tables == 1
    assert numbers == 3  # 652.06 and 7.25 in row 1, 0.0 in row 2 (DY01, DY02 are ids)

def test_a_changed_figure_a_missing_table_and_a_new_column_are_reported(tmp_path):
    write(tmp_path / "a" / "figures" / "check.csv", [["scope_id", "value"], ["DY01", "652.06"]])
    write(tmp_path / "a" / "figures" / "flow.csv", [["code", "mu"], ["0101", "1.5"]])
    write(tmp_path / "b" / "figures" / "check.csv", [["scope_id", "value"], ["DY01", "652.07"]])
    problems, _, _ = figures.compare_folders(tmp_path / "a" / "figures", tmp_path / "b" / "figures")
    assert problems == ["check.csv row 1 value: '652.06' ≠ '652.07'", "flow.csv: missing"]
    write(tmp_path / "b" / "figures" / "flow.csv", [["code", "mu", "extra"], ["0101", "1.5", ""]])
    problems, _, _ = figures.compare_folders(tmp_path / "a" / "figures", tmp_path / "b" / "figures")
    assert any(p.startswith("flow.csv: columns differ") for p in problems)
