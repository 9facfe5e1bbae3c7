"""The text encoding of a shapefile's .dbf that declares none.

A .dbf says its code page in a ``.cpg`` sidecar or in its language driver id (byte 29 of the
header: 0x4D is GBK). Old Chinese software and hand-copied files often have neither; QGIS then
decodes the text as UTF-8 and 甲村单元 becomes mojibake, silently. Such a file is read as GBK
when its text is not UTF-8 but is valid GB18030 (a superset of GBK; random bytes rarely are).
Pure Python on the file's bytes: no QGIS here, the reader (``qgis_bridge.layer_io``) applies it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Read at most this many bytes of records: enough text to judge, instant on a county's DLTB.
SAMPLE_BYTES = 1 << 20
_HEADER = struct.Struct("<4xIHH")  # record count, header length, record length
_LDID_OFFSET = 29
CHINESE_ENCODING = "GBK"  # the name QGIS's data source encoding list and planners use


@dataclass(frozen=True)
class UndeclaredText:
    """A .dbf with no code page whose text reads as ``encoding``; ``example``: one value so read."""

    encoding: str
    example: str


def dbf_of(path: str) -> Path | None:
    """The .dbf of a shapefile path (``.shp`` or ``.dbf``), None for any other file."""
    candidate = Path(path)
    if candidate.suffix.lower() not in (".shp", ".dbf"):
        return None
    for suffix in (".dbf", ".DBF"):
        dbf = candidate.with_suffix(suffix)
        if dbf.is_file():
            return dbf
    return None


def declares_code_page(dbf: Path, header: bytes) -> bool:
    """Whether a .cpg sidecar or the language driver id says the encoding."""
    if any(dbf.with_suffix(suffix).is_file() for suffix in (".cpg", ".CPG")):
        return True
    return len(header) > _LDID_OFFSET and header[_LDID_OFFSET] != 0


def undeclared_chinese_text(path: str) -> UndeclaredText | None:
    """GBK, with an example value, when the shapefile at ``path`` declares no code page and its text
    is not UTF-8 but reads as GB18030; None otherwise (declared, ASCII, UTF-8, or neither)."""
    dbf = dbf_of(path)
    if dbf is None:
        return None
    try:
        stat = dbf.stat()
    except OSError:
        return None
    # The panel asks on every edit: the verdict is kept while the file is unchanged.
    return _verdict(str(dbf), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _verdict(path: str, size: int, mtime_ns: int) -> UndeclaredText | None:
    dbf = Path(path)
    try:
        with dbf.open("rb") as handle:
            header = handle.read(32)
            if len(header) < 32 or declares_code_page(dbf, header):
                return None
            count, header_length, record_length = _HEADER.unpack_from(header)
            if record_length <= 1 or count == 0:
                return None
            handle.seek(header_length)
            records = handle.read(min(SAMPLE_BYTES, count * record_length))
    except OSError:
        return None
    texts = _non_ascii_runs(records, record_length)
    if not texts:
        return None
    joined = b"\n".join(texts)
    try:
        joined.decode("utf-8")
        return None  # UTF-8 already: QGIS reads it right
    except UnicodeDecodeError:
        pass
    try:
        decoded = [text.decode("gb18030") for text in texts]
    except UnicodeDecodeError:
        return None  # neither: leave it to QGIS and the planner
    return UndeclaredText(encoding=CHINESE_ENCODING, example=decoded[0])


def _non_ascii_runs(records: bytes, record_length: int) -> list[bytes]:
    """The space-trimmed field texts of whole records that hold bytes above 0x7F (cut per record, so a
    truncated sample's last record does not break a character)."""
    runs = []
    for start in range(0, len(records) - record_length + 1, record_length):
        record = records[start + 1:start + record_length]  # byte 0: the deletion flag
        if max(record, default=0) < 0x80:
            continue
        for chunk in record.split(b" "):
            if chunk and max(chunk) >= 0x80:
                runs.append(chunk)
    return runs
