"""Regenerate the report templates in resources/templates (``make templates``).

- 单元方案模板.docx: the Word styles the report is written with (replaceable by an institute's own);
- 单元方案附图.qpt: the map layout (title, map, legend, scale bar, north arrow, notes).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".build" / "plugins"))


def main():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from land_consolidation.report.docx_writer import DEFAULT_TEMPLATE, make_template
    from land_consolidation.report.layout_template import make_layout_template

    make_template(DEFAULT_TEMPLATE)
    print(DEFAULT_TEMPLATE)
    print(make_layout_template())
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
