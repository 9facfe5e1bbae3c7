"""The plugin's Python logging, shown in QGIS's 「日志消息」 panel under the tab 「全域整治」.

Modules log with ``logging.getLogger(__name__)``: every logger of the plugin is a child of the
package logger (``land_consolidation``), which carries one handler that passes each record to
``QgsMessageLog`` (thread-safe: the panel's background tasks log from pooled threads). The
plugin installs it when it loads (``initProcessing``, which ``initGui`` calls too, so inside
``qgis_process`` as well) and removes it when it unloads; installing again reuses the handler,
so a plugin reload never doubles the messages.
"""

from __future__ import annotations

import logging

from qgis.core import Qgis, QgsMessageLog

TAG = "全域整治"  # the tab of the 「日志消息」 panel
PACKAGE = __name__.rsplit(".", 2)[0]  # "land_consolidation" (the plugin folder's name)
HANDLER_NAME = "land_consolidation.qgis_message_log"
WHERE_TO_LOOK = "详见“日志消息”面板的“全域整治”页"


def qgis_level(levelno: int) -> Qgis.MessageLevel:
    """QGIS's message level for a logging level (QGIS has no debug level: info shows it)."""
    if levelno >= logging.ERROR:
        return Qgis.MessageLevel.Critical
    if levelno >= logging.WARNING:
        return Qgis.MessageLevel.Warning
    return Qgis.MessageLevel.Info


class QgisMessageLogHandler(logging.Handler):
    """Each record as one QGIS log message (traceback included), under ``TAG``."""

    def __init__(self, tag: str = TAG):
        super().__init__()
        self.tag = tag
        self.installs = 0  # how many install() calls the handler serves (see uninstall)
        self.previous_level = logging.NOTSET  # the package logger's level before install()
        self.set_name(HANDLER_NAME)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            QgsMessageLog.logMessage(self.format(record), self.tag, qgis_level(record.levelno))
        except Exception:  # noqa: BLE001 - logging must never break the caller
            self.handleError(record)


def package_logger() -> logging.Logger:
    return logging.getLogger(PACKAGE)


def _ours(logger: logging.Logger) -> list:
    return [h for h in logger.handlers if h.get_name() == HANDLER_NAME]


def install(level: int = logging.INFO) -> QgisMessageLogHandler:
    """Bridge the package logger to the QGIS log (once: a second call returns the same handler).

    A handler left by an older copy of this module (a plugin reloaded without unloading) is
    replaced, so there is never more than one.
    """
    logger = package_logger()
    handler = None
    for existing in _ours(logger):
        if handler is None and isinstance(existing, QgisMessageLogHandler):
            handler = existing
        else:
            logger.removeHandler(existing)
    if handler is None:
        handler = QgisMessageLogHandler()
        handler.previous_level = logger.level
        logger.addHandler(handler)
    handler.installs += 1
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler


def uninstall() -> None:
    """Undo one install(); the handler goes with the last one (plugin unload)."""
    logger = package_logger()
    for handler in _ours(logger):
        handler.installs = getattr(handler, "installs", 1) - 1
        if handler.installs <= 0:
            logger.removeHandler(handler)
            logger.setLevel(getattr(handler, "previous_level", logging.NOTSET))
            handler.close()
