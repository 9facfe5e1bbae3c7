"""三调 land classes: codes, names, groups and the three-way split, read from ``rules/``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from ..common.i18n import tr

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
DEFAULT_CLASSES_FILE = RULES_DIR / "landclasses_sandiao.yaml"

AGRICULTURAL = "农用地"
CONSTRUCTION = "建设用地"
UNUSED = "未利用地"
UNKNOWN = "未知"
ADJUSTABLE_SUFFIX = "K"  # 可调整地类: former farmland, counted in the class without the K


def normalise_code(code: object) -> str:
    """Canonical text of a class code as it may arrive from shapefiles ('101' stays '101')."""
    if code is None:
        return ""
    if isinstance(code, float) and code.is_integer():
        code = int(code)  # a code stored as a real number (GDPDJB 5.0, CZCSXM 201.0) is the integer code
    text = str(code).strip().upper()
    if text in ("NONE", "NULL", "NAN"):
        return ""
    return text


def base_code(code: str) -> str:
    """The class a code is counted in: '0201K' → '0201'."""
    if code.endswith(ADJUSTABLE_SUFFIX) and len(code) > 2:
        return code[: -len(ADJUSTABLE_SUFFIX)]
    return code


def class_flags(codes: np.ndarray, predicate: Callable[[str], bool]) -> np.ndarray:
    """``predicate`` (e.g. ``LandClasses.is_farmland``) of every code, asked once per distinct code."""
    if len(codes) == 0:
        return np.zeros(0, dtype=bool)
    unique, inverse = np.unique(codes.astype(str), return_inverse=True)
    return np.array([predicate(c) for c in unique], dtype=bool)[inverse]


@dataclass(frozen=True)
class LandClasses:
    names: dict[str, str]
    groups: dict[str, str]
    farmland: frozenset[str]
    construction: frozenset[str]
    unused: frozenset[str]
    deduction_class: str

    def is_known(self, code: str) -> bool:
        return base_code(code) in self.names

    def name(self, code: str) -> str:
        base = base_code(code)
        name = self.names.get(base)
        if name is None:
            return UNKNOWN
        if base != code:
            return tr("可调整") + name
        return name

    def group_code(self, code: str) -> str:
        return base_code(code)[:2] if self.is_known(code) else ""

    def three_way(self, code: str) -> str:
        base = base_code(code)
        if base not in self.names:
            return UNKNOWN
        if base in self.construction:
            return CONSTRUCTION
        if base in self.unused:
            return UNUSED
        return AGRICULTURAL

    def is_farmland(self, code: str) -> bool:
        return base_code(code) in self.farmland

    def is_construction(self, code: str) -> bool:
        return base_code(code) in self.construction


@lru_cache(maxsize=8)
def load_land_classes(path: str | Path = DEFAULT_CLASSES_FILE) -> LandClasses:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    names = {str(k): str(v) for k, v in data["classes"].items()}
    return LandClasses(
        names=names,
        groups={str(k): str(v) for k, v in data["groups"].items()},
        farmland=frozenset(map(str, data["farmland"])),
        construction=frozenset(map(str, data["construction"])),
        unused=frozenset(map(str, data["unused"])),
        deduction_class=str(data["deduction_class"]),
    )
