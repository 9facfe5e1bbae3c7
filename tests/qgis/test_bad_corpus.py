"""Real-world data never breaks it (issue 13): every case of the corpus ``tests/data/bad`` (built by
``tools/make_bad_corpus.py``, listed in its ``cases.yaml``) through four paths.

- ``checkunits``: ``landconsolidation:checkunits`` in-process (``processing.run``), outputs to files;
- ``landusestructure``: ``landconsolidation:landusestructure`` (UNITS, LANDUSE, PROJECTS only);
- ``panel``: the panel's engine, as ``ui/live_controller.py`` drives it: the baseline layers read with
  ``read_layer``, the plan layers through the controller's own snapshot reader, ``LiveScheme.open`` then
  ``update`` with every layer changed;
- ``export``: ``landconsolidation:exportunitscheme``. It has no parameter to switch off its slow parts
  (maps, Word, PDF: 9 s a unit), so it exports one unit per case (the first), every unit only where the
  case is about unit names (``export_all_units``: ``hostile_names``), with the maps at 40 dpi instead of
  300 (``report.maps.DPI`` patched: 3–4 s a unit). It runs on every error case (refused before any
  package) and on the figures cases where the package depends on more than the analysis: clean,
  gbk_shp_ldid and gbk_shp_nocodepage (names from a GBK .dbf), multipart_units and invalid_bowtie (units
  of several parts), several_crs (the package is written in the units' CRS, EPSG:4490) and hostile_names
  (every unit); not on ``NOT_EXPORTED`` (including the pending cases, once the lead flips them).

A ``figures`` case must give the yaml's figures (worked out by the script, not by the plugin) and show each
warning fragment (in the algorithm's feedback, or the live result's warnings); an ``error`` case must be
refused with a message holding each fragment, no traceback text, and nothing left where outputs were to go.
No path may change an input file (hashed before and after). Each test copies its case into ``tmp_path``.
``pending`` cases are the lead's (skipped); ``known_fault`` ones fail today (xfail, strict).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsProject, QgsVectorLayer

import processing
from fixtures.paths import ROOT
from fixtures.qgis_layers import read_rows

CORPUS = ROOT / "tests" / "data" / "bad"
SCRIPT = ROOT / "tools" / "make_bad_corpus.py"
SPEC = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
CASES = SPEC["cases"]
# LC_BAD_CORPUS_PENDING=1 runs the pending cases too (to see where the lead's work stands).
RUN_PENDING = os.environ.get("LC_BAD_CORPUS_PENDING") == "1"
PATHS = ("checkunits", "landusestructure", "panel", "export")
PARAMETER = {"DLTB": "LANDUSE", "DY": "UNITS", "XM": "PROJECTS", "YJJBNTTB": "PBF"}
ROLE = {"DLTB": "landuse", "DY": "units", "XM": "projects", "YJJBNTTB": "pbf"}
STRUCTURE_LAYERS = ("DLTB", "DY", "XM")  # the parameters landusestructure takes
MU = 10000.0 / 15.0
TOLERANCE_MU = 0.01
EXPORT_DPI = 40  # the maps at 40 dpi, not 300: a map takes 0.1 s instead of 0.6 s
TRACEBACK_MARKS = ("Traceback", 'File "')


# Figures cases the export does not run (3–4 s a unit; the file must stay within 90 s): the package is made
# from the run_check result that checkunits is checked on, and from the unit names and the units' CRS; these
# cases differ from `clean` only in what the reader or the analysis makes of them (attribute faults; formats
# and geometry kinds the reader turns into the same polygons; field names and 用地用海 codes it maps), all
# checked on the other three paths.
NOT_EXPORTED = frozenset({"parcel_twice", "tbdlmj_mismatch", "kcxs_percent_unused", "unknown_class_code",
                          "code_leading_zero_dropped", "gbk_shp_cpg", "filegdb", "curved", "zm",
                          "null_empty_geometries", "renamed_fields", "chinese_field_names", "ydyh_2023",
                          "ydyh_2020_trial"})


class Recorder(QgsProcessingFeedback):
    """Everything an algorithm tells the planner."""

    def __init__(self):
        super().__init__()
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.infos: list[str] = []

    def pushWarning(self, text):  # noqa: N802 - Qt's name
        self.warnings.append(text)
        super().pushWarning(text)

    def reportError(self, text, fatalError=False):  # noqa: N802, N803 - Qt's names
        self.errors.append(text)
        super().reportError(text, fatalError)

    def pushInfo(self, text):  # noqa: N802
        self.infos.append(text)
        super().pushInfo(text)

    def outcome(self, **kwargs) -> Outcome:
        return Outcome(warnings=self.warnings + self.errors, log=self.warnings + self.errors + self.infos, **kwargs)


def _params():
    out = []
    for name, case in CASES.items():
        for path in PATHS:
            if path == "export" and name in NOT_EXPORTED:
                continue
            marks = []
            if case.get("pending") and not RUN_PENDING:
                marks.append(pytest.mark.skip(reason="pending: lead implements"))
            elif case.get("skip"):
                marks.append(pytest.mark.skip(reason=case["skip"]))
            fault = (case.get("known_fault") or {})
            reason = fault.get(path) or fault.get("all")
            if reason:
                marks.append(pytest.mark.xfail(reason=f"known fault: {reason}", strict=True))
            out.append(pytest.param(name, path, id=f"{name}-{path}", marks=marks))
    return out


def _hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def fresh(plugin_provider):
    yield
    QgsProject.instance().removeAllMapLayers()


def _sources(case: dict, where: Path) -> dict:
    """Layer name (DLTB …) → source text in the copy."""
    return {name: str(where / source) for name, source in case["layers"].items()}


# ---------------------------------------------------------------------------------------------- the paths
class Outcome:
    def __init__(self, figures=None, names=None, warnings=(), error=None, outputs=(), folder=None, packages=(),
                 listed=None, log=None):
        self.figures = figures or {}
        self.names = names or {}
        self.warnings = list(warnings)  # warnings and errors shown
        self.log = list(log if log is not None else warnings)  # everything shown (pushInfo too)
        self.error = error
        self.outputs = list(outputs)  # files the path was to write
        self.folder = folder  # the folder the path was to write into
        self.packages = list(packages)  # the package folders found in ``folder``
        self.listed = listed  # the export's PACKAGES output


def _parameters(sources: dict, names=None) -> dict:
    wanted = names or tuple(PARAMETER)
    parameters = {PARAMETER[name]: source for name, source in sources.items() if name in wanted}
    parameters["UNIT_ID_FIELD"] = "DYBH"
    return parameters


def _run_algorithm(algorithm: str, parameters: dict) -> tuple[dict | None, Recorder, str | None]:
    feedback = Recorder()
    try:
        return processing.run(algorithm, parameters, feedback=feedback), feedback, None
    except QgsProcessingException as error:
        return None, feedback, str(error)


def run_checkunits(case: dict, sources: dict, out: Path) -> Outcome:
    """Per unit, from the rule farmland_net_gain's row: its value (the gain in %) and the figures and unit
    name its message prints (耕地现状 … 亩、规划 … 亩, to 0.01 亩); for the scheme, the net decrease of
    建设用地 (construction_land_not_increased)."""
    outputs = [out / "check.csv", out / "conflicts.gpkg"]
    result, feedback, error = _run_algorithm("landconsolidation:checkunits", dict(
        _parameters(sources), OUTPUT=str(outputs[0]), CONFLICTS=str(outputs[1])))
    figures, names = {}, {}
    if result is not None:
        for row in read_rows(result["OUTPUT"]):
            unit, message = row["scope_id"], row["message"]
            if row["rule_id"] == "farmland_net_gain" and row["scope"] == "unit":
                value = row["value"]
                got = {"gain_percent": float(value) if value not in (None, "") else None}
                found = re.search(r"耕地现状 ([\d.]+) 亩、规划 ([\d.]+) 亩", message)
                if found:
                    got.update(farmland_before_mu=float(found[1]), farmland_after_mu=float(found[2]))
                figures[unit] = got
                head = f"单元 {unit}（"
                if head in message and "）耕地" in message:
                    names[unit] = message[message.index(head) + len(head):message.rindex("）耕地")]
            elif row["rule_id"] == "construction_land_not_increased":
                figures["scheme"] = {"construction_decrease_mu": float(row["value"])}
    return feedback.outcome(figures=figures, names=names, error=error, outputs=outputs)


STRUCTURE_FIGURES = {  # (level, code or name) → the figure, before and after
    ("合计", "合计"): ("booked_mu", None),
    ("一级类", "01"): ("farmland_before_mu", "farmland_after_mu"),
    ("三大类", "建设用地"): ("construction_before_mu", "construction_after_mu"),
}


def run_landusestructure(case: dict, sources: dict, out: Path) -> Outcome:
    outputs = [out / "structure.gpkg"]
    result, feedback, error = _run_algorithm("landconsolidation:landusestructure", dict(
        _parameters(sources, STRUCTURE_LAYERS), OUTPUT=str(outputs[0])))
    figures: dict = {}
    if result is not None:
        for row in read_rows(result["OUTPUT"]):
            if row["scope"] != "unit":
                continue
            unit = figures.setdefault(row["scope_id"], {
                "farmland_before_mu": 0.0, "farmland_after_mu": 0.0,
                "construction_before_mu": 0.0, "construction_after_mu": 0.0})
            for (level, key), (before, after) in STRUCTURE_FIGURES.items():
                if row["level"] == level and key in (row["code"], row["name"]):
                    unit[before] = row["before_mu"]
                    if after:
                        unit[after] = row["after_mu"]
    return feedback.outcome(figures=figures, error=error, outputs=outputs)


def run_panel(case: dict, sources: dict, out: Path) -> Outcome:
    from land_consolidation.core.analysis.live import Changes, LiveScheme
    from land_consolidation.core.common.errors import LandConsolidationError
    from land_consolidation.core.ingest.layers import SchemeLayers
    from land_consolidation.core.ingest.validate import ROLES
    from land_consolidation.core.rules.ruleset import load_ruleset
    from land_consolidation.qgis_bridge.layer_io import read_layer
    from land_consolidation.ui.live_controller import BASELINE_ROLES, PLAN_ROLES, _Snapshot

    layers = {}
    for name, source in sources.items():
        layer = QgsVectorLayer(source, name, "ogr")
        assert layer.isValid(), source
        QgsProject.instance().addMapLayer(layer)
        layers[ROLE[name]] = layer
    try:  # as LiveController.configure and its job do
        baseline = SchemeLayers(**{role: read_layer(layers[role], layers[role].name(), ROLES[role].fields)
                                   for role in BASELINE_ROLES if role in layers})
        ruleset = load_ruleset()
        live = LiveScheme.open(baseline, ruleset)
        plan = {role: _Snapshot(layers[role], role, ("DYBH",) if role == "units" else ()).read(lambda: False)
                for role in PLAN_ROLES if role in layers}
        result = live.update(SchemeLayers(unit_id_field="DYBH", **plan), Changes.everything())
    except LandConsolidationError as error:
        return Outcome(error=str(error))
    per_unit = result.indicators.per_unit
    figures = {str(unit): {"area_mu": row["area_m2"] / MU, "farmland_before_mu": row["farmland_before_m2"] / MU,
                           "farmland_after_mu": row["farmland_after_m2"] / MU,
                           "construction_before_mu": row["construction_before_m2"] / MU,
                           "construction_after_mu": row["construction_after_m2"] / MU,
                           "pbf_before_mu": row["pbf_before_m2"] / MU}
               for unit, row in per_unit.iterrows()}
    names = {str(unit): str(row["name"] or "") for unit, row in per_unit.iterrows()}
    return Outcome(figures=figures, names=names, warnings=result.warnings)


def run_export(case: dict, sources: dict, out: Path) -> Outcome:
    folder = out / "成果"
    expect = case["expect"]
    units = "" if expect.get("export_all_units") else next(iter(expect.get("figures") or {"DY01": None}))
    from land_consolidation.report import maps

    with mock.patch.object(maps, "DPI", EXPORT_DPI):
        result, feedback, error = _run_algorithm("landconsolidation:exportunitscheme", dict(
            _parameters(sources), UNIT_IDS=units, OUTPUT_FOLDER=str(folder)))
    figures, names, packages, listed = {}, {}, [], None
    if result is not None:
        packages = sorted(p for p in folder.iterdir())  # not PACKAGES.split(";"): see test_export_packages_output
        listed = result["PACKAGES"]
        for package in packages:
            manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
            unit = manifest["unit"]["id"]
            figures[unit] = {k: manifest["facts"][k] for k in ("area_mu", "farmland_before_mu", "farmland_after_mu",
                                                                 "construction_before_mu", "construction_after_mu",
                                                                 "pbf_before_mu")}
            names[unit] = manifest["unit"]["name"]
    outcome = feedback.outcome(figures=figures, names=names, error=error, folder=folder, packages=packages,
                               listed=listed)
    EXPORTED[case["name"]] = outcome
    return outcome


EXPORTED: dict[str, Outcome] = {}  # case → its export's outcome (test_export_packages_output reuses it)


RUNNERS = {"checkunits": run_checkunits, "landusestructure": run_landusestructure, "panel": run_panel,
           "export": run_export}


# ---------------------------------------------------------------------------------------------- checks
PANEL_FIGURES = ("area_mu", "farmland_before_mu", "farmland_after_mu", "construction_before_mu",
                 "construction_after_mu", "pbf_before_mu")
FIGURES_OF_PATH = {"panel": PANEL_FIGURES, "export": PANEL_FIGURES,
                   "landusestructure": ("booked_mu", "farmland_before_mu", "farmland_after_mu",
                                        "construction_before_mu", "construction_after_mu"),
                   "checkunits": ("farmland_before_mu", "farmland_after_mu")}
PRINTED = 0.005  # checkunits prints its figures to 0.01 亩 (and %)


def _expected_figures(case: dict, path: str) -> dict:
    figures = case["expect"]["figures"]
    if path == "export" and not case["expect"].get("export_all_units"):
        first = next(iter(figures))
        return {first: figures[first]}
    return figures


def _within(tolerance: dict | None, expected: float) -> float:
    if tolerance and "relative" in tolerance:
        return max(abs(expected) * tolerance["relative"], 1e-6)
    return (tolerance or {}).get("mu", TOLERANCE_MU)


def _check_figures(case: dict, path: str, outcome: Outcome) -> None:
    expected = _expected_figures(case, path)
    tolerance = case["expect"].get("tolerance")
    slack = PRINTED if path == "checkunits" else 0.0
    assert sorted(u for u in outcome.figures if u != "scheme") == sorted(expected), "units"
    for unit, figures in expected.items():
        got = outcome.figures[unit]
        for key in FIGURES_OF_PATH[path]:
            value = figures[key]
            assert key in got, (unit, key, got)
            assert got[key] == pytest.approx(value, abs=_within(tolerance, value) + slack), (unit, key)
        if path == "checkunits":  # the rule's value: net new 耕地 as a % of the unit's 耕地
            before, after = figures["farmland_before_mu"], figures["farmland_after_mu"]
            if before < 0.005:
                assert got["gain_percent"] is None, (unit, got)  # not applicable without 耕地
                continue
            error = _within(tolerance, after) * 100 * (1 / before + after / before ** 2)
            assert got["gain_percent"] == pytest.approx((after - before) / before * 100, abs=PRINTED + error), unit
    if path == "checkunits":
        decrease = sum(f["construction_before_mu"] - f["construction_after_mu"] for f in expected.values())
        error = sum(_within(tolerance, f["construction_before_mu"]) for f in expected.values())
        assert outcome.figures["scheme"]["construction_decrease_mu"] == pytest.approx(decrease, abs=PRINTED + error)


def _check_warnings(case: dict, outcome: Outcome) -> None:
    expect = case["expect"]
    for fragment in expect.get("warnings", ()):
        assert any(fragment in w for w in outcome.log), (fragment, outcome.log)
    if expect.get("no_warnings"):
        assert outcome.warnings == []
    for text in outcome.log:
        assert not any(mark in text for mark in TRACEBACK_MARKS), text


def _check_names(case: dict, path: str, outcome: Outcome) -> None:
    names = case["expect"].get("names")
    if not names or path == "landusestructure":  # its table names no unit
        return
    assert outcome.names, "no unit names shown"
    for unit, name in outcome.names.items():
        assert name == names[unit], (unit, name)
    if path == "export":
        from land_consolidation.report.package import package_folder_names

        folders = [p.name for p in outcome.packages]
        assert all(p.parent == outcome.folder for p in outcome.packages)
        assert len({f.casefold() for f in folders}) == len(folders)
        for folder in folders:
            assert len(folder.encode("utf-8")) <= 255 and folder.endswith("_单元方案"), folder
        expected = package_folder_names({u: names[u] for u in names})
        assert folders == [expected[u] for u in outcome.names], folders


def _check_error(case: dict, outcome: Outcome, out: Path) -> None:
    fragments = case["expect"]["error"]
    assert outcome.error is not None, f"not refused (warnings: {outcome.warnings})"
    for fragment in fragments:
        assert fragment in outcome.error, (fragment, outcome.error)
    for text in [outcome.error, *outcome.log]:
        assert not any(mark in text for mark in TRACEBACK_MARKS), text
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert left == [], f"files left where the outputs were to go: {left}"


def _check_outputs(outcome: Outcome, out: Path) -> None:
    """Only what was asked for is left: no temporary file or folder beside the outputs."""
    wanted = {p.name for p in outcome.outputs} | {p.name for p in outcome.packages}
    if outcome.folder is not None:
        assert sorted(p.name for p in out.iterdir()) == [outcome.folder.name]
        assert sorted(p.name for p in outcome.folder.iterdir()) == sorted(wanted)
        return
    assert sorted(p.name for p in out.iterdir()) == sorted(wanted)


@pytest.mark.parametrize(("name", "path"), _params())
def test_case(fresh, tmp_path, name, path):
    case = dict(CASES[name], name=name)
    source = tmp_path / "in"
    shutil.copytree(CORPUS / name, source / name)
    before = _hashes(source)
    out = tmp_path / "out"
    out.mkdir()
    outcome = RUNNERS[path](case, _sources(case, source), out)
    QgsProject.instance().removeAllMapLayers()
    if "error" in case["expect"]:
        _check_error(case, outcome, out)
    else:
        assert outcome.error is None, outcome.error
        _check_outputs(outcome, out)
        _check_figures(case, path, outcome)
        _check_warnings(case, outcome)
        _check_names(case, path, outcome)
    assert _hashes(source) == before, "an input file changed"


def _fault_mark(case: str, key: str) -> list:
    reason = (CASES[case].get("known_fault") or {}).get(key)
    return [pytest.mark.xfail(reason=f"known fault: {reason}", strict=True)] if reason else []


@pytest.mark.parametrize("name", [pytest.param("hostile_names", marks=_fault_mark("hostile_names", "packages_output"))])
def test_export_packages_output_names_every_package(fresh, tmp_path, name):
    """PACKAGES, the export's output (the package folders joined by ";", for a model's next step), splits back
    into the folders it wrote, whatever the units are called (the case's export, reused when it ran)."""
    outcome = EXPORTED.get(name)
    if outcome is None:
        case = dict(CASES[name], name=name)
        shutil.copytree(CORPUS / name, tmp_path / "in" / name)
        (tmp_path / "out").mkdir()
        outcome = run_export(case, _sources(case, tmp_path / "in"), tmp_path / "out")
    assert outcome.error is None and outcome.packages
    assert sorted(outcome.listed.split(";")) == sorted(str(p) for p in outcome.packages)


# ---------------------------------------------------------------------------------------------- the corpus
def _python() -> str:
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def _crs(srs) -> str | None:
    """A layer's CRS as its EPSG code (the WKT text of one code changes between PROJ releases)."""
    if srs is None:
        return None
    srs = srs.Clone()
    srs.AutoIdentifyEPSG()
    return f"{srs.GetAuthorityName(None)}:{srs.GetAuthorityCode(None)}"


def _contents(folder: Path) -> dict:
    """What a dataset holds, read through OGR: layers, fields, features (attributes and ISO WKB), CRS; and the
    bytes of the shapefiles' other files (a .dbf's last-update date left out; a .prj compared as its CRS)."""
    from osgeo import gdal, ogr

    gdal.UseExceptions()
    out: dict = {}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.suffix in (".gpkg", ".gdb", ".shp"):
            dataset = ogr.Open(str(path))
            layers = {}
            for k in range(dataset.GetLayerCount()):
                layer = dataset.GetLayer(k)
                definition = layer.GetLayerDefn()
                fields = [(definition.GetFieldDefn(i).GetName(), definition.GetFieldDefn(i).GetTypeName())
                          for i in range(definition.GetFieldCount())]
                features = []
                for feature in layer:
                    geom = feature.GetGeometryRef()
                    features.append((feature.GetFID(), [feature.GetField(i) for i in range(len(fields))],
                                     bytes(geom.ExportToIsoWkb()) if geom is not None else None))
                layers[layer.GetName()] = {"type": layer.GetGeomType(), "fields": fields,
                                           "crs": _crs(layer.GetSpatialRef()), "features": features}
            out[relative] = layers
        elif path.suffix in (".dbf", ".cpg", ".shx"):
            data = path.read_bytes()
            out[relative] = data[:1] + data[4:] if path.suffix == ".dbf" else data
        elif path.suffix == ".prj":
            out[relative] = "prj"  # its CRS is the layer's, compared above
    return out


def _same(a, b, path="") -> None:
    """``a`` equals ``b``, numbers to 0.001 (the figures of PROJ releases may differ in the last digit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), path
        for key in a:
            _same(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{k}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-3), path
    else:
        assert a == b, path


def test_the_script_gives_the_committed_corpus(tmp_path):
    fresh_corpus = tmp_path / "bad"
    run = subprocess.run([_python(), str(SCRIPT), str(fresh_corpus)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    _same(yaml.safe_load((fresh_corpus / "cases.yaml").read_text(encoding="utf-8")), SPEC)
    committed = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    assert sorted(p.name for p in fresh_corpus.iterdir() if p.is_dir()) == committed
    assert committed == sorted(name for name, case in CASES.items() if case["layers"])
    for name in committed:
        assert _contents(fresh_corpus / name) == _contents(CORPUS / name), name


def test_the_corpus_is_small():
    size = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert size < 1_500_000, size
