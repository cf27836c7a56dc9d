"""The daily job: ``crmkit cycle DIR`` — validate, run the rules, send, score RFM, write due reports.

One locked run (the workspace lock is held from the first check to the last
write, so no form, import or second cycle slips in between):

1. **Validate.**  Errors stop the cycle before it acts (exit 1): rules that
   run on broken data would act on it.  Warnings do not stop it.  The
   delivery Settings are checked too (a channel that is set up but cannot be
   used): a cycle that would stop at sending does not start acting.
2. **Rules** as of the cycle time (:func:`crmkit.rules.engine.run_rules`).
3. **Send** the messages that are due (:func:`crmkit.delivery.send.send_messages`).
4. **RFM**: scores, segments and value tiers written into Customers.
5. **Reports**: for each period in Settings ``cycle_reports`` (default week
   and month), the report of the last full period is written when its file
   (``reports/report-week-2026-W48.xlsx``...) does not exist yet: a cycle run
   every day writes each report once, on the first day it is due.

:class:`DailyCycle` runs the cycle every day at Settings ``cycle_at`` inside
``crmkit dashboard``, for teams without cron.

Example::

    >>> result = run_cycle("my-crm")                    # doctest: +SKIP
    >>> result.exit_code, result.as_dict()["send"]["sent"]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .console import clean_text
from .delivery.send import send_messages
from .delivery.transports import transports_from_settings
from .exceptions import CrmkitError
from .i18n import t
from .io.journal import workspace_lock
from .report import default_report_path, write_report
from .rfm import apply_rfm, summary_payload
from .rules.engine import run_rules
from .validate import validate_workspace
from .workspace import open_workspace


@dataclass
class CycleResult:
    """What one cycle did: each step's own summary (None for a step that did not run)."""

    as_of: pd.Timestamp
    lang: str
    validation: dict
    run: dict | None = None
    send: dict | None = None
    rfm: dict | None = None
    reports: list[str] = field(default_factory=list)
    failed_step: str | None = None       # "validate" or "settings" when errors stopped the cycle
    problem: str | None = None           # the Settings problem that stopped it

    @property
    def stopped(self) -> bool:
        return self.failed_step is not None

    @property
    def exit_code(self) -> int:
        """1 when validation stopped the cycle, a rule failed, or messages failed or were left sending."""
        if self.stopped or (self.run and self.run.get("errors")):
            return 1
        if self.send and (self.send.get("failed") or self.send.get("left_sending")):
            return 1
        return 0

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(sep=" "), "stopped": self.failed_step, "problem": self.problem,
                "validation": self.validation,
                "run": self.run, "send": self.send, "rfm": self.rfm, "reports": self.reports}

    def text(self, lang: str | None = None) -> str:
        """One summary, a line per step, in ``lang`` (default: the workspace language)."""
        lang = lang or self.lang
        v = self.validation
        lines = [f"{t('cyc_title', lang)} {self.as_of:%Y-%m-%d %H:%M}",
                 f"  {t('cyc_validate', lang)}: {v['errors']} {t('cyc_errors', lang)}, "
                 f"{v['warnings']} {t('cyc_warnings', lang)}"]
        if self.failed_step == "settings":
            lines.append(f"  {t('cyc_stopped_settings', lang)}: {self.problem}")
            return clean_text("\n".join(lines))
        if self.stopped:
            lines.append(f"  {t('cyc_stopped', lang)}")
            return clean_text("\n".join(lines))
        if self.run is not None:
            lines.append(f"  {t('cyc_rules', lang)}: {self.run['actions']} {t('cyc_actions', lang)}, "
                         f"{self.run['suppressed']} {t('run_suppressed', lang)}, "
                         f"{len(self.run['errors'])} {t('cyc_errors', lang)}")
        if self.send is not None:
            s = self.send
            lines.append(f"  {t('cyc_send', lang)}: {s.get('sent', 0)} {t('cyc_sent', lang)}, "
                         f"{s.get('failed', 0)} {t('cyc_failed', lang)}, "
                         f"{_total(s.get('suppressed'))} {t('run_suppressed', lang)}, "
                         f"{_total(s.get('deferred'))} {t('cyc_deferred', lang)}"
                         + (f", {len(s['left_sending'])} {t('cyc_left_sending', lang)}" if s.get("left_sending") else ""))
            if s.get("next_window") and _total(s.get("deferred")):
                lines.append(f"  {t('cyc_outside_hours', lang)} {pd.Timestamp(s['next_window']):%Y-%m-%d %H:%M}")
        if self.rfm is not None:
            lines.append(f"  RFM: {self.rfm['customers']} {t('cyc_customers', lang)}")
        lines.append(f"  {t('cyc_reports', lang)}: " + (", ".join(Path(p).name for p in self.reports)
                                                        if self.reports else t("cyc_none_due", lang)))
        return clean_text("\n".join(lines))


