"""Report periods: calendar weeks and months, their bounds, and membership of timestamps."""

from __future__ import annotations

import datetime as _dt_mod
import re
from typing import NamedTuple

import pandas as pd

from ..i18n import msg

#: Report periods: name -> length.
PERIODS = {"week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1)}


def period_bounds(as_of: object, period: str = "month", *, previous: bool = False) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` of the report period ending at ``as_of``: ``start < t <= end``.

    ``week`` is the 7 days up to as_of, ``month`` the calendar month length
    up to as_of (e.g. 2026-10-20 10:00 to 2026-11-20 10:00).  With
    ``previous`` the period just before it.
    """
    if period not in PERIODS:
        from ..exceptions import UsageError

        raise UsageError(msg("e_period", period=repr(period)))
    end = pd.Timestamp(as_of)
    start = end - PERIODS[period]
    if previous:
        end, start = start, start - PERIODS[period]
    return start, end


class CalendarPeriod(NamedTuple):
    """A calendar month or a Monday-to-Sunday week: ``start <= t < end`` (``label`` e.g. 2026-11, 2026-W47)."""

    start: pd.Timestamp
    end: pd.Timestamp

    closed = "left"

    @property
    def label(self) -> str:
        if self.end - self.start <= pd.Timedelta(days=7):
            iso = self.start.isocalendar()
            return f"{iso[0]}-W{iso[1]:02d}"
        return f"{self.start:%Y-%m}"


def calendar_period(as_of: object, period: str = "month", *, month: str | None = None, week: str | None = None,
                    previous: bool = False) -> CalendarPeriod:
    """The calendar month or ISO week (Monday to Sunday) of a report.

    By default the last full period before ``as_of``'s day (as of
    2026-11-20: October 2026, or the week 2026-11-09 to 2026-11-15);
    ``month="2026-11"`` or ``week="2026-W47"`` chooses another.
    ``previous`` gives the calendar period just before it.
    """
    from ..exceptions import UsageError

    if period not in PERIODS:
        raise UsageError(f"unknown period {period!r}: use week or month")
    if period == "month":
        if week is not None:
            raise UsageError("--week goes with --period week")
        if month is not None:
            m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(month))
            if not m or not 1 <= int(m.group(2)) <= 12:
                raise UsageError(f"cannot read the month {month!r}: write it as YYYY-MM, e.g. 2026-11")
            start = pd.Timestamp(int(m.group(1)), int(m.group(2)), 1)
        else:
            day = pd.Timestamp(as_of).normalize()
            start = (day.replace(day=1) - pd.DateOffset(months=1)).normalize()
        if previous:
            start = start - pd.DateOffset(months=1)
        end = start + pd.DateOffset(months=1)
        return CalendarPeriod(start, end)
    if month is not None:
        raise UsageError("--month goes with --period month")
    if week is not None:
        m = re.fullmatch(r"\s*(\d{4})-?[Ww](\d{1,2})\s*", str(week))
        try:
            start = pd.Timestamp(_dt_mod.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)) if m else None
        except ValueError:
            start = None
        if start is None:
            raise UsageError(f"cannot read the week {week!r}: write it as YYYY-Www (ISO week, Monday first), "
                             "e.g. 2026-W47")
    else:
        day = pd.Timestamp(as_of).normalize()
        start = day - pd.Timedelta(days=day.weekday() + 7)      # Monday of the last full week
    if previous:
        start = start - pd.Timedelta(days=7)
    return CalendarPeriod(start, start + pd.Timedelta(days=7))


def in_period(values: pd.Series, bounds: tuple[pd.Timestamp, pd.Timestamp]) -> pd.Series:
    """Boolean mask: ``start < value <= end`` (``start <= value < end`` for a :class:`CalendarPeriod`);
    blank values are outside."""
    v = pd.to_datetime(values, errors="coerce")
    if getattr(bounds, "closed", "right") == "left":
        return ((v >= bounds[0]) & (v < bounds[1])).fillna(False).astype(bool)
    return ((v > bounds[0]) & (v <= bounds[1])).fillna(False).astype(bool)
