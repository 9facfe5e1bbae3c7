"""The 单元方案 package: its Word, PDF and Excel files hold the engine's figures; every chapter,
sheet and map is there; names cannot escape the output folder; writes are atomic."""

import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from qgis.core import QgsProject, QgsVectorLayer

import processing
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.ingest.validate import ROLES
from land_consolidation.core.products.check import run_check
from land_consolidation.qgis_bridge.layer_io import read_layer
from land_consolidation.report.package import package_folder_name, safe_name
from land_consolidation.report.unit_report import CHAPTERS, MAP_TITLES

LAYERS = {"UNITS": ("units", "DY"), "LANDUSE": ("landuse", "DLTB"), "PROJECTS": ("projects", "XM"),
          "PBF": ("pbf", "YJJBNTTB"), "PBF_PLAN": ("pbf_plan", "YJJBNTTB_GH"), "ECO_REDLINE": ("eco", "STBHHX"),
          "UDB": ("udb", "CZKFBJ"), "TOWNSHIPS": ("townships", "XZQ")}


def _layers(sample_gpkg):
    layers = {}
    for parameter, (_role, table) in LAYERS.items():
        layer = QgsVectorLayer(f"{sample_gpkg}|layername={table}", table, "ogr")
        QgsProject.instance().addMapLayer(layer, False)  # owned by the project (see pytest-qgis)
        layers[parameter] = layer
    return layers


@pytest.fixture(scope="module")
def exported(sample_gpkg, qgis_processing, tmp_path_factory):
    from fixtures.plugin_session import session_provider

    session_provider()
    folder = tmp_path_factory.mktemp("export")
    layers = _layers(sample_gpkg)
    parameters = {name: layer.id() for name, layer in layers.items()}
    parameters.update({"UNIT_IDS": "DY02", "ORGANISATION": "测试设计院", "OUTPUT_FOLDER": str(folder)})
    result = processing.run("landconsolidation:exportunitscheme", parameters)
    engine = run_check(SchemeLayers(**{role: read_layer(layers[p], table, ROLES[role].fields + (
        ("DYBH",) if role == "units" else ())) for p, (role, table) in LAYERS.items()}))
    return Path(result["PACKAGES"]), engine, folder


def test_package_has_every_part(exported):
    package, _engine, folder = exported
    assert package.parent == folder and package.name == "DY02_丈亭杨塘农田集中连片整治单元_单元方案"
    for name in ("单元方案.docx", "单元方案.pdf", "附表.xlsx", "数据.gpkg", "子项目坐标.txt", "manifest.json"):
        assert (package / name).is_file() and (package / name).stat().st_size > 0, name
    for title in MAP_TITLES:
        assert (package / "附图" / f"{title}.png").stat().st_size > 50_000, title
        assert (package / "附图" / f"{title}.pdf").stat().st_size > 10_000, title
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no temporary folders left"


def test_docx_chapters_and_figures_equal_the_engine(exported):
    package, engine, _folder = exported
    document = Document(str(package / "单元方案.docx"))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    chapters = [h for h in headings if h.replace("　", "") != "目录"]  # the contents' own heading, where it is one
    assert chapters == [f"{'一二三四五六七八九十'[k]}、{title}" for k, title in enumerate(CHAPTERS)]
    text = "\n".join(p.text for p in document.paragraphs)
    row = engine.indicators.per_unit.loc["DY02"]
    before, after = row["farmland_before_m2"] / (10000 / 15), row["farmland_after_m2"] / (10000 / 15)
    assert f"整治后耕地 {after:,.2f} 亩" in text
    assert f"为原有耕地的 {(after - before) / before * 100:,.2f}%" in text
    assert f"调出 {row['pbf_out_m2'] / (10000 / 15):,.2f} 亩" in text
    assert len(document.inline_shapes) == len(MAP_TITLES)  # the five maps are in the text
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert any(c.startswith("表 1 土地利用结构调整表") for c in captions)
    assert any(c.startswith("图 3 整治规划图") for c in captions)
    assert 'TOC \\o' in document.element.xml  # a table of contents field


