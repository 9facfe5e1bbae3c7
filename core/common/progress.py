"""Progress and cancellation without Qt: callers pass plain callables.

Processing algorithms wrap ``QgsProcessingFeedback``; the dock panel wraps a ``QgsTask``.
"""

from __future__ import annotations

from typing import Callable

from .errors import Cancelled
from .i18n import tr


class Progress:
    def __init__(self, report: Callable[[float, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None):
        self._report = report
        self._cancelled = cancelled

    def is_cancelled(self) -> bool:
        return self._cancelled is not None and bool(self._cancelled())

    def step(self, percent: float, text: str = "") -> None:
        """Report progress (0–100) and stop here if the caller cancelled."""
        if self._cancelled is not None and self._cancelled():
            raise Cancelled(tr("已取消。"))
        if self._report is not None:
            self._report(percent, text)

    def scaled(self, start: float, stop: float) -> Progress:
        """The same progress for one stage, its 0–100 mapped onto ``start``–``stop``."""
        report = self._report
        return Progress(report=None if report is None else (
            lambda percent, text: report(start + (stop - start) * percent / 100.0, text)), cancelled=self._cancelled)


SILENT = Progress()
