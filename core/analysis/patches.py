"""Contiguous patches (集中连片): polygons closer than a gap tolerance grouped, measured and named
by the ruleset's classes (百亩方/千亩方/万亩方)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, TypedDict

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..geometry.measure import to_mu
from ..geometry.overlay import connected_components


class PatchClass(TypedDict):
    """A class of patches (a ruleset's ``patch_classes`` entry): its name and the least area it takes (亩)."""

    name: str
    min_mu: float


@dataclass
class Patches:
    """Contiguous patches: one row per patch (area, member pieces) and the patch outlines."""

    table: pd.DataFrame  # patch, area_m2, area_mu, class_name
    parts: np.ndarray  # the single polygons the patches are made of
    part_patch: np.ndarray  # patch of each part
    piece_patch: np.ndarray  # patch of each input piece
    _outlines: np.ndarray | None = None

    @property
    def geoms(self) -> np.ndarray:
        """Patch outlines (computed on first use: the live check needs only the areas)."""
        if self._outlines is None:
            self._outlines = np.array([shapely.union_all(self.parts[self.part_patch == k])
                                       for k in range(len(self.table))], dtype=object)
        return self._outlines

    @property
    def largest_m2(self) -> float:
        return float(self.table["area_m2"].max()) if len(self.table) else 0.0

    def summary(self) -> dict[str, float]:
        areas = self.table["area_m2"].to_numpy() if len(self.table) else np.zeros(0)
        return {"count": int(len(areas)), "largest_m2": float(areas.max()) if len(areas) else 0.0,
                "mean_m2": float(areas.mean()) if len(areas) else 0.0, "total_m2": float(areas.sum())}


def find_patches(geoms: np.ndarray, areas: np.ndarray, gap_m: float, classes: Sequence[PatchClass]) -> Patches:
    """Group polygons closer than ``gap_m`` into patches; classes are [{name, min_mu}] largest first.

    Multi-part inputs are split first: two parts of one clipped piece may lie far apart and
    must not join their patches. ``piece_patch`` gives each input the patch of its largest part.
    """
    geoms = np.asarray(geoms, dtype=object)
    areas = np.asarray(areas, dtype=float)
    if len(geoms) == 0:
        empty = np.empty(0, dtype=np.int64)
        return Patches(pd.DataFrame({"patch": [], "area_m2": [], "area_mu": [], "class_name": []}),
                       np.empty(0, dtype=object), empty, empty.copy())
    parts, owner = shapely.get_parts(geoms, return_index=True)
    plane = shapely.area(parts)
    plane_total = np.bincount(owner, weights=plane, minlength=len(geoms))
    part_areas = np.where(plane_total[owner] > 0, areas[owner] * plane / np.where(plane_total[owner] > 0,
                                                                                  plane_total[owner], 1.0), 0.0)
    # Two polygons belong together when their gap is below the tolerance: connected
    # components of the "dwithin" graph (no buffering).
    tree = STRtree(parts)
    a, b = tree.query(parts, predicate="dwithin", distance=gap_m)
    _, patch = np.unique(connected_components(len(parts), a, b), return_inverse=True)
    patch_area = np.bincount(patch, weights=part_areas)
    order = np.argsort(-patch_area, kind="stable")  # patch 0 is the largest
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    patch = rank[patch]
    patch_area = patch_area[order]
    names = [patch_class(round(to_mu(a), 2), classes) for a in patch_area]  # named as the figure reads
    table = pd.DataFrame({"patch": np.arange(len(order)), "area_m2": patch_area, "area_mu": to_mu(patch_area),
                          "class_name": names})
    largest_part = np.full(len(geoms), -1)
    best = np.full(len(geoms), -1.0)
    for k, (o, size) in enumerate(zip(owner, plane)):
        if size > best[o]:
            best[o], largest_part[o] = size, k
    return Patches(table=table, parts=parts, part_patch=patch, piece_patch=patch[largest_part])


def patch_class(area_mu: float, classes: Sequence[PatchClass]) -> str:
    for entry in sorted(classes, key=lambda e: -e["min_mu"]):
        if area_mu >= entry["min_mu"]:
            return entry["name"]
    return ""


