"""Data quality: completeness of customer records and duplicate groups."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..dedupe import find_duplicates
from ..derived import completeness_scores, filled_frame
from ..schema import ENTITIES
from .common import ratio


def customer_completeness(customers: pd.DataFrame, fields: Iterable[str] | None = None) -> pd.Series:
    """Per customer: the share of ``fields`` (default: the schema's completeness fields) that are filled.

    The score :func:`crmkit.derived.completeness_scores` computes for validation and the rules too.
    """
    return completeness_scores(customers, "customers", list(fields or ()) or None)[0]


def completeness(customers: pd.DataFrame, target: float = 0.9, fields: Iterable[str] | None = None) -> pd.DataFrame:
    """Data completeness of the customers, per field.

    One row per field of ``fields`` (default: the schema's completeness fields of
    customers, the fields validation counts too):
    ``field``, ``filled`` (customers with a value), ``customers`` (all),
    ``rate = filled / customers`` and ``ok = rate >= target``.  The overall
    completeness (the mean of the per-customer shares, which equals the mean
    of these rates; 1.0 without customers, as in validation) is in
    ``df.attrs["overall"]`` and ``df.attrs["customers_below_target"]`` counts
    customers under the target.
    """
    fields = list(fields or ENTITIES["customers"].completeness_fields)
    n = len(customers)
    got = filled_frame(customers, fields)
    out = pd.DataFrame({"field": pd.array(fields, dtype="string"), "filled": got.sum(axis=0).to_numpy(dtype="int64"),
                        "customers": np.full(len(fields), n, dtype="int64")})
    out["rate"] = ratio(out["filled"], out["customers"])
    out["ok"] = pd.array(out["rate"] >= target, dtype="boolean")
    per = got.mean(axis=1).astype("float64")
    out.attrs["overall"] = float(per.mean()) if n else 1.0
    out.attrs["customers_below_target"] = int((per < target).sum())
    out.attrs["target"] = float(target)
    return out


def duplicates(customers: pd.DataFrame, keys: Iterable[str] | None = None, *, region: str | None = "CN") -> pd.DataFrame:
    """Possible duplicate customers per match key (via :func:`crmkit.dedupe.find_duplicates`).

    One row per key that matched: ``key``, ``groups`` (groups with a member
    matched on that key) and ``customers`` (customers matched on that key).
    A group found through several keys appears under each, so the totals are
    in ``df.attrs["groups"]`` (distinct groups, as ``crmkit dedupe`` counts
    them) and ``df.attrs["customers"]`` (customers in any group).
    """
    found = find_duplicates(customers, keys=list(keys) if keys else None, region=region)
    if found is None or len(found) == 0:
        out = pd.DataFrame({"key": pd.array([], dtype="string"), "groups": pd.Series(dtype="int64"),
                            "customers": pd.Series(dtype="int64")})
        out.attrs.update(groups=0, customers=0)
        return out
    g = found.groupby("key").agg(groups=("group", "nunique"), customers=("customer_id", "count")).reset_index()
    g["key"] = g["key"].astype("string")
    g = g.astype({"groups": "int64", "customers": "int64"})
    g.attrs.update(groups=int(found["group"].nunique()), customers=int(len(found)))
    return g
