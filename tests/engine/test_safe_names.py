"""File and folder names made from planners' text fit every file system (issue 13): at most 255 UTF-8
bytes a name, suffix included, cut between characters with a hash when cut; no Windows device names,
characters Windows refuses, control characters, trailing dots or spaces, ``..``; colliding names told apart."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from land_consolidation.core.common.files import (
    NAME_MAX_BYTES,
    distinct_file_names,
    fit_bytes,
    hidden_sibling_name,
    is_windows_reserved,
    safe_file_name,
    write_atomically,
)

SUFFIX = "_单元方案"
WINDOWS_INVALID = set('<>:"/\\|?*')


def nbytes(text):
    return len(text.encode("utf-8"))


def assert_safe(name, max_bytes=NAME_MAX_BYTES):
    assert name and nbytes(name) <= max_bytes, name
    assert not WINDOWS_INVALID & set(name), name
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in name), name
    assert ".." not in name and not name.startswith(".") and not name.endswith((".", " ")), name
    assert not is_windows_reserved(name), name


def test_three_hundred_chinese_characters_fit_in_255_bytes_with_the_suffix():
    name = safe_file_name("DY01_" + "丈" * 300, suffix=SUFFIX)
    assert_safe(name)
    assert name.endswith(SUFFIX) and name.startswith("DY01_丈丈丈")
    assert nbytes(name) > NAME_MAX_BYTES - 3  # as long as it can be, to the last whole character
    name.encode("utf-8").decode("utf-8")  # no character was cut in half


def test_long_names_with_the_same_start_stay_apart_and_stable():
    first = safe_file_name("村" * 300 + "甲", suffix=SUFFIX)
    second = safe_file_name("村" * 300 + "乙", suffix=SUFFIX)
    assert first != second and first[:60] == second[:60]
    assert safe_file_name("村" * 300 + "甲", suffix=SUFFIX) == first  # the same name at every export
    assert safe_file_name("村" * 10, suffix=SUFFIX) == "村" * 10 + SUFFIX  # short names are not tagged


@pytest.mark.parametrize("text, expected", [
    ("CON", "_CON"), ("con", "_con"), ("Nul", "_Nul"), ("COM1", "_COM1"), ("lpt9", "_lpt9"),
    ("con.txt", "_con.txt"), ("PRN.tar.gz", "_PRN.tar.gz"), ("aux .log", "_aux .log"),
    ("CONSOLE", "CONSOLE"), ("COM10", "COM10"), ("a/b", "a_b"), ("x:y*?", "x_y"), ("  trailing.  ", "trailing"),
    ("..", "未命名"), ("../../甲 村/单元", "甲 村_单元"), ("a\\b:c*?", "a_b_c"), ('<"|>', "未命名"),
    ("第一\n第二\t第三\x00", "第一_第二_第三"), ("村😀\r\n", "村😀"), ("", "未命名"), ("   ", "未命名"),
    (".hidden", "hidden"), ("a..b", "a_b"), ("v1.2", "v1.2"),
])
def test_hostile_names(text, expected):
    assert safe_file_name(text) == expected
    assert_safe(safe_file_name(text))


def test_a_suffix_can_make_a_device_name_and_is_counted():
    assert safe_file_name("CON", suffix=".txt") == "_CON.txt"
    assert safe_file_name("CON", suffix=SUFFIX) == "CON" + SUFFIX  # CON_单元方案 names no device
    assert nbytes(safe_file_name("a" * 400, suffix=".docx")) == NAME_MAX_BYTES
    with pytest.raises(ValueError, match="leaves no room"):
        safe_file_name("a", suffix="x" * 250)


def test_fallback_and_character_limit():
    assert safe_file_name("..", fallback="DY01", suffix=SUFFIX) == "DY01" + SUFFIX
    assert safe_file_name("/\\", fallback="..") == "_"
    name = safe_file_name("a" * 200, max_chars=80)
    assert len(name) == 80 and name.startswith("a" * 70)


def test_cut_between_characters_not_inside_one():
    assert fit_bytes("甲乙丙", 7) == "甲乙"
    assert fit_bytes("ab", 10) == "ab" and fit_bytes("abc", 10, max_chars=2) == "ab"
    assert fit_bytes("a👍🏽b", 5) == "a"  # an emoji keeps its skin tone
    assert fit_bytes("ae\u0301x", 3) == "a"  # e and its accent stay together (the name is NFC, but text may not be)
    assert fit_bytes("a👨\u200d👩", 9) == "a"  # a family emoji is not cut at its joiner
    assert fit_bytes("🇨🇳🇯🇵", 12) == "🇨🇳"  # flags are pairs


def test_control_bidi_and_lone_surrogates_are_replaced():
    assert safe_file_name("a\u202eexe.txt") == "a_exe.txt"
    assert safe_file_name("a\u2028b") == "a_b"
    assert safe_file_name("a\ud800b") == "a_b"
    assert safe_file_name("e\u0301") == "\u00e9"  # NFC: one character, as on every file system


def test_names_that_collide_once_safe_are_told_apart_in_key_order():
    names = distinct_file_names({"DY02": "DY_a:b", "DY01": "DY_a/b", "DY03": "dy_A_B", "DY04": "DY_c"},
                                suffix=SUFFIX)
    assert names == {"DY01": "DY_a_b" + SUFFIX, "DY02": "DY_a_b_2" + SUFFIX, "DY03": "dy_A_B_3" + SUFFIX,
                     "DY04": "DY_c" + SUFFIX}
    # The same stems, in whatever order they come, give the same names.
    assert distinct_file_names(dict(reversed(list({"DY02": "DY_a:b", "DY01": "DY_a/b", "DY03": "dy_A_B",
                                                   "DY04": "DY_c"}.items()))), suffix=SUFFIX) == names
    long = distinct_file_names({"a": "丈" * 300, "b": "丈" * 300 + "?", "c": "丈" * 300 + "*"}, suffix=SUFFIX)
    assert len({n.casefold() for n in long.values()}) == 3 and all(nbytes(n) <= NAME_MAX_BYTES for n in long.values())


def test_hidden_sibling_names_fit_too():
    final = safe_file_name("丈" * 300, suffix=SUFFIX)
    temporary = hidden_sibling_name(final, ".part-0123abcd")
    assert temporary.startswith(".丈") and temporary.endswith(".part-0123abcd")
    assert nbytes(temporary) <= NAME_MAX_BYTES


def test_atomic_write_under_a_name_of_255_bytes(tmp_path):
    path = tmp_path / safe_file_name("丈" * 300, suffix=".txt")
    write_atomically(path, b"ok")
    assert path.read_bytes() == b"ok" and [p.name for p in tmp_path.iterdir()] == [path.name]


@given(st.text(max_size=400), st.sampled_from(["", SUFFIX, ".txt", "_2_单元方案"]))
def test_any_text_gives_a_safe_name(text, suffix):
    name = safe_file_name(text, suffix=suffix)
    assert_safe(name)
    assert name.endswith(suffix)


def test_every_name_can_be_created(tmp_path):
    texts = ["丈" * 300, "CON", "a/b", "x:y*?", "  trailing.  ", "..", "行\n😀" * 80, "\x7f" * 3, "🇨🇳" * 100]
    for name in distinct_file_names(dict(enumerate(texts)), suffix=SUFFIX).values():
        folder = tmp_path / name
        folder.mkdir()  # ".." and "\x7f\x7f\x7f" both fall back to 未命名: the second is 未命名_2_单元方案
        assert folder.resolve().parent == tmp_path.resolve()
        (tmp_path / hidden_sibling_name(folder.name, ".part-0123abcd")).mkdir()
    assert len(list(tmp_path.iterdir())) == 2 * len(texts)
