"""Where the plugin's files are, and its version (no Qt here)."""

import configparser
from functools import lru_cache
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parents[2]
RESOURCES_DIR = PLUGIN_DIR / "resources"
ICONS_DIR = RESOURCES_DIR / "icons"
I18N_DIR = RESOURCES_DIR / "i18n"


def icon_path(name: str = "icon.svg") -> str:
    return str(ICONS_DIR / name)


@lru_cache(maxsize=1)
def plugin_metadata() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PLUGIN_DIR / "metadata.txt", encoding="utf-8")
    return dict(parser["general"])


def plugin_version() -> str:
    return plugin_metadata().get("version", "")
