"""The generator's pipeline: landscape, survey, control lines, draft scheme, GeoPackage."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import shapely

from . import geometry as geo
from .controls import control_lines
from .gpkg import write_gpkg
from .landscape import build_landscape
from .layers import build_layers
from .scheme import Draft
from .seams import share_near
from .survey import add_survey_attributes, build_parcels


def generate(path: str | Path, n_parcels: int = 3000, seed: int = 2022, verbose: bool = False) -> dict:
    """Write the sample GeoPackage to ``path``; return {layer: feature count}."""
    t0 = time.time()

    def say(msg: str) -> None:
        if verbose:
            print(f"[{time.time() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    land = build_landscape(int(n_parcels), int(seed))
    say(f"landscape: {len(land.townships)} townships, {len(land.hills)} hills, {len(land.towns)} town zones")
    P = build_parcels(land)
    say(f"parcels: {len(P.geom)}")
    add_survey_attributes(P, land)
    say("attributes")
    adj = geo.adjacency(P.geom)
    lines = control_lines(P, land, adj)
    say("三区三线")
    draft = Draft(P, land, adj)
    draft.place_units()
    draft.build_projects()
    say(f"draft: {len(draft.units)} units, {len(draft.projects)} projects")
    layers = build_layers(P, land, lines, draft)
    # Unit cut lines and partial project footprints cross parcel edges at new vertices:
    # give them to every polygon along those edges.
    names = list(layers)
    sources = [P.col["township"] if name == "DLTB" else np.full(len(layers[name][0]), 1000 * (k + 1))
               for k, name in enumerate(names)]
    seams = shapely.boundary(np.concatenate([layers["DY"][0], layers["XM"][0]]))
    shared = share_near([layers[name][0] for name in names], sources, seams)
    layers = {name: (geoms, layers[name][1]) for name, geoms in zip(names, shared)}
    say("vertices shared")
    write_gpkg(str(path), layers)
    say("written")
    return {name: len(geoms) for name, (geoms, _) in layers.items()}
