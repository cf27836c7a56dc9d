"""A fast synthetic workspace for the benchmarks (numpy, vectorised).

The benchmarks prefer crmkit's own sample generator (:mod:`crmkit.sample`);
this module stands in while that generator is not available, and builds the
100k-row import file.  Values are canonical codes drawn from the schema's
enumerations, dates spread over the two years before the as-of date, so the
default rules find work to do (quiet customers, contracts ending, fresh leads).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2026-11-20 10:00")
VERSION = "synth-2"
#: allocated Chinese mobile prefixes (numbers that phonenumbers accepts as valid)
MOBILE_PREFIXES = np.array(["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158",
                            "159", "186", "187", "188", "189"])


def _codes(entity: str, field: str) -> np.ndarray:
    from crmkit.schema import enum_for

    enum = enum_for(entity, field)
    return np.array(enum.codes, dtype=object)


def _dates(rng, n: int, days_back: int, *, as_of: pd.Timestamp = AS_OF, times: bool = False) -> pd.Series:
    secs = rng.integers(0, days_back * 86400, n) if times else rng.integers(0, days_back, n) * 86400
    return pd.Series(as_of.normalize() - pd.to_timedelta(secs, unit="s"), dtype="datetime64[ns]")


def customers_frame(n: int, seed: int = 7, *, prefix: str = "C", as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    """``n`` customers with every input field filled in a plausible way."""
    rng = np.random.default_rng(seed)
    ids = pd.Series([f"{prefix}{i:07d}" for i in range(1, n + 1)], dtype="string")
    owners = np.array(["Alex Chen", "Sam Patel", "Jordan Kim", "Taylor Brooks"], dtype=object)
    df = pd.DataFrame({
        "customer_id": ids,
        "name": pd.Series([f"Company {i}" for i in range(1, n + 1)], dtype="string"),
        "contact_name": pd.Series([f"Contact {i}" for i in range(1, n + 1)], dtype="string"),
        "title": pd.Series(rng.choice(np.array(["CEO", "CTO", "Buyer", "Manager"], dtype=object), n), dtype="string"),
        "phone": pd.Series([f"+86{p}{v:08d}" for p, v in zip(rng.choice(MOBILE_PREFIXES, n),
                                                               rng.integers(0, 100_000_000, n), strict=True)],
                           dtype="string"),
        "email": pd.Series([f"contact{i}@company{i}.example.com" for i in range(1, n + 1)], dtype="string"),
        "industry": rng.choice(_codes("customers", "industry"), n),
        "size": rng.choice(_codes("customers", "size"), n),
        "region": pd.Series(rng.choice(np.array(["East", "North", "South", "West"], dtype=object), n), dtype="string"),
        "customer_type": rng.choice(_codes("customers", "customer_type"), n),
        "source": rng.choice(_codes("customers", "source"), n),
        "intent_level": rng.choice(_codes("customers", "intent_level"), n),
        "stage": rng.choice(_codes("customers", "stage"), n),
        "tags": pd.Series(np.where(rng.random(n) < 0.2, "vip", None), dtype="string"),
        "owner": pd.Series(np.where(rng.random(n) < 0.9, rng.choice(owners, n), None), dtype="string"),
        "created_at": _dates(rng, n, 730, as_of=as_of),
        "first_contact_at": _dates(rng, n, 700, as_of=as_of, times=True),
        "next_follow_up_at": _dates(rng, n, 30, as_of=as_of + pd.Timedelta(days=15), times=True),
        "contract_end": _dates(rng, n, 365, as_of=as_of + pd.Timedelta(days=300)),
        "birthday": _dates(rng, n, 365 * 40, as_of=as_of - pd.Timedelta(days=365 * 25)),
        "preferred_channel": rng.choice(_codes("customers", "preferred_channel"), n),
        "marketing_consent": pd.Series(rng.random(n) < 0.8, dtype="boolean"),
        "unsubscribed": pd.Series(rng.random(n) < 0.05, dtype="boolean"),
        "notes": pd.Series(np.where(rng.random(n) < 0.3, "Met at the trade show", None), dtype="string"),
    })
    for c in ("industry", "size", "customer_type", "source", "intent_level", "stage", "preferred_channel"):
        df[c] = df[c].astype("string")
    return df


def orders_frame(customer_ids: pd.Series, n: int, seed: int = 8, as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # skewed: a few customers buy a lot, many buy once or never
    weights = rng.pareto(1.5, len(customer_ids)) + 0.05
    who = rng.choice(len(customer_ids), n, p=weights / weights.sum())
    return pd.DataFrame({
        "order_id": pd.Series([f"O{i:08d}" for i in range(1, n + 1)], dtype="string"),
        "customer_id": customer_ids.to_numpy()[who],
        "order_date": _dates(rng, n, 730, as_of=as_of),
        "amount": np.round(rng.lognormal(7, 1.2, n), 2),
        "product": pd.Series(rng.choice(np.array(["Basic plan", "Pro plan", "Support", "Hardware"], dtype=object), n),
                             dtype="string"),
        "channel": pd.Series(rng.choice(_codes("orders", "channel"), n), dtype="string"),
    })


def interactions_frame(customer_ids: pd.Series, n: int, seed: int = 9, as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    who = rng.integers(0, len(customer_ids), n)
    feedback = np.array([None, None, None, "Happy with the service", "Needs technical support", "Asked for a quote"],
                        dtype=object)
    return pd.DataFrame({
        "interaction_id": pd.Series([f"I{i:08d}" for i in range(1, n + 1)], dtype="string"),
        "customer_id": customer_ids.to_numpy()[who],
        "at": _dates(rng, n, 400, as_of=as_of, times=True),
        "method": pd.Series(rng.choice(_codes("interactions", "method"), n), dtype="string"),
        "content": pd.Series(rng.choice(np.array(["Call", "Demo", "Visit", "E-mail"], dtype=object), n),
                             dtype="string"),
        "customer_feedback": pd.Series(rng.choice(feedback, n), dtype="string"),
    })


def generate(folder: str | os.PathLike, customers: int, *, seed: int = 7, orders_per_customer: float = 4.0,
             interactions_per_customer: float = 2.0, lang: str = "en") -> Path:
    """Write a whole workspace (default rules, team, routing) at ``folder``."""
    from crmkit.templates import write_workspace

    cust = customers_frame(customers, seed)
    orders = orders_frame(cust["customer_id"], int(customers * orders_per_customer), seed + 1)
    inter = interactions_frame(cust["customer_id"], int(customers * interactions_per_customer), seed + 2)
    return write_workspace(folder, {"customers": cust, "orders": orders, "interactions": inter}, lang=lang,
                           settings={"as_of": str(AS_OF)})


def write_import_file(path: str | os.PathLike, rows: int, *, seed: int = 11) -> Path:
    """A plain customers sheet as another tool would export it (English headers, no styling).

    Written with xlsxwriter in constant-memory mode: it is input data, not a
    crmkit workbook.  About 1% of rows repeat an earlier phone number
    (duplicates to merge) and about 1% carry a bad e-mail (rows to reject).
    """
    import xlsxwriter

    from crmkit.schema import ENTITIES

    df = customers_frame(rows, seed, prefix="N")
    rng = np.random.default_rng(seed)
    dup = rng.random(rows) < 0.01
    df.loc[dup, "phone"] = df["phone"].iloc[0]
    bad = rng.random(rows) < 0.01
    df.loc[bad, "email"] = "not-an-email"
    ent = ENTITIES["customers"]
    fields = [f for f in ent.input_fields]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.xlsx")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    ws = wb.add_worksheet("Customers")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, [f.en for f in fields])
    cols = []
    for f in fields:
        s = df[f.key] if f.key in df.columns else pd.Series([None] * rows)
        if f.type == "bool":
            s = s.map({True: "yes", False: "no"})
        cols.append((f.type in ("date", "datetime"), s.astype(object).where(s.notna(), None).tolist()))
    for i in range(rows):
        for j, (is_date, values) in enumerate(cols):
            v = values[i]
            if v is None:
                continue
            if is_date:
                ws.write_datetime(i + 1, j, v.to_pydatetime(), date_fmt)
            elif isinstance(v, str):
                ws.write_string(i + 1, j, v)
            else:
                ws.write(i + 1, j, v)
    wb.close()
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- the order store (Parquet)

ORDER_STORE_VERSION = "orders-parquet-1"


def write_order_store(folder: str | os.PathLike, orders: int, *, customers: int | None = None, seed: int = 13,
                      part_rows: int = 1_000_000, as_of: pd.Timestamp = AS_OF) -> dict:
    """``orders`` synthetic orders as Parquet part files in ``folder`` (vectorised numpy -> pyarrow).

    The same seed gives the same files.  ``customers`` defaults to one per 10
    orders; purchases are skewed (Pareto weights), dated over the three years
    before ``as_of`` with times of day, about 3% are returns (negative amounts)
    and 0.1% have no amount.  Parts of ``part_rows`` rows are written one at a
    time, so memory stays at one part.  Returns ``{orders, customers, parts,
    bytes}``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    customers = customers or max(1, orders // 10)
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.5, customers) + 0.05
    cdf = np.cumsum(weights / weights.sum())
    channels = _codes("orders", "channel").astype(str)
    start = np.datetime64(as_of.normalize() - pd.Timedelta(days=3 * 365), "s")
    span = 3 * 365 * 86400
    parts, first = 0, 1
    while first <= orders:
        n = min(part_rows, orders - first + 1)
        who = np.minimum(np.searchsorted(cdf, rng.random(n)), customers - 1) + 1
        amount = np.round(rng.lognormal(6, 1.0, n), 2)
        amount[rng.random(n) < 0.03] *= -1
        amount_arr = pa.array(amount, mask=rng.random(n) < 0.001)
        table = pa.table({
            "order_id": pa.array(np.char.add("O", np.char.zfill(np.arange(first, first + n).astype(str), 9))),
            "customer_id": pa.array(np.char.add("C", np.char.zfill(who.astype(str), 7))),
            "order_date": pa.array(start + rng.integers(0, span, n).astype("timedelta64[s]")),
            "amount": amount_arr,
            "channel": pa.array(channels[rng.integers(0, len(channels), n)]),
        })
        pq.write_table(table, folder / f"part-{parts:05d}.parquet")
        parts += 1
        first += n
    size = sum(p.stat().st_size for p in folder.glob("*.parquet"))
    return {"orders": orders, "customers": customers, "parts": parts, "bytes": size}