def _total(v) -> int:
    if isinstance(v, dict):
        return int(sum(v.values()))
    return int(v or 0)


def run_cycle(workspace: str | os.PathLike, *, as_of: object = None, wait: float | None = None,
              progress: bool = False) -> CycleResult:
    """Run the daily cycle on ``workspace`` as of ``as_of`` (default: Settings' as_of, else now)."""
    path = Path(workspace)
    with workspace_lock(path, wait=wait if wait is not None else 0):
        ws = open_workspace(path)
        when = ws.as_of(as_of)
        lang = ws.lang
        rep = validate_workspace(ws)
        result = CycleResult(when, lang, {"errors": int(rep.errors), "warnings": int(rep.warnings)})
        if not rep.ok:
            result.failed_step = "validate"
            return result
        try:            # the delivery Settings too: a cycle that would stop at sending does not start acting
            for transport in transports_from_settings(ws.settings, os.environ, folder=path).values():
                transport.close()
        except CrmkitError as exc:
            result.failed_step = "settings"
            result.problem = exc.text(lang) if not exc.place else f"{exc.place}: {exc.text(lang)}"
            return result
        result.run = run_rules(ws, as_of=when, progress=progress).summary()
        result.send = send_messages(path, as_of=when, progress=progress).as_dict()
        ws = open_workspace(path)
        result.rfm = summary_payload(apply_rfm(ws, when), when)
        for period in due_periods(ws.settings.get("cycle_reports")):
            target = default_report_path(ws, period, when)
            if not target.exists():
                result.reports.append(str(write_report(ws, period, when)))
        return result


def due_periods(setting: object) -> tuple[str, ...]:
    """The report periods a cycle keeps up to date (Settings ``cycle_reports``: week; month; or none)."""
    if setting is None:
        return ("week", "month")
    words = [str(x).strip().lower() for x in (setting if isinstance(setting, (list, tuple)) else [setting])]
    out = []
    for w in words:
        code = {"week": "week", "weekly": "week", "周": "week", "周报": "week",
                "month": "month", "monthly": "month", "月": "month", "月报": "month"}.get(w)
        if code and code not in out:
            out.append(code)
    return tuple(out)


class DailyCycle(threading.Thread):
    """Runs :func:`run_cycle` every day at ``at`` (a time of day) until :meth:`stop`.

    ``now`` and ``report`` are injectable (tests, and the dashboard, which
    prints each cycle's summary).  A cycle that fails reports its error and the
    next day's cycle still runs.
    """

    def __init__(self, workspace: str | os.PathLike, at: _dt.time, *,
                 report: Callable[[str], None] = print, now: Callable[[], pd.Timestamp] | None = None,
                 wait: float = 600, poll: float = 60):
        super().__init__(name="crmkit-daily-cycle", daemon=True)
        self.workspace = Path(workspace)
        self.at = at
        self.report = report
        self.now = now or (lambda: pd.Timestamp.now())
        self.wait = wait
        self.poll = poll             # how often the clock is looked at while waiting (seconds)
        self.runs = 0
        self._stop_event = threading.Event()

    def next_time(self, after: pd.Timestamp) -> pd.Timestamp:
        """The first ``at`` strictly after ``after``."""
        at = pd.Timestamp.combine(after.date(), self.at)
        return at if at > after else at + pd.Timedelta(days=1)

    def run(self) -> None:
        due = self.next_time(self.now())
        while not self._stop_event.is_set():
            left = (due - self.now()).total_seconds()
            if left > 0:
                self._stop_event.wait(min(left, self.poll))
                continue
            try:
                res = run_cycle(self.workspace, wait=self.wait)
                self.report(res.text())
            except CrmkitError as exc:
                self.report(f"crmkit cycle: {exc}")
            except Exception as exc:  # noqa: BLE001 - one bad day must not stop the timer for every later day
                self.report(f"crmkit cycle: {type(exc).__name__}: {exc}")
            self.runs += 1
            due = self.next_time(max(due, self.now()))

    def stop(self) -> None:
        self._stop_event.set()
