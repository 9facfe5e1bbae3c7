"""Translation helper shared by the engine, the algorithms and the UI.

Source strings are Simplified Chinese (the planners' language); other languages
come from Qt translation files in ``resources/i18n``. Outside Qt (pure engine
tests) the text is returned unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import os

    from qgis.PyQt.QtCore import QTranslator

CONTEXT = "LandConsolidation"

try:  # Qt is present inside QGIS; the engine must also run without it.
    from qgis.PyQt.QtCore import QCoreApplication

    def tr(text: str, context: str = CONTEXT) -> str:
        return QCoreApplication.translate(context, text)

except ImportError:  # pragma: no cover - exercised only without PyQGIS

    def tr(text: str, context: str = CONTEXT) -> str:
        return text


def translatable(text: str) -> str:
    """Mark a string for translation where it is defined; ``tr()`` it where it is shown."""
    return text


def interface_locale() -> str:
    """QGIS's interface language as a Qt locale name ('zh-Hans' → 'zh_CN')."""
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import QLocale

    settings = QgsSettings()
    override = str(settings.value("locale/overrideFlag", False)).lower() in ("true", "1")
    name = str(settings.value("locale/userLocale", "")) if override else ""
    name = name or QLocale.system().name()
    name = name.replace("-", "_")
    if name.lower().startswith("zh"):
        return "zh_CN"  # QGIS names Simplified Chinese zh-Hans; our source strings are zh_CN
    return name


def interface_language() -> str:
    """'zh' or 'en': the one language the plugin's own texts (provider name, help) are shown in.

    Chinese when QGIS's interface language is Chinese or unset (the "C" locale: the source
    language fits), English otherwise. Outside QGIS (pure engine) the source language, 'zh'.
    """
    try:
        locale = interface_locale()
    except ImportError:  # pragma: no cover - exercised only without PyQGIS
        return "zh"
    return "zh" if locale.lower().startswith("zh") or locale in ("C", "") else "en"


def install_translator(i18n_dir: str | os.PathLike[str]) -> QTranslator | None:
    """Load the plugin's translation for the interface language; None when the source language fits."""
    from pathlib import Path

    from qgis.PyQt.QtCore import QCoreApplication, QTranslator

    locale = interface_locale()
    if locale.startswith("zh") or locale in ("C", ""):
        return None
    for candidate in (locale, locale.split("_")[0]):
        path = Path(i18n_dir) / f"land_consolidation_{candidate}.qm"
        if path.exists():
            translator = QTranslator()
            if translator.load(str(path)):
                QCoreApplication.installTranslator(translator)
                return translator
    return None
