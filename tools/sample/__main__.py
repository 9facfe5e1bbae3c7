"""Command line of the sample generator (run from the checkout)::

    python -m tools.sample --parcels 3000 --seed 2022 --out resources/sample/sample_pianqu.gpkg
"""

from __future__ import annotations

import argparse
import sys
import time

from . import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.sample",
                                     description="Generate the sample 片区 GeoPackage (deterministic).")
    parser.add_argument("--parcels", type=int, default=3000, help="number of DLTB parcels (about; default 3000)")
    parser.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
    parser.add_argument("--out", default="sample_pianqu.gpkg", help="output GeoPackage path")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.time()
    counts = generate(args.out, args.parcels, args.seed, verbose=not args.quiet)
    print(f"{args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f" ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
