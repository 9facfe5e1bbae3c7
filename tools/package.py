"""Build the installable plugin zip: top folder land_consolidation/, no tests or dev files."""

from __future__ import annotations

import argparse
import configparser
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_FOLDER = "land_consolidation"
INCLUDE = ["metadata.txt", "__init__.py", "plugin.py", "LICENSE", "README.md",
           "core", "processing", "qgis_bridge", "report", "rules", "ui", "resources"]
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo", ".ts", ".orig", ".rej", ".so", ".dll", ".exe"}


def plugin_files():
    for name in INCLUDE:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = file.relative_to(ROOT)
            if EXCLUDED_PARTS.intersection(relative.parts) or file.suffix in EXCLUDED_SUFFIXES:
                continue
            yield file, relative


def build(out_dir: Path) -> Path:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "metadata.txt", encoding="utf-8")
    version = parser["general"]["version"]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PLUGIN_FOLDER}-{version}.zip"
    partial = target.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for file, relative in plugin_files():
            archive.write(file, f"{PLUGIN_FOLDER}/{relative.as_posix()}")
    partial.replace(target)  # atomic: a failed build never leaves a half zip behind
    return target


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--out", default="dist")
    print(build(Path(arguments.parse_args().out)))