def test_xlsx_sheets_numbers_and_formulas(exported):
    package, engine, _folder = exported
    book = load_workbook(package / "附表.xlsx")
    captions = [p.text for p in Document(str(package / "单元方案.docx")).paragraphs
                if p.style.name == "Caption" and p.text.startswith("表")]
    assert len(captions) >= 8  # structure, indicators, potential, projects, flows, ledger, investment, by year
    assert book.sheetnames == [re.sub(r"^表 \d+ ", "", c) for c in captions]  # every table of the text, in order
    sheet = book["土地利用结构调整表"]
    assert sheet.freeze_panes == "A3"
    headers = [c.value for c in sheet[2]]
    assert "整治前面积（亩）" in headers and "整治后面积（亩）" in headers
    rows = {(r[0], r[1]): r for r in sheet.iter_rows(min_row=3, values_only=True)}
    row = engine.indicators.per_unit.loc["DY02"]
    farmland = rows[("一级类", "01")]
    assert farmland[3] == pytest.approx(row["farmland_before_m2"] / (10000 / 15), abs=1e-9)
    assert farmland[5] == pytest.approx(row["farmland_after_m2"] / (10000 / 15), abs=1e-9)
    total = [r for r in sheet.iter_rows(min_row=3) if r[0].value == "合计"][0]
    assert str(total[3].value).startswith("=SUMIF(") and total[3].number_format == "#,##0.00"
    projects = book["子项目清单"]
    last = [r for r in projects.iter_rows(min_row=3) if r[0].value == "合计"][0]
    investment = [c.value for c in projects[2]].index("投资（万元）")
    assert str(last[investment].value).startswith("=SUM(")  # investment total is a live formula
    indicators = book["指标核算表"]
    verdicts = {(r[0], r[1]): r[5] for r in indicators.iter_rows(min_row=3, values_only=True)}
    for finding in engine.findings:
        if finding.scope == "unit" and finding.scope_id == "DY02":
            assert verdicts[(finding.title, f"单元 {finding.scope_id}")] in ("符合", "不符合", "不适用")
    # values and thresholds are numbers Excel can sum and sort, shown at their rule's decimals
    decimals = {f.title: engine.ruleset.rule(f.rule_id).decimals for f in engine.findings}
    cells = [r for r in indicators.iter_rows(min_row=3) if r[0].value in decimals and r[2].value is not None]
    assert cells and all(isinstance(r[2].value, (int, float)) for r in cells)  # Excel keeps 0.0 as 0
    assert all(r[2].number_format.endswith("." + "0" * decimals[r[0].value]) for r in cells)


def test_pdf_text_is_chinese_and_holds_the_figures(exported, artifacts_dir):
    package, engine, _folder = exported
    pdf = package / "单元方案.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    text = unicodedata.normalize("NFKC", text)  # Qt may write 方 as the Kangxi radical ⽅
    for title in CHAPTERS:
        assert title in text.replace(" ", ""), title
    row = engine.indicators.per_unit.loc["DY02"]
    assert f"{row['farmland_after_m2'] / (10000 / 15):,.2f}" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts  # Chinese glyphs come from an embedded CJK font, not tofu
    pages = artifacts_dir / "export_pages"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(pages / "单元方案")], check=True)
    assert len(list(pages.glob("*.png"))) >= 5


def test_manifest_lists_every_file_with_its_hash(exported):
    package, engine, _folder = exported
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    import hashlib

    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    for path in package.rglob("*"):
        if path.is_file() and path.name != "manifest.json":
            assert listed[path.relative_to(package).as_posix()] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["ruleset"]["sha256"] == engine.ruleset.sha256
    assert manifest["inputs"]["LANDUSE"]["features"] > 1000


def test_txt_and_data_package(exported):
    package, engine, _folder = exported
    text = (package / "子项目坐标.txt").read_bytes().decode("gb18030")
    projects = engine.indicators.project_areas
    assert text.count(",@") == int((projects["unit_id"] == "DY02").sum())
    # The sample's survey is in EPSG:4549 (zone 40, eastings without the zone number): the file keeps both.
    assert "带号=40" in text
    points = [line.split(",") for line in text.splitlines() if line.startswith("J")]
    assert points and all(600_000 < float(east) < 700_000 for *_, east in points)
    data = QgsVectorLayer(f"{package / '数据.gpkg'}|layername=GHDL", "g", "ogr")
    assert data.isValid() and data.featureCount() > 100
    assert data.styleManager() is not None and data.renderer().type() == "categorizedSymbol"


