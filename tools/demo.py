"""`make demo`: the plugin's main job on the bundled sample 片区, headless through qgis_process.

Runs the chain that exists (check → indicators → export as they land) and writes
the results under ./out/, then prints a short summary a planner can read.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "resources" / "sample" / "sample_pianqu.gpkg"
QGIS_PROCESS = ROOT / "tools" / "qgis-process"


# QGIS opens a GeoPackage input for update (and switches it to WAL), so the demo works
# on a copy next to its results and the shipped sample stays untouched.
INPUT = SAMPLE


def layer(name: str) -> str:
    return f"{INPUT}|layername={name}"


def scheme() -> dict:
    return {
    "UNITS": layer("DY"),
    "UNIT_ID_FIELD": "DYBH",
    "LANDUSE": layer("DLTB"),
    "PROJECTS": layer("XM"),
    "PBF": layer("YJJBNTTB"),
    "PBF_PLAN": layer("YJJBNTTB_GH"),
    "ECO_REDLINE": layer("STBHHX"),
    "UDB": layer("CZKFBJ"),
    "TOWNSHIPS": layer("XZQ"),
    }


def pick(*names) -> dict:
    return {name: scheme()[name] for name in names}


def run(algorithm: str, parameters: dict) -> dict:
    arguments = [str(QGIS_PROCESS), "--json", "run", algorithm, "--"]
    arguments += [f"{key}={value}" for key, value in parameters.items()]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    completed = subprocess.run(arguments, capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"{algorithm} failed (exit {completed.returncode})")
    start = completed.stdout.find("{")
    return json.loads(completed.stdout[start:])


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--out", default="out")
    out = Path(arguments.parse_args().out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    global INPUT
    INPUT = out / "输入数据" / SAMPLE.name
    INPUT.parent.mkdir(exist_ok=True)
    for leftover in INPUT.parent.glob(SAMPLE.name + "*"):
        leftover.unlink()
    shutil.copy2(SAMPLE, INPUT)

    check_csv = out / "合规性核算表.csv"
    steps = [
        ("landconsolidation:checkunits", scheme(), {"OUTPUT": "合规性核算表.csv", "CONFLICTS": "冲突图斑.gpkg"}),
        ("landconsolidation:landusestructure", pick("UNITS", "UNIT_ID_FIELD", "LANDUSE", "PROJECTS"),
         {"OUTPUT": "土地利用结构调整表.csv"}),
        ("landconsolidation:landuseflow", pick("UNITS", "UNIT_ID_FIELD", "LANDUSE", "PROJECTS"),
         {"OUTPUT": "地类流向表.csv", "CHANGES": "地类变化图斑.gpkg"}),
        ("landconsolidation:contiguouspatches", pick("UNITS", "UNIT_ID_FIELD", "PBF", "PBF_PLAN"),
         {"OUTPUT": "集中连片片块.gpkg", "SUMMARY": "集中连片对比表.csv"}),
        ("landconsolidation:controllineconflicts",
         pick("UNITS", "UNIT_ID_FIELD", "LANDUSE", "PROJECTS", "PBF", "PBF_PLAN", "ECO_REDLINE", "UDB"),
         {"OUTPUT": "三线冲突图斑.gpkg"}),
        ("landconsolidation:pbfadjustment", pick("UNITS", "UNIT_ID_FIELD", "LANDUSE", "PBF", "PBF_PLAN", "TOWNSHIPS"),
         {"OUTPUT": "永久基本农田调出调入.gpkg", "SUMMARY": "永久基本农田调整乡镇汇总.csv"}),
        ("landconsolidation:potentialsurvey", pick("UNITS", "UNIT_ID_FIELD", "LANDUSE", "PBF", "UDB"),
         {"OUTPUT": "整治潜力图斑.gpkg"}),
        ("landconsolidation:exporttxt", {"INPUT": layer("XM")}, {"OUTPUT": "子项目坐标.txt"}),
        ("landconsolidation:exportunitscheme", {**scheme(), "ORGANISATION": "示例规划设计研究院"},
         {"OUTPUT_FOLDER": "单元方案"}),
    ]
    for algorithm, inputs, outputs in steps:
        targets = {name: out / filename for name, filename in outputs.items()}
        for target in targets.values():
            if target.is_file():
                target.unlink()
        run(algorithm, {**inputs, **targets})
        print(f"{algorithm.split(':')[1]}: " + "、".join(outputs.values()))

    with open(check_csv, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print(f"合规性检查：{len(rows)} 行 — " + "，".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for row in rows:
        if row["status"] == "fail":
            print("  ✗", row["message"])
    print(f"结果目录：{out}")


if __name__ == "__main__":
    main()
