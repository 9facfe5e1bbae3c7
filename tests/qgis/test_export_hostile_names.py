"""Issue 13: whatever the units are called, ``exportunitscheme`` writes every package, each under a name
of at most 255 UTF-8 bytes that every file system takes, and units whose names are the same once made
safe get folders of their own, the same at every export."""

import json
import os
from pathlib import Path
from unittest import mock

import pytest

import processing

SUFFIX = "_单元方案"
LONG = "丈亭杨塘农田集中连片整治" * 25  # 300 Chinese characters: 900 bytes
UNITS = [  # (DYBH, DYMC, the package folder)
    ("DY01", LONG, None),
    ("DY02", "CON", "DY02_CON_单元方案"),
    ("DY03", "a/b", "DY03_a_b_单元方案"),
    ("DY04", "a:b", "DY04_a_b_单元方案"),
    ("DY05", "x:y*?", "DY05_x_y_单元方案"),
    ("DY06", "  trailing.  ", "DY06_  trailing_单元方案"),
    ("DY07", "..", "DY07_单元方案"),
    ("DY08", "第一行\n第二行😀", "DY08_第一行_第二行😀_单元方案"),
    ("DY/09", "同名", "DY_09_同名_单元方案"),  # the same folder name once made safe: in unit-id order,
    ("DY:09", "同名", "DY_09_同名_2_单元方案"),  # the second gets _2
]


@pytest.fixture(scope="module", autouse=True)
def maps_at_low_resolution():
    """Names are tested here, not maps: 40 dpi instead of 300 (a map 0.1 s, not 0.6 s; nine units)."""
    from land_consolidation.report import maps

    with mock.patch.object(maps, "DPI", 40):
        yield


def _scheme():
    from fixtures import grid

    scheme = grid.scheme([grid.project("DY02-01", "垦造耕地", "0101", grid.C(4, 2))],
                         [grid.C(*k) for k in grid.PBF_CELLS])
    cells = [grid.R(col, row, col + 1, row + 2) for col in range(5) for row in (0, 2)]
    scheme.units = grid.layer("DY", cells, [{"DYBH": uid, "DYMC": name} for uid, name, _ in UNITS])
    return scheme


@pytest.fixture(scope="module")
def exported(qgis_processing, tmp_path_factory):
    from fixtures.plugin_session import session_provider
    from fixtures.qgis_layers import scheme_parameters

    session_provider()
    out = tmp_path_factory.mktemp("hostile") / "成果"
    parameters = dict(scheme_parameters(_scheme()), OUTPUT_FOLDER=str(out))
    # Every unit but the long-named one, which has a test of its own below.
    wanted = ",".join(uid for uid, _, _ in UNITS[1:])
    result = processing.run("landconsolidation:exportunitscheme", {**parameters, "UNIT_IDS": wanted})
    packages = [Path(p) for p in result["PACKAGES"].split(";")]
    listed = sorted(p.name for p in out.iterdir())
    alone = processing.run("landconsolidation:exportunitscheme", {**parameters, "UNIT_IDS": "DY:09"})
    return packages, out, listed, Path(alone["PACKAGES"])


def _assert_names_fit(out):
    for root, folders, files in os.walk(out):
        for name in folders + files:
            assert len(name.encode("utf-8")) <= 255, (root, name)


def test_a_unit_named_with_300_chinese_characters_is_exported(qgis_processing, tmp_path):
    """The long name crashed the export with OSError: File name too long."""
    from fixtures.plugin_session import session_provider
    from fixtures.qgis_layers import scheme_parameters

    session_provider()
    out = tmp_path / "成果"
    parameters = dict(scheme_parameters(_scheme()), OUTPUT_FOLDER=str(out), UNIT_IDS="DY01")
    package = Path(processing.run("landconsolidation:exportunitscheme", parameters)["PACKAGES"])
    assert package.parent == out and [p.name for p in out.iterdir()] == [package.name]  # no temporary left
    assert package.name.startswith("DY01_丈亭杨塘") and package.name.endswith(SUFFIX)
    assert 240 < len(package.name.encode("utf-8")) <= 255  # cut as late as it can be, with a hash
    _assert_names_fit(out)
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["unit"] == {"id": "DY01", "name": LONG}  # the name itself is kept whole
    assert (package / "单元方案.docx").is_file() and (package / "单元方案.pdf").is_file()


def test_every_unit_is_exported_under_a_name_of_at_most_255_bytes(exported):
    packages, out, listed, _ = exported
    assert len(packages) == len(UNITS) - 1 and all(p.parent == out for p in packages)
    assert listed == sorted(p.name for p in packages)  # no temporary folder left
    _assert_names_fit(out)
    for package in packages:
        assert (package / "单元方案.docx").is_file() and (package / "manifest.json").is_file()


def test_hostile_names_become_safe_distinct_folders(exported):
    packages, _, _, _ = exported
    assert [p.name for p in packages] == [folder for _, _, folder in UNITS[1:]]
    assert len({p.name.casefold() for p in packages}) == len(packages)
    names = {json.loads((p / "manifest.json").read_text(encoding="utf-8"))["unit"]["id"]: p.name for p in packages}
    assert names["DY/09"] != names["DY:09"]


def test_a_unit_keeps_its_folder_when_exported_alone(exported):
    packages, out, listed, alone = exported
    assert alone == packages[-1] == out / "DY_09_同名_2_单元方案"  # not DY_09_同名_单元方案, DY/09's folder
    assert sorted(p.name for p in out.iterdir()) == listed


def test_a_name_with_an_expression_marker_is_printed_as_written_on_the_maps(qgis_processing):
    """Layout labels evaluate [% … %]: a unit named so must print its name, not the expression's value."""
    from qgis.core import QgsLayoutItemLabel, QgsPrintLayout, QgsProject

    from land_consolidation.report.maps import literal

    layout = QgsPrintLayout(QgsProject.instance())
    label = QgsLayoutItemLabel(layout)
    label.setText("单元[% 1+41 %]")
    assert label.currentText() == "单元42"  # what a label does with the raw name
    label.setText(literal("单元[% 1+41 %]"))
    assert "42" not in label.currentText() and label.currentText().replace("\u200b", "") == "单元[% 1+41 %]"
