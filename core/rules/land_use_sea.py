"""用地用海分类 codes (field YDYHFLDM) read as 三调 classes, from ``rules/landuse_sea_to_sandiao.yaml``.

Planners' 子项目 layers may give the planned class in the 国土空间调查、规划、用途管制用地用海分类
vocabulary instead of 三调 codes (GHDLBM). The engine works in 三调 codes, so those classes are mapped:
each 用地用海 code goes to the 三调 class its land is counted in, or to none where no single 三调 class
corresponds (sea use, 留白用地, 01 耕地 without saying which 耕地 …). Two versions of the vocabulary are
in use and give some codes other meanings (2302 is 后备耕地 in the 2023 guide, 田坎 in the 2020 trial):
``"2023"`` (自然资发〔2023〕234号, the default) and ``"2020"`` (自然资办发〔2020〕51号, 试行).

How the engine should use it (``core/ingest/layers.py`` ``build_project_table``)::

    table = load_land_use_sea()
    # The vocabulary comes from the field name (YDYHFLDM, not GHDLBM) or an explicit parameter, never
    # from the codes (0601 is 工业用地 in 三调, a road class in 用地用海). The version may come from a
    # parameter; otherwise table.guess_version(raw) picks the one all codes fit (2023 when both fit) and
    # None means neither fits: refuse, naming the codes.
    raw = projects.column("YDYHFLDM", "")
    version = requested_version or table.guess_version(raw)
    mapped, unmapped = table.map_codes(raw, version or table.default_version)
    if unmapped:
        # Plans are refused, like unknown GHDLBM codes: list code（n 个）; for codes that
        # table.is_known(code, version) say the class has no single 三调 class and must be more specific
        # (01 → 0101/0102/0103, 0601 → 060101/060102 in 2020); for the rest, not a 用地用海 code of that
        # version. Say which version was used either way.
        ...
    code_after = mapped  # 三调 codes, as GHDLBM would have given them

Codes are read as ``landclasses.normalise_code`` reads them (text, stripped, "" for empty). A code whose
leading zero a numeric field dropped (101, 60201) is read with it restored where that gives a code of the
version; 用地用海 codes have 2, 4 or 6 digits, so an odd-length code can only be such a code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..common.errors import RulesetError
from .landclasses import RULES_DIR, normalise_code

DEFAULT_LAND_USE_SEA_FILE = RULES_DIR / "landuse_sea_to_sandiao.yaml"
CODE_LENGTHS = (2, 4, 6)  # 一级类, 二级类, 三级类


@dataclass(frozen=True)
class LandUseSeaClass:
    code: str
    name: str
    sandiao: str | None  # resolved: a 三级类 without its own mapping carries its parent's


@dataclass(frozen=True)
class LandUseSeaTable:
    """Both versions of the vocabulary, each code with its name and 三调 class."""

    default_version: str
    classes: dict[str, dict[str, LandUseSeaClass]]  # version → code → class
    documents: dict[str, str]  # version → the guide it follows
    distinctive_codes: dict[str, frozenset[str]]  # version → codes found in that version only

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(self.classes)

    def _table(self, version: str) -> dict[str, LandUseSeaClass]:
        table = self.classes.get(str(version).strip())
        if table is None:
            raise ValueError(f"unknown 用地用海 version {version!r}; known: {', '.join(self.versions)}")
        return table

    def canonical(self, code: object, version: str) -> str:
        """The code as written in ``version``'s table: normalised, a dropped leading zero restored
        (101 → 0101) where that gives a code of the version. Unknown codes come back normalised."""
        text = _normalise(code)
        table = self._table(version)
        if text not in table and len(text) % 2 == 1 and text.isdigit() and "0" + text in table:
            return "0" + text
        return text

    def is_known(self, code: object, version: str) -> bool:
        return self.canonical(code, version) in self._table(version)

    def name(self, code: object, version: str) -> str | None:
        """The class name in ``version``; None for a code the version does not have."""
        entry = self._table(version).get(self.canonical(code, version))
        return entry.name if entry else None

    def to_sandiao(self, code: object, version: str) -> str | None:
        """The 三调 code the class is counted in; None for unknown codes and for classes no single 三调
        class corresponds to (tell them apart with ``is_known``)."""
        entry = self._table(version).get(self.canonical(code, version))
        return entry.sandiao if entry else None

    def guess_version(self, codes: Iterable[object]) -> str | None:
        """The version every non-empty code belongs to, the default one when both do (also when there
        are no codes); None when no version has them all."""
        distinct = {text for text in map(_normalise, codes) if text}
        fitting = [v for v in self.versions if all(self.is_known(c, v) for c in distinct)]
        if self.default_version in fitting:
            return self.default_version
        return fitting[0] if fitting else None

    def map_codes(self, codes: pd.Series, version: str | None) -> tuple[pd.Series, dict[str, int]]:
        """(三调 codes, unmapped) for a column of 用地用海 codes read in ``version``.

        ``version`` None: the one ``guess_version`` gives, or the default one when none fits all codes.
        The mapped series has ``codes``' index, with "" where a row has no 三调 class; ``unmapped`` counts
        those rows by normalised code ("" for empty): unknown codes and known classes without a single
        三调 class alike, most frequent first."""
        if version is None:
            version = self.guess_version(codes) or self.default_version
        self._table(version)  # an unknown version fails here, also on an empty column
        texts = [_normalise(code) for code in codes]
        lookup = {text: self.to_sandiao(text, version) or "" for text in set(texts)}
        mapped = pd.Series([lookup[text] for text in texts], index=codes.index, dtype=object)
        counts = Counter(self.canonical(text, version) if text else text for text in texts if not lookup[text])
        unmapped = dict(counts.most_common())
        return mapped, unmapped


def _normalise(code: object) -> str:
    try:
        if pd.isna(code):  # NaN, None, pd.NA; lists and arrays raise below
            return ""
    except (TypeError, ValueError):
        pass
    return normalise_code(code)


def _fail(path: Path, what: str) -> RulesetError:
    return RulesetError(f"用地用海对应表 {path}：{what}")


def _parse_version(path: Path, version: str, data: Any) -> tuple[dict[str, LandUseSeaClass], str, frozenset[str]]:
    if not isinstance(data, dict) or not isinstance(data.get("classes"), dict):
        raise _fail(path, f"版本 {version} 缺少 classes 表")
    raw: dict[str, dict[str, Any]] = {}
    for key, entry in data["classes"].items():
        code = str(key)
        if not code.isdigit() or len(code) not in CODE_LENGTHS:
            raise _fail(path, f"版本 {version} 的代码 {code!r} 不是 2、4 或 6 位数字")
        if not isinstance(entry, dict) or not str(entry.get("name") or "").strip():
            raise _fail(path, f"版本 {version} 的代码 {code} 缺少名称")
        if len(code) < 6 and "sandiao" not in entry:
            raise _fail(path, f"版本 {version} 的代码 {code} 缺少 sandiao（无对应三调地类时写 null）")
        if len(code) > 2 and code[:-2] not in data["classes"]:
            raise _fail(path, f"版本 {version} 的代码 {code} 没有上级类 {code[:-2]}")
        raw[code] = entry
    classes: dict[str, LandUseSeaClass] = {}
    for code in sorted(raw, key=len):  # parents first, so children can inherit
        entry = raw[code]
        if "sandiao" in entry:
            sandiao = None if entry["sandiao"] is None else str(entry["sandiao"])
        else:
            sandiao = classes[code[:-2]].sandiao
        classes[code] = LandUseSeaClass(code, str(entry["name"]).strip(), sandiao)
    distinctive = frozenset(map(str, data.get("distinctive_codes") or ()))
    return classes, str(data.get("document") or ""), distinctive


@lru_cache(maxsize=8)
def load_land_use_sea(path: str | Path = DEFAULT_LAND_USE_SEA_FILE) -> LandUseSeaTable:
    """The table in ``path``; a malformed file raises ``RulesetError`` naming the file and the code."""
    path = Path(path)
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict) or not data["versions"]:
        raise _fail(path, "缺少 versions 表")
    classes: dict[str, dict[str, LandUseSeaClass]] = {}
    documents: dict[str, str] = {}
    distinctive: dict[str, frozenset[str]] = {}
    for key, body in data["versions"].items():
        version = str(key)
        classes[version], documents[version], distinctive[version] = _parse_version(path, version, body)
    default = str(data.get("default_version", ""))
    if default not in classes:
        raise _fail(path, f"default_version {default!r} 不是表中的版本（{'、'.join(classes)}）")
    return LandUseSeaTable(default_version=default, classes=classes, documents=documents,
                           distinctive_codes=distinctive)
