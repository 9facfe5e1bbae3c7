"""The encoding of a .dbf that declares none (``core/ingest/dbf_encoding.py``), on .dbf files written
byte by byte here: one character field, the text given in the test's own encoding."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from land_consolidation.core.ingest.dbf_encoding import CHINESE_ENCODING, undeclared_chinese_text

FIELD_LENGTH = 20


def write_dbf(path: Path, values: list[bytes], ldid: int = 0) -> Path:
    """A dBASE III file with one 20-byte character field ``DYMC`` holding ``values`` (space-padded)."""
    header_length = 32 + 32 + 1
    record_length = 1 + FIELD_LENGTH
    header = bytearray(32)
    header[0] = 0x03
    header[1:4] = bytes((124, 1, 1))
    struct.pack_into("<IHH", header, 4, len(values), header_length, record_length)
    header[29] = ldid
    descriptor = bytearray(32)
    descriptor[0:4] = b"DYMC"
    descriptor[11] = ord("C")
    descriptor[16] = FIELD_LENGTH
    records = b"".join(b" " + value.ljust(FIELD_LENGTH, b" ") for value in values)
    path.write_bytes(bytes(header) + bytes(descriptor) + b"\r" + records + b"\x1a")
    return path


NAMES = ["甲村单元", "乙村单元"]


def test_gbk_without_code_page_is_read_as_gbk_with_the_first_name(tmp_path):
    dbf = write_dbf(tmp_path / "DY.dbf", [b"DY01", *[n.encode("gbk") for n in NAMES]])
    verdict = undeclared_chinese_text(str(tmp_path / "DY.shp"))  # asked for the .shp, as QGIS knows it
    assert verdict is not None
    assert verdict.encoding == CHINESE_ENCODING == "GBK"
    assert verdict.example == "甲村单元"
    assert undeclared_chinese_text(str(dbf)) == verdict


@pytest.mark.parametrize("declared", ["cpg", "ldid"])
def test_a_declared_code_page_is_left_to_qgis(tmp_path, declared):
    write_dbf(tmp_path / "DY.dbf", [n.encode("gbk") for n in NAMES], ldid=0x4D if declared == "ldid" else 0)
    if declared == "cpg":
        (tmp_path / "DY.cpg").write_text("CP936", encoding="ascii")
    assert undeclared_chinese_text(str(tmp_path / "DY.shp")) is None


@pytest.mark.parametrize("values", [
    [n.encode("utf-8") for n in NAMES],  # UTF-8 already: QGIS decodes it right
    [b"DY01", b"DY02"],  # no text beyond ASCII: nothing to decode
    [],  # no records
    [b"\x80\x80\x80\x80"],  # neither UTF-8 nor GB18030 (0x80 is no lead byte): left to the planner
], ids=["utf8", "ascii", "empty", "not_gb18030"])
def test_nothing_to_say(tmp_path, values):
    write_dbf(tmp_path / "DY.dbf", values)
    assert undeclared_chinese_text(str(tmp_path / "DY.shp")) is None


def test_other_files_and_missing_or_broken_dbf(tmp_path):
    assert undeclared_chinese_text(str(tmp_path / "scheme.gpkg")) is None
    assert undeclared_chinese_text(str(tmp_path / "missing.shp")) is None
    (tmp_path / "short.dbf").write_bytes(b"\x03\x7c")
    assert undeclared_chinese_text(str(tmp_path / "short.dbf")) is None


def test_the_verdict_follows_the_file(tmp_path):
    """The verdict is cached per file state: a file rewritten in UTF-8 is judged again."""
    dbf = write_dbf(tmp_path / "DY.dbf", [n.encode("gbk") for n in NAMES])
    assert undeclared_chinese_text(str(dbf)) is not None
    write_dbf(dbf, [n.encode("utf-8") for n in NAMES] + [b"DY03"])  # another size: another cache key
    assert undeclared_chinese_text(str(dbf)) is None
