"""The sample generator's clock, seeded draws and row ids (the lowest layer of :mod:`crmkit.sample`).

Every date is "days before ``as_of``" plus minutes of the day (:class:`Clock`),
so the same seed gives the same tables whatever day it runs.
"""

from __future__ import annotations

import string
import sys
import time

import numpy as np
import pandas as pd

from ..exceptions import UsageError
from ..i18n import msg, tr
from ..io.typing import coerce_frame
from ..schema import ENTITIES

#: The default "now" of sample workspaces: Friday 20 November 2026, 10:00.
DEFAULT_AS_OF = pd.Timestamp("2026-11-20 10:00")
#: Customers were created over this many days before as_of.
HISTORY_DAYS = 3 * 365
#: Average orders per customer when not given (prospects buy nothing, so buyers buy more).
DEFAULT_ORDERS_PER_CUSTOMER = 6.0
#: Data rows an Excel sheet can hold.
EXCEL_MAX_ROWS = 1_048_575


def positions(counts: np.ndarray) -> np.ndarray:
    """0..k-1 within each group of a ``np.repeat(..., counts)`` layout."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum()), dtype=np.int64) - starts


def choice(rng, options, n: int, p=None) -> np.ndarray:
    """``n`` draws from ``options`` (weights ``p``, normalised)."""
    options = np.asarray(options, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return options[rng.choice(len(options), size=n, p=p)]


def fill_template(template: str, frame: pd.DataFrame) -> pd.Series:
    """``"Hi {contact_name}"`` filled row by row from ``frame`` (vectorised)."""
    out = pd.Series("", index=frame.index, dtype="string")
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            out = out + literal
        if field:
            out = out + frame[field].astype("string").fillna("")
    return out


class Clock:
    """Turns 'days before as_of' + minutes of the day into timestamps."""

    def __init__(self, as_of: pd.Timestamp):
        self.as_of = pd.Timestamp(as_of).floor("min")
        self.today = self.as_of.normalize()
        self._today = np.datetime64(self.today.to_datetime64(), "m")
        self._now_min = int((self.as_of - self.today) / pd.Timedelta(minutes=1))

    def at(self, days_ago, minutes) -> np.ndarray:
        """datetime64[ns]: ``days_ago`` days before today at ``minutes`` after midnight."""
        days_ago = np.asarray(days_ago, dtype=np.int64)
        minutes = np.asarray(minutes, dtype=np.int64)
        v = self._today - (days_ago * 1440).astype("timedelta64[m]") + minutes.astype("timedelta64[m]")
        return v.astype("datetime64[ns]")

    def date(self, days_ago) -> np.ndarray:
        return self.at(days_ago, np.zeros(np.shape(days_ago), dtype=np.int64))

    def work_minutes(self, rng, days_ago) -> np.ndarray:
        """A working-hours time of day (08:30-18:30); before as_of's time on as_of's day."""
        days_ago = np.asarray(days_ago)
        m = rng.integers(510, 1110, size=days_ago.shape)
        early = rng.integers(480, max(self._now_min - 5, 481), size=days_ago.shape)
        return np.where(days_ago <= 0, early, m)

    def early_minutes(self, rng, n) -> np.ndarray:
        """Times of planted events: 08:00-09:50, before as_of's 10:00."""
        hi = min(self._now_min - 10, 590)
        return rng.integers(480, max(hi, 481), size=n)


def excel_guard(name: str, rows: int) -> None:
    """Refuse a sheet ``name`` of more rows than Excel holds."""
    if rows > EXCEL_MAX_ROWS:
        raise UsageError(msg("e_sample_too_many", rows=f"{rows:,}", name=name, max=f"{EXCEL_MAX_ROWS:,}"))


def typed_frame(df: pd.DataFrame, entity: str) -> pd.DataFrame:
    """Schema dtypes for a generated frame; index = Excel row number."""
    out = coerce_frame(df, ENTITIES[entity])
    out = out[[f.key for f in ENTITIES[entity].input_fields]]
    out.index = pd.RangeIndex(2, 2 + len(out), name="_row")
    return out


class Progress:
    """Timings on stderr while a workspace is generated (``progress=True``)."""

    def __init__(self, on: bool):
        self.on = on
        self.t0 = time.perf_counter()

    def __call__(self, text: str) -> None:
        if self.on:
            print(f"  [{time.perf_counter() - self.t0:6.1f}s] {tr(text)}", file=sys.stderr, flush=True)
