"""Writing files so that a planner never finds a half-written one, under names every file system takes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path

#: The longest file or folder name, in UTF-8 bytes: ext4, XFS, Btrfs and APFS count bytes (255), NTFS and
#: FAT count UTF-16 units (255), which a name of at most 255 UTF-8 bytes never exceeds.
NAME_MAX_BYTES = 255

#: Names Windows keeps for devices, whatever their case and extension ("con.txt" is the console too).
WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{device}{n}" for device in ("COM", "LPT") for n in (*"0123456789", "¹", "²", "³")})

_WINDOWS_INVALID = frozenset('<>:"/\\|?*')
# Bidirectional overrides and isolates could make a name read differently from what it is.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ENDS = re.compile(r"^[\s._]+|[\s._]+$")
_HASH_CHARS = 8


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _clean(text: str) -> str:
    """Separators, characters Windows refuses, control characters and dot runs become ``_``."""
    chars = []
    for ch in text:
        category = unicodedata.category(ch)
        invalid = ch in _WINDOWS_INVALID or ch in _BIDI_CONTROLS or category in ("Cc", "Cs", "Zl", "Zp")
        # ";" separates the paths of a multi-path output (exportunitscheme's PACKAGES): the full-width
        # "；" keeps the look and the list splittable.
        chars.append("_" if invalid else "；" if ch == ";" else ch)
    text = re.sub(r"\.{2,}", "_", "".join(chars))
    text = re.sub(r"_+", "_", text)
    return _ENDS.sub("", text)  # no leading dot (hidden), no trailing dot or space (Windows drops them)


def is_windows_reserved(name: str) -> bool:
    """``CON``, ``con.txt``, ``Com1 .log`` … name a device on Windows."""
    return name.split(".", 1)[0].rstrip(" ").upper() in WINDOWS_RESERVED


def _continues(text: str, at: int) -> bool:
    """Whether ``text[at]`` belongs to the character before it (accent, emoji modifier or joiner, flag half)."""
    ch = text[at]
    if text[at - 1] == "\u200d" or ch == "\u200d" or unicodedata.category(ch) in ("Mn", "Mc", "Me"):
        return True
    if "\ufe00" <= ch <= "\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff" or "\U000e0020" <= ch <= "\U000e007f":
        return True
    if "\U0001f1e6" <= ch <= "\U0001f1ff":  # a regional indicator: flags are pairs
        run = 0
        while at - 1 - run >= 0 and "\U0001f1e6" <= text[at - 1 - run] <= "\U0001f1ff":
            run += 1
        return run % 2 == 1
    return False


def fit_bytes(text: str, max_bytes: int, max_chars: int | None = None) -> str:
    """The longest start of ``text`` of at most ``max_bytes`` UTF-8 bytes (and ``max_chars`` characters),
    cut between characters, never inside one nor between an emoji or a letter and what belongs to it."""
    used = 0
    cut = len(text)
    for position, ch in enumerate(text):
        used += _utf8_len(ch)
        if used > max_bytes or (max_chars is not None and position >= max_chars):
            cut = position
            break
    else:
        return text
    while cut > 0 and _continues(text, cut):
        cut -= 1
    return text[:cut]


def safe_file_name(text: str, *, suffix: str = "", fallback: str = "未命名", max_bytes: int = NAME_MAX_BYTES,
                   max_chars: int | None = None) -> str:
    """A file or folder name, ``text`` made safe on every file system, followed by ``suffix``.

    No separators or characters Windows refuses (``<>:"/\\|?*``), no control characters, no ``..``, no
    leading dot or trailing dot or space, no device name (``CON``, ``con.txt`` become ``_CON``, ``_con.txt``);
    an empty result is ``fallback``. The whole name, suffix included, is at most ``max_bytes`` UTF-8 bytes
    (and ``max_chars`` characters): a longer ``text`` is cut between characters and ends in ``_`` and the
    first digits of the SHA-256 of the whole of it, so that two long names with the same start stay apart
    and a name is the same at every export. ``suffix`` is trusted: it must be safe itself.
    """
    original = unicodedata.normalize("NFC", str(text))
    suffix = unicodedata.normalize("NFC", suffix)
    budget = max_bytes - _utf8_len(suffix)
    char_budget = None if max_chars is None else max_chars - len(suffix)
    if budget <= _HASH_CHARS + 1 or (char_budget is not None and char_budget <= _HASH_CHARS + 1):
        raise ValueError(f"suffix {suffix!r} leaves no room for a name")
    cleaned = _clean(original) or _clean(unicodedata.normalize("NFC", fallback)) or "_"
    if is_windows_reserved(cleaned + suffix):
        cleaned = "_" + cleaned
    if _utf8_len(cleaned) <= budget and (char_budget is None or len(cleaned) <= char_budget):
        return cleaned + suffix
    tag = "_" + hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    head = fit_bytes(cleaned, budget - len(tag), None if char_budget is None else char_budget - len(tag))
    head = _ENDS.sub("", head)
    return (head + tag if head else tag[1:]) + suffix  # the tag has no dot: the name is no device name


def distinct_file_names(stems: Mapping[str, str], *, suffix: str = "", fallback: str = "未命名",
                        max_bytes: int = NAME_MAX_BYTES, max_chars: int | None = None) -> dict[str, str]:
    """``safe_file_name`` of each stem (key → name), all different even where the file system ignores case.

    Taken in the order of the keys, a stem whose name is already taken (``a/b`` and ``a:b`` are both
    ``a_b``) gets ``_2``, ``_3`` … before ``suffix``, so the same stems get the same names every time."""
    taken: set[str] = set()
    names = {}
    for key in sorted(stems, key=str):
        ordinal = 1
        while True:
            tail = (f"_{ordinal}" if ordinal > 1 else "") + suffix
            name = safe_file_name(stems[key], suffix=tail, fallback=fallback, max_bytes=max_bytes,
                                  max_chars=max_chars)
            if name.casefold() not in taken:
                break
            ordinal += 1
        taken.add(name.casefold())
        names[key] = name
    return names


def hidden_sibling_name(name: str, tag: str, max_bytes: int = NAME_MAX_BYTES) -> str:
    """``.name<tag>`` for a temporary file or folder beside ``name``, shortened to fit ``max_bytes``."""
    return "." + fit_bytes(name, max_bytes - 1 - _utf8_len(tag)) + tag


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and move it into place: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp adds 8 random characters between prefix and suffix; the temporary name must fit too.
    prefix = fit_bytes(path.name, NAME_MAX_BYTES - 8 - len(".part") - 1) + "."
    handle, temporary = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=str(path.parent))
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
