"""Regenerate the report templates in resources/templates (``make templates``).

- 单元方案模板.docx: the Word styles the report is written with (replaceable by an institute's own);
- 单元方案附图.qpt: the map layout (title, map, legend, scale bar, north arrow, notes).

``--only docx`` or ``--only qpt`` regenerates one of them (the .qpt's XML carries the writing
QGIS's version: regenerate it only when the layout itself changes).
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".build" / "plugins"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("docx", "qpt"), help="regenerate this template only")
    only = parser.parse_args().only
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from land_consolidation.report.docx_writer import DEFAULT_TEMPLATE, make_template
    from land_consolidation.report.layout_template import make_layout_template

    if only in (None, "docx"):
        make_template(DEFAULT_TEMPLATE)
        print(DEFAULT_TEMPLATE)
    if only in (None, "qpt"):
        print(make_layout_template())
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
