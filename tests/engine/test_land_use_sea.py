"""用地用海 → 三调: every mapped class is a 三调 class, hand-checked examples per version, versions told
apart by the codes only one has, the same code read per version, dropped leading zeros restored, and
unmapped codes counted."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import yaml

from land_consolidation.core.common.errors import RulesetError
from land_consolidation.core.rules.land_use_sea import DEFAULT_LAND_USE_SEA_FILE, load_land_use_sea
from land_consolidation.core.rules.landclasses import AGRICULTURAL, CONSTRUCTION, load_land_classes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def table():
    return load_land_use_sea()


@pytest.fixture(scope="module")
def sandiao():
    return load_land_classes()


def test_every_mapped_code_is_a_sandiao_class(table, sandiao):
    assert table.versions == ("2023", "2020")
    assert table.default_version == "2023"
    for version in table.versions:
        mapped = {c.sandiao for c in table.classes[version].values()} - {None}
        assert mapped <= set(sandiao.names), (version, sorted(mapped - set(sandiao.names)))
        # 4-character 三调 classes, and 09 特殊用地, which 三调 does not subdivide
        assert all(len(code) == 4 or code == "09" for code in mapped), version


# (用地用海 code, its name, the 三调 code, that class's name in landclasses_sandiao.yaml)
EXAMPLES_2023 = [
    ("0101", "水田", "0101", "水田"),
    ("0103", "旱地", "0103", "旱地"),
    ("0201", "果园", "0201", "果园"),
    ("0205", "其他园地", "0204", "其他园地"),
    ("0301", "乔木林地", "0301", "乔木林地"),
    ("0303", "灌木林地", "0305", "灌木林地"),
    ("0402", "人工牧草地", "0403", "人工牧草地"),
    ("0504", "其他沼泽地", "1108", "沼泽地"),
    ("0507", "红树林地", "0303", "红树林地"),
    ("0601", "农村道路", "1006", "农村道路"),
    ("060101", "村道用地", "1006", "农村道路"),
    ("060102", "田间道", "1006", "农村道路"),
    ("0602", "设施农用地", "1202", "设施农用地"),
    ("060201", "种植设施建设用地", "1202", "设施农用地"),
    ("060203", "水产养殖设施建设用地", "1202", "设施农用地"),
    ("0701", "城镇住宅用地", "0701", "城镇住宅用地"),
    ("070102", "二类城镇住宅用地", "0701", "城镇住宅用地"),
    ("0703", "农村宅基地", "0702", "农村宅基地"),
    ("0801", "机关团体用地", "08H1", "机关团体新闻出版用地"),
    ("080403", "中小学用地", "08H2", "科教文卫用地"),
    ("090104", "旅馆用地", "05H1", "商业服务业设施用地"),
    ("1001", "工业用地", "0601", "工业用地"),
    ("1002", "采矿用地", "0602", "采矿用地"),
    ("1101", "物流仓储用地", "0508", "物流仓储用地"),
    ("1202", "公路用地", "1003", "公路用地"),
    ("1207", "城镇村道路用地", "1004", "城镇村道路用地"),
    ("1311", "水工设施用地", "1109", "水工建筑用地"),
    ("1312", "其他公用设施用地", "0809", "公用设施用地"),
    ("1403", "广场用地", "0810", "公园与绿地"),
    ("1503", "宗教用地", "09", "特殊用地"),
    ("1701", "河流水面", "1101", "河流水面"),
    ("1704", "坑塘水面", "1104", "坑塘水面"),
    ("1705", "沟渠", "1107", "沟渠"),
    ("2301", "空闲地", "1201", "空闲地"),
    ("2303", "田坎", "1203", "田坎"),
    ("2307", "裸岩石砾地", "1207", "裸岩石砾地"),
]
EXAMPLES_2020 = [
    ("0101", "水田", "0101", "水田"),
    ("0204", "其他园地", "0204", "其他园地"),
    ("060101", "村道用地", "1006", "农村道路"),
    ("060102", "村庄内部道路用地", "1004", "城镇村道路用地"),
    ("0602", "种植设施建设用地", "1202", "设施农用地"),
    ("0603", "畜禽养殖设施建设用地", "1202", "设施农用地"),
    ("0604", "水产养殖设施建设用地", "1202", "设施农用地"),
    ("0703", "农村宅基地", "0702", "农村宅基地"),
    ("090302", "康体用地", "05H1", "商业服务业设施用地"),
    ("1001", "工业用地", "0601", "工业用地"),
    ("1207", "城镇道路用地", "1004", "城镇村道路用地"),
    ("1311", "干渠", "1107", "沟渠"),
    ("1312", "水工设施用地", "1109", "水工建筑用地"),
    ("1313", "其他公用设施用地", "0809", "公用设施用地"),
    ("1701", "河流水面", "1101", "河流水面"),
    ("2302", "田坎", "1203", "田坎"),
    ("2303", "田间道", "1006", "农村道路"),
]
# Known classes with no single 三调 class.
UNMAPPED = {
    "2023": [("01", "耕地"), ("06", "农业设施建设用地"), ("0702", "城镇社区服务设施用地"), ("1208", "交通场站用地"),
             ("16", "留白用地"), ("1801", "渔业基础设施用海"), ("1804", "农林牧业用岛"), ("2302", "后备耕地"),
             ("24", "其他海域")],
    "2020": [("01", "耕地"), ("0601", "乡村道路用地"), ("16", "留白用地"), ("2202", "其他特殊用海")],
}


@pytest.mark.parametrize(("version", "code", "name", "expected", "expected_name"),
                         [("2023", *e) for e in EXAMPLES_2023] + [("2020", *e) for e in EXAMPLES_2020])
def test_hand_checked_examples(table, sandiao, version, code, name, expected, expected_name):
    assert table.name(code, version) == name
    assert table.to_sandiao(code, version) == expected
    assert sandiao.names[expected] == expected_name


@pytest.mark.parametrize(("version", "code", "name"), [(v, *e) for v, examples in UNMAPPED.items() for e in examples])
def test_classes_without_a_single_sandiao_class(table, version, code, name):
    assert table.is_known(code, version)
    assert table.name(code, version) == name
    assert table.to_sandiao(code, version) is None


def test_2020_rural_roads_split_between_farm_and_construction_land(table, sandiao):
    """Why 2020 0601 乡村道路用地 alone has no 三调 class: its two parts fall on either side of the split."""
    assert sandiao.three_way(table.to_sandiao("060101", "2020")) == AGRICULTURAL
    assert sandiao.three_way(table.to_sandiao("060102", "2020")) == CONSTRUCTION


def test_a_parent_maps_only_where_all_its_children_agree(table):
    for version in table.versions:
        classes = table.classes[version]
        for code, entry in classes.items():
            children = [c for c in classes if len(c) == len(code) + 2 and c.startswith(code)]
            if not children:
                continue
            targets = {classes[c].sandiao for c in children}
            agreed = targets.pop() if len(targets) == 1 else None
            assert entry.sandiao == agreed, (version, code, entry.sandiao, agreed)


def test_both_versions_have_every_first_level_class(table):
    first = {f"{n:02d}" for n in range(1, 25)}
    for version in table.versions:
        assert {c for c in table.classes[version] if len(c) == 2} == first, version
        assert all(entry.name for entry in table.classes[version].values())


def test_distinctive_codes_are_the_codes_only_that_version_has(table):
    new, old = (set(table.classes[v]) for v in ("2023", "2020"))
    assert table.distinctive_codes["2023"] == new - old
    assert table.distinctive_codes["2020"] == old - new
    assert {"0604", "1313"} <= table.distinctive_codes["2020"]
    assert {"060201", "0205"} <= table.distinctive_codes["2023"]


@pytest.mark.parametrize(("codes", "expected"), [
    (["0101", "060201", "1001"], "2023"),   # 060201 only in 2023
    (["0101", "0604", "1001"], "2020"),     # 0604 only in 2020
    (["090301"], "2020"),
    (["2206", "0101"], "2023"),
    (["0101", "2302", "2303"], "2023"),    # both fit (other meanings): the default
    ([], "2023"),
    (["", None, "0101"], "2023"),           # empty codes do not count
    (["060201", "0604"], None),             # one of each: neither fits
    (["0101", "9999"], None),
    ([101, 60201], "2023"),                 # leading zeros dropped by a numeric field
    ([604.0], "2020"),
])
def test_guess_version(table, codes, expected):
    assert table.guess_version(codes) == expected


@pytest.mark.parametrize(("code", "in_2023", "in_2020"), [
    ("2302", None, "1203"),       # 后备耕地 / 田坎
    ("2303", "1203", "1006"),     # 田坎 / 田间道
    ("060102", "1006", "1004"),   # 田间道 / 村庄内部道路用地
    ("0601", "1006", None),       # 农村道路 / 乡村道路用地
    ("1311", "1109", "1107"),     # 水工设施用地 / 干渠
    ("1312", "0809", "1109"),     # 其他公用设施用地 / 水工设施用地
])
def test_same_code_read_per_version(table, code, in_2023, in_2020):
    assert table.to_sandiao(code, "2023") == in_2023
    assert table.to_sandiao(code, "2020") == in_2020
    assert table.name(code, "2023") != table.name(code, "2020")


def test_dropped_leading_zero_restored_only_where_it_gives_a_code(table):
    assert table.canonical(101, "2023") == "0101"
    assert table.to_sandiao(101.0, "2020") == "0101"
    assert table.to_sandiao(" 0103 ", "2023") == "0103"
    assert table.canonical("1", "2023") == "01"
    assert table.to_sandiao(60201, "2023") == "1202"
    assert not table.is_known(60201, "2020")     # 060201 is not a 2020 code: left as it is
    assert table.canonical(60201, "2020") == "60201"
    assert table.canonical(999, "2023") == "999"
    assert table.canonical("1001", "2023") == "1001"  # even length: never padded
    assert table.name("9999", "2023") is None
    assert table.to_sandiao(None, "2023") is None


def test_map_codes_reports_unknown_and_unmapped_codes_with_counts(table):
    codes = pd.Series(["0101", "0604", "0604", "9999", "", None, "16", 101.0, float("nan"), "9999", "01"],
                      index=[f"f{i}" for i in range(11)])
    mapped, unmapped = table.map_codes(codes, "2020")
    assert list(mapped.index) == list(codes.index)
    assert list(mapped) == ["0101", "1202", "1202", "", "", "", "", "0101", "", "", ""]
    assert unmapped == {"": 3, "9999": 2, "16": 1, "01": 1}
    assert list(unmapped)[:2] == ["", "9999"]  # most frequent first


def test_map_codes_reads_the_version_it_is_given_or_guesses(table):
    codes = pd.Series(["2302", "2303", "0604"])
    mapped, unmapped = table.map_codes(codes, None)  # 0604: the 2020 trial
    assert list(mapped) == ["1203", "1006", "1202"] and unmapped == {}
    mapped, unmapped = table.map_codes(codes, "2023")
    assert list(mapped) == ["", "1203", ""]
    assert unmapped == {"2302": 1, "0604": 1}
    mapped, unmapped = table.map_codes(pd.Series(["060201", "0604"]), None)  # neither fits: the default
    assert list(mapped) == ["1202", ""] and unmapped == {"0604": 1}
    mapped, unmapped = table.map_codes(pd.Series([60201], index=[7]), None)  # zero restored, 2023 guessed
    assert mapped.loc[7] == "1202" and unmapped == {}
    mapped, unmapped = table.map_codes(pd.Series([], dtype=object), None)
    assert mapped.empty and unmapped == {}


def test_unknown_version_refused(table):
    with pytest.raises(ValueError, match="2021"):
        table.to_sandiao("0101", "2021")
    with pytest.raises(ValueError, match="2021"):
        table.map_codes(pd.Series([], dtype=object), "2021")


def _raw():
    return yaml.safe_load(DEFAULT_LAND_USE_SEA_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["versions"]["2023"]["classes"].pop("06"), "0601 没有上级类 06"),      # parent missing
    (lambda d: d["versions"]["2020"]["classes"]["0101"].pop("sandiao"), "0101"),      # mapping missing
    (lambda d: d["versions"]["2023"]["classes"].update({"123": {"name": "x"}}), "123"),  # not 2/4/6 digits
    (lambda d: d.update(default_version="2021"), "2021"),
])
def test_malformed_file_refused_naming_the_code(tmp_path, edit, message):
    data = _raw()
    edit(data)
    path = tmp_path / "table.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesetError, match=message):
        load_land_use_sea(path)


def test_third_level_code_inherits_unless_given(tmp_path):
    data = _raw()
    data["versions"]["2023"]["classes"]["080401"]["sandiao"] = "08H2A"
    path = tmp_path / "table.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    edited = load_land_use_sea(path)
    assert edited.to_sandiao("080401", "2023") == "08H2A"
    assert edited.to_sandiao("080402", "2023") == "08H2"


def test_table_ships_in_the_plugin_zip():
    spec = importlib.util.spec_from_file_location("package_tool", ROOT / "tools" / "package.py")
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    shipped = {relative.as_posix() for _, relative in package.plugin_files()}
    assert "rules/landuse_sea_to_sandiao.yaml" in shipped
    assert "core/rules/land_use_sea.py" in shipped
