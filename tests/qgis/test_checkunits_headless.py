"""`qgis_process run landconsolidation:checkunits` on the sample 片区, as the README shows it."""

import csv

from qgis.core import QgsVectorLayer

from fixtures.harness import qgis_process


def test_checkunits_runs_headless_on_the_sample(sample_gpkg, tmp_path):
    def layer(name):
        return f"{sample_gpkg}|layername={name}"

    table, conflicts = tmp_path / "check.csv", tmp_path / "conflicts.gpkg"
    completed = qgis_process(
        "run", "landconsolidation:checkunits", "--",
        f"UNITS={layer('DY')}", f"LANDUSE={layer('DLTB')}", f"PROJECTS={layer('XM')}", f"PBF={layer('YJJBNTTB')}",
        f"PBF_PLAN={layer('YJJBNTTB_GH')}", f"ECO_REDLINE={layer('STBHHX')}", f"UDB={layer('CZKFBJ')}",
        f"TOWNSHIPS={layer('XZQ')}", f"OUTPUT={table}", f"CONFLICTS={conflicts}")
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    with open(table, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {"scope", "scope_id", "rule_id", "value", "threshold", "unit", "status", "clause", "message"} <= set(rows[0])
    by_rule = {}
    for row in rows:
        by_rule.setdefault(row["rule_id"], []).append(row)
    assert len(by_rule) == 12
    assert {r["scope"] for r in by_rule["farmland_adjustment_share"]} == {"township"}
    assert all(len(r["scope_id"]) == 9 for r in by_rule["farmland_adjustment_share"])
    assert {r["scope_id"] for r in by_rule["eco_redline_construction"]} == {"DY01", "DY02", "DY03"}
    # The draft's deliberate mistakes are found, and drawn in the conflicts layer.
    failed = {(r["rule_id"], r["scope_id"]) for r in rows if r["status"] == "fail"}
    assert ("eco_industry_share", "DY01") in failed and ("scattered_parcels", "DY03") in failed
    drawn = QgsVectorLayer(str(conflicts), "conflicts", "ogr")
    assert {(f["rule_id"], f["scope_id"]) for f in drawn.getFeatures()} >= {("eco_industry_share", "DY01"),
                                                                              ("scattered_parcels", "DY03")}
    assert "核验完成" in completed.stdout
