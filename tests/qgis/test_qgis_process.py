"""The plugin as users meet it headless: qgis_process lists the provider and shows its help.

The desktop under Xvfb: ``tests/desktop/test_desktop.py``.
"""

from fixtures.harness import qgis_process


def test_qgis_process_lists_the_provider_and_its_algorithms():
    completed = qgis_process("list")
    assert completed.returncode == 0, completed.stderr
    assert "全域整治" in completed.stdout  # the provider in the interface language (tests run in Chinese)
    assert "landconsolidation:checkunits" in completed.stdout


def test_qgis_process_help_shows_parameters_and_conventions():
    completed = qgis_process("help", "landconsolidation:checkunits")
    assert completed.returncode == 0, completed.stderr
    for parameter in ("UNITS", "UNIT_ID_FIELD", "LANDUSE", "PROJECTS", "PBF", "PBF_PLAN", "ECO_REDLINE", "UDB",
                      "UDB_PLAN", "TOWNSHIPS", "RULESET", "OUTPUT", "CONFLICTS"):
        assert parameter in completed.stdout
    assert "椭球面积" in completed.stdout
