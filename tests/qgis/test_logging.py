"""The plugin logs to QGIS's 「日志消息」 panel (tab 「全域整治」): an unexpected failure of the panel's
computation arrives there with its traceback, while the planner reads a short message saying where
to look; installing the bridge twice (a plugin reload) never doubles a message."""

import logging
import time

import pytest
from qgis.core import Qgis, QgsApplication

import land_consolidation
from fixtures.panel import wait_until_idle
from land_consolidation.qgis_bridge import log


@pytest.fixture()
def qgis_log(qgis_app):
    """Every (message, tag, level) QGIS's message log receives during the test."""
    messages = []

    def receive(message, tag, level):
        messages.append((message, tag, level))

    signal = QgsApplication.messageLog().messageReceived[str, str, Qgis.MessageLevel]
    signal.connect(receive)
    yield messages
    signal.disconnect(receive)


@pytest.fixture()
def plugin_logging(qgis_app):
    """The bridge as the plugin installs it when it loads (the dock fixture builds the panel alone)."""
    handler = log.install()
    yield handler
    log.uninstall()


def ours(messages, text=""):
    return [(m, level) for m, tag, level in messages if tag == log.TAG and text in m]


def process_until(condition, timeout=20.0):
    """Run the event loop (a task's finished() and messages logged on a pooled thread arrive there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QgsApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def explode_in_update(*_args, **_kwargs):
    """Stands in for a bug in the engine."""
    return 1 / 0


def test_an_unexpected_error_in_the_panel_reaches_the_qgis_log_with_its_traceback(
        dock, project_layers, qgis_log, plugin_logging, monkeypatch):
    dock.auto_detect()
    dock.apply()
    wait_until_idle(dock.controller)
    errors = []
    dock.controller.errorRaised.connect(errors.append)
    monkeypatch.setattr(dock.controller.live, "update", explode_in_update)
    dock.controller.note(dock.controller._pending.everything())  # as an edit does: a task computes
    assert process_until(lambda: errors and ours(qgis_log, "ZeroDivisionError")), (errors, qgis_log)

    logged = ours(qgis_log, "ZeroDivisionError")
    assert len(logged) == 1, logged
    text, level = logged[0]
    assert level == Qgis.MessageLevel.Critical
    assert "Traceback (most recent call last)" in text
    assert "explode_in_update" in text and "return 1 / 0" in text  # the frame that failed, with its line
    assert "land_consolidation.ui.live_controller" in text  # which module logged it

    # The planner reads one short line that says where the details are, not the traceback.
    shown = errors[0]
    assert errors == [shown] and "ZeroDivisionError" in shown and "Traceback" not in shown
    assert "日志消息" in shown and "全域整治" in shown
    # with earlier figures on screen the banner above them carries it; the status line says they are stale
    assert dock.staleBanner.isVisibleTo(dock) and dock.staleBanner.text().endswith(shown)
    assert "已过期" in dock.statusLabel.text()
    assert dock.controller.last_error == shown
    assert "explode_in_update" in dock.controller.last_traceback


def test_an_error_the_engine_explains_is_a_warning_without_traceback(dock, project_layers, qgis_log,
                                                                     plugin_logging, monkeypatch):
    from land_consolidation.core.common.errors import LandConsolidationError

    dock.auto_detect()
    dock.apply()
    wait_until_idle(dock.controller)
    errors = []
    dock.controller.errorRaised.connect(errors.append)

    def refuse(*_args, **_kwargs):
        raise LandConsolidationError("图层“DY”要素 1：几何无效")

    monkeypatch.setattr(dock.controller.live, "update", refuse)
    dock.controller.note(dock.controller._pending.everything())
    assert process_until(lambda: errors and ours(qgis_log, "几何无效")), (errors, qgis_log)
    logged = ours(qgis_log, "几何无效")
    assert len(logged) == 1 and logged[0][1] == Qgis.MessageLevel.Warning, logged
    assert "Traceback" not in logged[0][0]
    assert errors == ["图层“DY”要素 1：几何无效"]  # shown as the engine wrote it
    assert dock.controller.last_traceback is None


def test_installing_twice_logs_each_message_once(qgis_log):
    logger = logging.getLogger("land_consolidation.tests.probe")
    before = len(log._ours(log.package_logger()))
    first, second = log.install(), log.install()
    try:
        assert first is second and len(log._ours(log.package_logger())) == 1
        logger.warning("一条消息")
        assert len(ours(qgis_log, "一条消息")) == 1
        logger.info("一条说明")  # info messages pass too (the package logger is set to INFO)
        assert ours(qgis_log, "一条说明") == [("land_consolidation.tests.probe: 一条说明", Qgis.MessageLevel.Info)]
    finally:
        log.uninstall()
        log.uninstall()
    assert len(log._ours(log.package_logger())) == before


def test_a_handler_left_by_an_older_copy_of_the_module_is_replaced(qgis_log):
    """A plugin reloaded without its unload: the module's new class replaces the old handler."""
    package = log.package_logger()
    stale = logging.Handler()
    stale.set_name(log.HANDLER_NAME)
    package.addHandler(stale)
    before = [h for h in log._ours(package) if h is not stale]
    log.install()
    try:
        assert stale not in package.handlers and len(log._ours(package)) == 1
    finally:
        log.uninstall()
        package.removeHandler(stale)
    assert len(log._ours(package)) == len(before)


def test_the_plugin_installs_the_bridge_on_load_and_removes_it_on_unload(qgis_log, qgis_processing):
    package = log.package_logger()
    before = len(log._ours(package))  # the test session's own plugin instance may have one
    logger = logging.getLogger("land_consolidation.tests.reload")
    for attempt in range(2):  # load, unload, load again (a reload)
        plugin = land_consolidation.classFactory(None)
        plugin.initProcessing()
        plugin.initProcessing()  # a second call (initGui calls it again) installs nothing more
        try:
            assert len(log._ours(package)) == 1
            logger.warning("载入 %d", attempt)
            assert len(ours(qgis_log, f"载入 {attempt}")) == 1
        finally:
            plugin.unload()
        assert len(log._ours(package)) == before


def test_logging_levels_map_to_qgis_message_levels():
    assert log.qgis_level(logging.DEBUG) == Qgis.MessageLevel.Info
    assert log.qgis_level(logging.INFO) == Qgis.MessageLevel.Info
    assert log.qgis_level(logging.WARNING) == Qgis.MessageLevel.Warning
    assert log.qgis_level(logging.ERROR) == Qgis.MessageLevel.Critical
    assert log.qgis_level(logging.CRITICAL) == Qgis.MessageLevel.Critical