# --------------------------------------------------------------------------- lifetime value (crmkit.clv)

#: The parameters :func:`clv_orders` draws from: BG/NBD per day, Gamma-Gamma spend.
CLV_TRUTH = {"r": 1.0, "alpha": 25.0, "a": 1.0, "b": 9.0, "p": 6.0, "q": 4.0, "gamma": 150.0}


def clv_orders(customers: int, *, seed: int = 7, days: int = 1095, as_of: pd.Timestamp = AS_OF,
               truth: dict | None = None) -> pd.DataFrame:
    """Orders drawn from BG/NBD and Gamma-Gamma with known parameters (:data:`CLV_TRUTH`), so a fit can
    be checked against the truth.  Each customer's first purchase is within ``days`` before ``as_of``;
    100,000 customers give about 975,000 orders.  Purchases happen in continuous time and are dated to
    the nearest day, so about 3 % fall on a day the customer already bought on and merge with it (one
    purchase day, as crmkit.clv counts them): the fitted purchase rate comes out a few per cent low."""
    t = {**CLV_TRUTH, **(truth or {})}
    rng = np.random.default_rng(seed)
    lam = rng.gamma(t["r"], 1.0 / t["alpha"], customers)          # purchase rate per day while active
    drop = rng.beta(t["a"], t["b"], customers)                     # dropout probability after each repeat
    age = rng.integers(0, days, customers)                         # days from the first purchase to as_of
    arrivals = rng.poisson(lam * age)                              # purchases if nobody dropped out
    stop = rng.geometric(drop)                                     # repeat purchases until the dropout
    who = np.repeat(np.arange(customers), arrivals)
    at = rng.random(len(who)) * age[who]
    order = np.lexsort((at, who))
    who, at = who[order], at[order]
    rank = np.arange(len(who)) - (np.cumsum(arrivals) - arrivals)[who]
    keep = rank < stop[who]
    cust = np.concatenate([np.arange(customers), who[keep]])
    day = np.concatenate([np.zeros(customers), np.rint(at[keep])]).astype("int64")   # the nearest whole day
    nu = rng.gamma(t["q"], 1.0 / t["gamma"], customers)
    amount = np.round(rng.gamma(t["p"], 1.0 / nu[cust]), 2)
    dates = as_of.normalize() - pd.to_timedelta(age[cust] - day, unit="D")
    ids = np.char.add("C", np.char.zfill(cust.astype(str), 7))
    return pd.DataFrame({"customer_id": pd.array(ids, dtype="string"), "order_date": dates, "amount": amount})
