"""Sending hours: working days, public holidays, make-up working days.

A message may be sent inside the send window (Settings ``send_window_start``
to ``send_window_end``, default 09:00-18:00) on a working day.  A working day
is a weekday that is not a public holiday, or a weekend day the government
declared a make-up working day (调休上班).  Public holidays and make-up days
come from the ``holidays`` library for ``holiday_region`` (default CN), plus
the days the user lists in Settings ``extra_holidays`` and
``makeup_workdays`` (official schedules are announced year by year).

:func:`next_send_time` moves whole columns of wished times to the next
allowed moment, vectorised with a sorted array of working days.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

import numpy as np
import pandas as pd


def _dates(values) -> set[_dt.date]:
    out = set()
    for v in values or ():
        try:
            ts = pd.Timestamp(str(v).strip())
        except (ValueError, TypeError):
            continue
        if not pd.isna(ts):
            out.add(ts.date())
    return out


@lru_cache(maxsize=32)
def _library_calendar(region: str, years: tuple[int, ...]) -> tuple[frozenset, frozenset]:
    """(public holidays, make-up working weekend days) from the ``holidays`` library."""
    region = (region or "").strip().upper()
    if not region or region in ("NONE", "-", "NO"):
        return frozenset(), frozenset()
    import holidays  # imported lazily: keeps `import crmkit` fast

    try:
        cal = holidays.country_holidays(region, years=list(years))
    except (NotImplementedError, KeyError, AttributeError):
        return frozenset(), frozenset()
    off = frozenset(d for d in cal.keys() if d.year in years)
    work = frozenset(d for d in getattr(cal, "weekend_workdays", ()) if d.year in years)
    return off, work


class WorkCalendar:
    """Working days and the daily send window of a workspace."""

    def __init__(self, settings: dict | None = None, *, years: range | None = None):
        settings = settings or {}
        self.start: _dt.time = settings.get("send_window_start") or _dt.time(9, 0)
        self.end: _dt.time = settings.get("send_window_end") or _dt.time(18, 0)
        if self.end <= self.start:
            self.end = _dt.time(23, 59, 59)
        self.region = str(settings.get("holiday_region") or "CN")
        self.extra_holidays = _dates(settings.get("extra_holidays"))
        self.makeup_workdays = _dates(settings.get("makeup_workdays"))
        self._years: tuple[int, ...] = ()
        self._workdays = np.array([], dtype="datetime64[D]")
        if years is not None:
            self._build(tuple(years))

    def _build(self, years: tuple[int, ...]) -> None:
        off, work = _library_calendar(self.region, years)
        off = (set(off) | self.extra_holidays) - self.makeup_workdays
        work = set(work) | self.makeup_workdays
        days = pd.date_range(f"{years[0]}-01-01", f"{years[-1]}-12-31", freq="D")
        d = days.date
        weekday = days.day_of_week < 5
        is_off = np.fromiter((x in off for x in d), bool, len(d))
        is_work = np.fromiter((x in work for x in d), bool, len(d))
        ok = (weekday & ~is_off) | is_work
        self._years = years
        self._workdays = days[ok].values.astype("datetime64[D]")

    def _ensure(self, lo: pd.Timestamp, hi: pd.Timestamp) -> None:
        want = range(lo.year - 1, hi.year + 2)
        if not self._years or self._years[0] > want.start or self._years[-1] < want.stop - 1:
            lo_y = min(want.start, self._years[0]) if self._years else want.start
            hi_y = max(want.stop - 1, self._years[-1]) if self._years else want.stop - 1
            self._build(tuple(range(lo_y, hi_y + 1)))

    def is_working_day(self, day) -> bool:
        ts = pd.Timestamp(day).normalize()
        self._ensure(ts, ts)
        d = np.datetime64(ts.date(), "D")
        i = np.searchsorted(self._workdays, d)
        return bool(i < len(self._workdays) and self._workdays[i] == d)

    def next_send_time(self, when: pd.Series | pd.Timestamp) -> pd.Series | pd.Timestamp:
        """The first allowed send moment at or after each time in ``when``."""
        scalar = not isinstance(when, pd.Series)
        s = pd.Series([when]) if scalar else when
        s = pd.to_datetime(s).astype("datetime64[ns]")
        valid = s.notna()
        out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        if valid.any():
            v = s[valid]
            self._ensure(v.min(), v.max())
            day = v.dt.normalize()
            tod = v - day
            start = pd.Timedelta(hours=self.start.hour, minutes=self.start.minute, seconds=self.start.second)
            end = pd.Timedelta(hours=self.end.hour, minutes=self.end.minute, seconds=self.end.second)
            days_arr = day.values.astype("datetime64[D]")
            idx = np.searchsorted(self._workdays, days_arr)
            idx = np.minimum(idx, len(self._workdays) - 1)
            first = self._workdays[idx]                       # first working day >= day
            same_day = first == days_arr
            late = same_day & (tod.values >= end.to_timedelta64())
            nxt_idx = np.minimum(idx + late.astype(int), len(self._workdays) - 1)
            target_day = self._workdays[nxt_idx]
            target = pd.to_datetime(target_day).values.astype("datetime64[ns]")
            in_window = same_day & ~late & (tod.values >= start.to_timedelta64())
            res = np.where(in_window, v.values, target + start.to_timedelta64())
            out[valid] = res
        return out.iloc[0] if scalar else out


def next_send_time(when, settings: dict | None = None):
    """Shortcut: :meth:`WorkCalendar.next_send_time` with a workspace's settings."""
    return WorkCalendar(settings).next_send_time(when)
