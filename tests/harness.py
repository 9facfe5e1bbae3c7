"""Run the plugin as users do: in qgis_process and in the real QGIS desktop under Xvfb."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QGIS_PROCESS = ROOT / "tools" / "qgis-process"
PLUGINS_DIR = ROOT / ".build" / "plugins"


def venv_site_packages() -> str:
    import site

    return site.getsitepackages()[0] if sys.prefix != sys.base_prefix else ""


def qgis_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = env.get("QT_QPA_PLATFORM", "offscreen")
    site = venv_site_packages()
    if site:
        env["PYTHONPATH"] = site + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if Path("/usr/share/proj/proj.db").exists():
        env.setdefault("PROJ_DATA", "/usr/share/proj")
    env.update(extra or {})
    return env


def qgis_process(*args, timeout: int = 600, json_output: bool = False) -> subprocess.CompletedProcess:
    """Run ``tools/qgis-process`` (qgis_process with this checkout enabled)."""
    command = [str(QGIS_PROCESS)] + (["--json"] if json_output else []) + [str(a) for a in args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=qgis_env())


def run_desktop(script: str, workdir: Path, timeout: int = 180, locale: str = "zh-Hans",
                plugin_dir: Path | None = None, screen: str = "1600x1000x24") -> dict:
    """Start ``qgis.bin`` under Xvfb with the plugin enabled, run ``script`` and return its JSON.

    ``script`` is the body of a function ``check(result: dict, workdir: Path)`` that QGIS calls
    once the main window is up; it fills ``result`` and may save screenshots in ``workdir``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    profile = workdir / "profiles" / "default" / "QGIS"
    if profile.parent.exists():
        shutil.rmtree(profile.parent)
    profile.mkdir(parents=True)
    (profile / "QGIS3.ini").write_text(textwrap.dedent(f"""\
        [PythonPlugins]
        land_consolidation=true
        [locale]
        overrideFlag=true
        userLocale={locale}
        [qgis]
        showTips=false
        checkVersion=false
        """), encoding="utf-8")
    result_file = workdir / "result.json"
    result_file.unlink(missing_ok=True)
    code = workdir / "startup.py"
    code.write_text(
        "import json, traceback\n"
        "from pathlib import Path\n"
        "from qgis.PyQt.QtCore import QTimer\n"
        "from qgis.core import QgsApplication\n"
        "def check(result, workdir):\n" + textwrap.indent(textwrap.dedent(script), "    ") + "\n"
        "def _run():\n"
        "    result = {}\n"
        "    try:\n"
        f"        check(result, Path({str(workdir)!r}))\n"
        "    except Exception:\n"
        "        result['error'] = traceback.format_exc()\n"
        f"    Path({str(result_file)!r}).write_text(json.dumps(result, ensure_ascii=False), encoding='utf-8')\n"
        "    QgsApplication.exit(0)\n"
        "QTimer.singleShot(3000, _run)\n",
        encoding="utf-8")
    env = qgis_env({"QGIS_PLUGINPATH": str(plugin_dir or PLUGINS_DIR), "QT_QPA_PLATFORM": "xcb"})
    command = ["xvfb-run", "-a", "-s", f"-screen 0 {screen}", "qgis.bin", "--nologo", "--noversioncheck",
               "--profiles-path", str(workdir), "--code", str(code)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if not result_file.exists():
        raise RuntimeError(f"QGIS desktop wrote no result (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    return json.loads(result_file.read_text(encoding="utf-8"))
