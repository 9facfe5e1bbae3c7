"""The matrix's comparison of figures between QGIS lines finds a changed figure and forgives float noise."""

import csv
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("matrix_figures", Path(__file__).parent / "matrix" / "figures.py")
figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(figures)


def write(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_numbers_inside_text_compare_within_tolerance_and_ids_stay_text():
    assert figures.same_cell("最大 3.25 亩，占 2.64%", "最大 3.2500000001 亩，占 2.64%")
    assert not figures.same_cell("最大 3.25 亩", "最大 3.26 亩")
    assert not figures.same_cell("符合", "不符合")
    assert figures.tokens("DY01-02") == ["DY", 1.0, "-", 2.0, ""]  # a hyphen in an id is not a minus sign
    assert figures.tokens("-0.5 亩") == ["", -0.5, " 亩"]


def test_folders_with_the_same_figures_agree(tmp_path):
    table = [["scope_id", "value", "message"], ["DY01", "652.0600000", "合计 7.25 亩"], ["DY02", "0.0", ""]]
    write(tmp_path / "a" / "figures" / "check.csv", table)
    noisy = [table[0], ["DY01", "652.0600000001", "合计 7.25 亩"], table[2]]
    write(tmp_path / "b" / "figures" / "check.csv", noisy)
    problems, tables, numbers = figures.compare_folders(tmp_path / "a" / "figures", tmp_path / "b" / "figures")
    assert problems == [] and tables == 1
    assert numbers == 5  # row 1: the 01 of DY01, 652.06, 7.25; row 2: the 02 of DY02, 0.0

def test_a_changed_figure_a_missing_table_and_a_new_column_are_reported(tmp_path):
    write(tmp_path / "a" / "figures" / "check.csv", [["scope_id", "value"], ["DY01", "652.06"]])
    write(tmp_path / "a" / "figures" / "flow.csv", [["code", "mu"], ["0101", "1.5"]])
    write(tmp_path / "b" / "figures" / "check.csv", [["scope_id", "value"], ["DY01", "652.07"]])
    problems, _, _ = figures.compare_folders(tmp_path / "a" / "figures", tmp_path / "b" / "figures")
    assert problems == ["check.csv row 1 value: '652.06' ≠ '652.07'", "flow.csv: missing"]
    write(tmp_path / "b" / "figures" / "flow.csv", [["code", "mu", "extra"], ["0101", "1.5", ""]])
    problems, _, _ = figures.compare_folders(tmp_path / "a" / "figures", tmp_path / "b" / "figures")
    assert any(p.startswith("flow.csv: columns differ") for p in problems)