def test_names_cannot_leave_the_output_folder():
    assert safe_name("../../甲 村/单元") == "甲 村_单元"
    assert safe_name("a\\b:c*?") == "a_b_c"
    assert safe_name("..") == "未命名" and safe_name("CON") == "_CON"
    assert "/" not in package_folder_name("DY01", "../../甲 村/单元")
    assert package_folder_name("DY01", "../../甲 村/单元") == "DY01_甲 村_单元_单元方案"


def test_hostile_unit_name_and_atomic_replacement(plugin_provider, tmp_path):
    """A unit named ../../甲 村/单元 is written inside the folder; a second export replaces the first whole."""
    from fixtures import grid
    from fixtures.qgis_layers import scheme_parameters

    scheme = grid.scheme([grid.project("DY02-01", "垦造耕地", "0101", grid.C(4, 2))],
                         [grid.C(*k) for k in grid.PBF_CELLS])
    scheme.units = grid.layer("DY", grid.UNITS, [{"DYBH": "DY01", "DYMC": "../../甲 村/单元"},
                                                 {"DYBH": "DY02", "DYMC": "乙"}])
    parameters = scheme_parameters(scheme)
    parameters.update({"UNIT_IDS": "DY01", "OUTPUT_FOLDER": str(tmp_path / "out")})
    first = Path(processing.run("landconsolidation:exportunitscheme", dict(parameters))["PACKAGES"])
    assert first.parent == tmp_path / "out" and first.name == "DY01_甲 村_单元_单元方案"
    assert not (tmp_path / "甲 村").exists() and not (tmp_path.parent / "甲 村").exists()
    marker = first / "planner-notes.txt"  # something only the old package has
    marker.write_text("old", encoding="utf-8")
    facts = json.loads((first / "manifest.json").read_text(encoding="utf-8"))["facts"]
    tables = [list(sheet.values) for sheet in load_workbook(first / "附表.xlsx")]
    second = Path(processing.run("landconsolidation:exportunitscheme", dict(parameters))["PACKAGES"])
    assert second == first and not marker.exists() and (second / "单元方案.docx").exists()
    # Same inputs, same tables and figures.
    assert json.loads((second / "manifest.json").read_text(encoding="utf-8"))["facts"] == facts
    assert [list(sheet.values) for sheet in load_workbook(second / "附表.xlsx")] == tables
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [first.name]
    # An output "folder" that is a file is refused with a message, before any work, and left alone.
    from qgis.core import QgsProcessingException

    blocker = tmp_path / "成果.txt"
    blocker.write_text("规划师的文件", encoding="utf-8")
    with pytest.raises(QgsProcessingException, match="已作为文件存在"):
        processing.run("landconsolidation:exportunitscheme", {**parameters, "OUTPUT_FOLDER": str(blocker)})
    assert blocker.read_text(encoding="utf-8") == "规划师的文件"


def test_export_reports_the_analysis_and_stops_there_on_cancel(plugin_provider, tmp_path):
    from qgis.core import QgsProcessingFeedback

    from fixtures import grid
    from fixtures.qgis_layers import scheme_parameters

    class CancelEarly(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.seen = []
            self.progressChanged.connect(self._record)

        def _record(self, value):
            self.seen.append(value)
            if value >= 3:
                self.cancel()

    scheme = grid.scheme([grid.project("DY02-01", "垦造耕地", "0101", grid.C(4, 2))],
                         [grid.C(*k) for k in grid.PBF_CELLS])
    parameters = dict(scheme_parameters(scheme), OUTPUT_FOLDER=str(tmp_path / "out"))
    feedback = CancelEarly()
    try:
        processing.run("landconsolidation:exportunitscheme", parameters, feedback=feedback)
    except Exception:  # noqa: BLE001 - Processing may report the cancellation as an error
        pass
    assert any(0 < value < 10 for value in feedback.seen)  # the analysis shows progress
    assert max(feedback.seen) < 10  # and nothing was exported after the cancel
    assert not any((tmp_path / "out").glob("*_单元方案"))
