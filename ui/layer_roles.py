"""Which project layer plays which role: guessed from names planners and survey data use.

Matching looks at the layer's name and the table name in its source (``layername=…``),
case-insensitively; more specific names (YJJBNTTB_GH before YJJBNTTB) win.
"""

from __future__ import annotations

import re

# role -> name patterns (regular expressions on the whole token), most specific roles first.
ROLE_PATTERNS = (
    ("pbf_plan", (r"YJJBNTTB_?GH", r"GH_?YJJBNTTB", r"规划永久基本农田", r"永久基本农田.*规划", r"PBF_?PLAN")),
    ("udb_plan", (r"CZKFBJ_?GH", r"GH_?CZKFBJ", r"规划城镇开发边界", r"UDB_?PLAN")),
    ("pbf", (r"YJJBNTTB", r"YJJBNT", r"永久基本农田", r"基本农田")),
    ("eco", (r"STBHHX", r"生态保护红线", r"生态红线")),
    ("udb", (r"CZKFBJ", r"城镇开发边界")),
    ("townships", (r"XZQ", r"XZQJX", r"乡镇", r"行政区")),
    ("landuse", (r"DLTB", r"地类图斑", r"三调", r"变更调查")),
    ("units", (r"DY", r"ZZDY", r"整治单元", r"单元")),
    ("projects", (r"XM", r"ZXM", r"子项目", r"项目")),
)


def layer_keys(name: str, source: str) -> list:
    """Names to match for a layer: its own name and the table named in its source."""
    keys = [name]
    match = re.search(r"layername=([^|]+)", source or "")
    if match:
        keys.append(match.group(1))
    return [k.strip() for k in keys if k]


def guess_roles(layers) -> dict:
    """role -> layer for ``layers`` (objects with ``name()`` and ``source()``); each layer used once."""
    chosen = {}
    used = set()
    for role, patterns in ROLE_PATTERNS:
        for exact in (True, False):
            for layer in layers:
                if id(layer) in used or role in chosen:
                    continue
                keys = layer_keys(layer.name(), layer.source())
                if any(_matches(p, k, exact) for p in patterns for k in keys):
                    chosen[role] = layer
                    used.add(id(layer))
    return chosen


def _matches(pattern: str, key: str, exact: bool) -> bool:
    flags = re.IGNORECASE
    if exact:
        return re.fullmatch(pattern, key, flags) is not None
    if pattern.isascii():  # Latin codes only as whole words: "DY" must not match "study"
        pattern = r"(?<![A-Za-z])" + pattern + r"(?![A-Za-z])"
    return re.search(pattern, key, flags) is not None


# ---------------------------------------------------------------------------- what a message names
_LAYER_LABEL = re.compile(r"图层“(?P<name>[^”]*)”（(?P<role>[^）]*)）")
_PAIR = re.compile(r"([^：；（\s]+) 与 ([^：；（\s]+)（")
_ID_LIST = re.compile(r"要素号?\s*(-?\d+(?:、-?\d+)*)")
# features named by their id field (validate.features_text): 单元编号 DYBH DY01、DY02 / 子项目编号 XMBH …
_NAMED_UNITS = re.compile(r"单元编号 DYBH ([^\s，。；（）]+(?:、[^\s，。；（）]+)*)")
_NAMED_PROJECTS = re.compile(r"子项目编号 XMBH ([^\s，。；（）]+(?:、[^\s，。；（）]+)*)")
_UNIT = re.compile(r"整治单元 (\S+?) 有")
_PROJECT_PAIR = re.compile(r"[：；]([^：；（]+?)（[^）]*）与 ([^：；（]+?)（")


def message_targets(text: str) -> dict:
    """The features an engine message (warning or refusal) names, as far as its text tells.

    ``{"layer": name or "", "role_label": label or "", "fids": [int], "unit_ids": [str],
    "project_ids": [str]}``: messages name a layer as ``图层“DLTB”（地类图斑）`` followed by
    ``要素 1、2`` or ``要素相互重叠：1 与 2（…）``; the unit warnings name ``整治单元 DY01``; the
    refusals of overlapping 子项目 name their XMBH (``DY02-01（0101）与 DY02-02（0702）重叠``).
    """
    found = {"layer": "", "role_label": "", "fids": [], "unit_ids": [], "project_ids": []}
    label = _LAYER_LABEL.search(text)
    if label:
        found["layer"], found["role_label"] = label.group("name"), label.group("role")
        rest = text[label.end():]
        named = [x for pair in _PAIR.findall(rest) for x in pair]
        fids = []
        if named and all(re.fullmatch(r"-?\d+", x) for x in named):
            fids = [int(x) for x in named]
        elif named:  # overlapping units are named by their unit id
            found["unit_ids"] = list(dict.fromkeys(named))
        else:
            listed = _ID_LIST.search(rest)
            fids = [int(x) for x in listed.group(1).split("、")] if listed else []
        found["fids"] = list(dict.fromkeys(f for f in fids if f != -1))  # -1: the polygon being drawn
    named_units = _NAMED_UNITS.search(text)
    found["unit_ids"] = found["unit_ids"] or (named_units.group(1).split("、") if named_units else _UNIT.findall(text))
    named_projects = _NAMED_PROJECTS.search(text)
    if named_projects:
        found["project_ids"] = named_projects.group(1).split("、")
    if text.startswith("子项目相互重叠"):
        found["project_ids"] = list(dict.fromkeys(x.strip() for pair in _PROJECT_PAIR.findall(text) for x in pair))
    return found
