"""The sample product catalogue and the order lines that point at it.

The catalogue has a few SKUs (one spec each) for every product name the
sample orders already carry (:data:`crmkit.sample.words.PRODUCTS`), plus two
printers not sold yet: 24 products in four categories, with list prices,
costs, stock for the hardware (three at or below their reorder level) and one
discontinued model that only older orders bought.

:func:`order_lines` gives each order a product ID of its product's family, a
quantity and a unit price with ``quantity x unit_price == amount`` exactly
(the amounts, drawn before, are kept: the price is what was charged, near
the list price for most lines).  It draws from its own generator, so
every earlier column of every table is unchanged by it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ids import first_ids
from .draw import typed_frame

#: (family: index in words.PRODUCTS or None), (name en, zh), (spec en, zh), (category en, zh), price, cost,
#: stock, reorder level, status, owner (team position: 0 = the manager, 1.. = the reps)
_SOFTWARE, _SERVICES, _HARDWARE, _ADDONS = (("Software", "软件订阅"), ("Services", "服务"),
                                            ("Hardware", "硬件设备"), ("Add-ons", "增值包"))
CATALOGUE: tuple[tuple, ...] = (
    (0, ("5 users, 1 year", "5用户，1年"), _SOFTWARE, 2980, 450, None, None, "active", 0),
    (0, ("10 users, 1 year", "10用户，1年"), _SOFTWARE, 4980, 750, None, None, "active", 0),
    (1, ("10 users, 1 year", "10用户，1年"), _SOFTWARE, 6980, 1050, None, None, "active", 0),
    (1, ("30 users, 1 year", "30用户，1年"), _SOFTWARE, 15800, 2400, None, None, "active", 0),
    (2, ("Remote, 3 days", "远程，3天"), _SERVICES, 3000, 1500, None, None, "active", 1),
    (2, ("On site, 5 days", "现场，5天"), _SERVICES, 8000, 4400, None, None, "active", 1),
    (3, ("Up to 10,000 records", "1万条以内"), _SERVICES, 2000, 900, None, None, "active", 2),
    (3, ("Up to 100,000 records", "10万条以内"), _SERVICES, 5000, 2200, None, None, "active", 2),
    (4, ("Half day, online", "半天，线上"), _SERVICES, 800, 300, None, None, "active", 1),
    (4, ("Full day, on site", "一天，现场"), _SERVICES, 2400, 1100, None, None, "active", 1),
    (5, ("1 seat, 1 year", "1个账号，1年"), _SOFTWARE, 480, 60, None, None, "active", 0),
    (5, ("10 seats, 1 year", "10个账号，1年"), _SOFTWARE, 4200, 520, None, None, "active", 0),
    (6, ("Standard, 5x8", "标准版 5×8"), _SERVICES, 1200, 500, None, None, "active", 2),
    (6, ("Premium, 7x24", "高级版 7×24"), _SERVICES, 3600, 1600, None, None, "active", 2),
    (7, ("Wired USB, 1D", "有线USB，一维"), _HARDWARE, 199, 120, 86, 30, "active", 3),
    (7, ("Wireless Bluetooth, 2D", "无线蓝牙，二维"), _HARDWARE, 399, 250, 12, 20, "active", 3),
    (7, ("Industrial 2D, IP65", "工业级二维，IP65"), _HARDWARE, 899, 580, 5, 5, "active", 3),
    (7, ("Desktop 2D scan box", "桌面式二维扫码盒"), _HARDWARE, 299, 180, 40, 15, "active", 3),
    (7, ("Wired USB, 1D (old model)", "有线USB，一维（旧款）"), _HARDWARE, 169, 110, 0, 0, "discontinued", 3),
    (8, ("10,000 messages", "1万条"), _ADDONS, 450, 300, None, None, "active", 4),
    (8, ("100,000 messages", "10万条"), _ADDONS, 4000, 2700, None, None, "active", 4),
    (9, ("5 reports", "5张报表"), _SERVICES, 800, 350, None, None, "active", 2),
    (("Receipt printer", "小票打印机"), ("80 mm thermal", "80毫米热敏"), _HARDWARE, 459, 300, 3, 8, "active", 4),
    (("Label printer", "标签打印机"), ("Desktop, 4 inch", "桌面式，4英寸"), _HARDWARE, 699, 460, 25, 10, "active", 4),
)
#: Orders older than this many days may be of the discontinued model; newer ones never are.
DISCONTINUED_AFTER_DAYS = 365


def products(lang: str, family_names, team_names) -> pd.DataFrame:
    """The Products sheet: ``family_names`` are the order product names (words.PRODUCTS in ``lang``),
    ``team_names`` the Team sheet's names (manager first)."""
    zh = 1 if lang == "zh" else 0
    rows = []
    for fam, spec, cat, price, cost, stock, level, status, owner in CATALOGUE:
        name = family_names[fam] if isinstance(fam, int) else fam[zh]
        rows.append({"name": name, "category": cat[zh], "spec": spec[zh], "unit_price": float(price),
                     "unit_cost": float(cost), "stock": stock, "reorder_level": level, "status": status,
                     "owner": team_names[owner % len(team_names)]})
    df = pd.DataFrame(rows)
    df.insert(0, "product_id", first_ids("products", len(df)).to_numpy())
    return typed_frame(df, "products")


def order_lines(orders: pd.DataFrame, catalogue: pd.DataFrame, family_names, *, seed: int,
                as_of: pd.Timestamp) -> pd.DataFrame:
    """``orders`` with product_id, quantity and unit_price filled (a copy; other columns untouched).

    Each order gets a SKU of its product name: one whose list price is at most
    1.2 x the amount when there is one (else the cheapest), the discontinued
    model only for orders over a year old.  The quantity is the amount over
    the list price, rounded, moved to the nearest count that divides the
    amount into whole cents (so the unit price stays near the list price); a return (negative amount) has a negative
    quantity.
    """
    rng = np.random.default_rng([seed, 1001])      # its own stream: the other draws are not moved
    out = orders.copy()
    fam_of = {str(n): i for i, n in enumerate(family_names)}
    family = out["product"].astype("object").map(fam_of).to_numpy(dtype="float64")
    amount = out["amount"].to_numpy(dtype="float64")
    absamt = np.abs(np.nan_to_num(amount))
    old = ((as_of.normalize() - pd.to_datetime(out["order_date"]).dt.normalize()).dt.days
           > DISCONTINUED_AFTER_DAYS).to_numpy()
    cat_fam = [c[0] if isinstance(c[0], int) else -1 for c in CATALOGUE]
    prices = catalogue["unit_price"].to_numpy(dtype="float64")
    status = catalogue["status"].astype("string").to_numpy()
    ids = catalogue["product_id"].astype("string").to_numpy()
    pick = np.full(len(out), -1, dtype=np.int64)
    u = rng.random(len(out))
    for f in range(len(family_names)):
        rows = np.flatnonzero(family == f)
        if not len(rows):
            continue
        skus = np.array([i for i, cf in enumerate(cat_fam) if cf == f])
        for allow_old in (False, True):
            sel = rows[old[rows] == allow_old]
            cand = skus if allow_old else skus[status[skus] == "active"]
            fits = prices[cand][None, :] <= absamt[sel, None] * 1.2
            fits[~fits.any(axis=1), np.argmin(prices[cand])] = True
            k = fits.sum(axis=1)
            nth = np.floor(u[sel] * k).astype(np.int64)            # the nth fitting SKU of the row
            pick[sel] = cand[np.argmax(np.cumsum(fits, axis=1) > nth[:, None], axis=1)]
    has = pick >= 0
    cents = np.round(absamt * 100).astype(np.int64)
    q = np.maximum(1, np.round(absamt / np.where(has, prices[np.maximum(pick, 0)], 1))).astype(np.int64)
    qty = np.ones(len(out), dtype=np.int64)
    found = np.zeros(len(out), dtype=bool)
    for d in (0, *[x for k in range(1, 60) for x in (-k, k)]):    # the count nearest q dividing the amount into cents
        c = q + d
        ok = ~found & (c >= 1) & (cents % np.maximum(c, 1) == 0)
        qty[ok] = c[ok]
        found |= ok
    unit = np.round(cents / qty) / 100
    out["product_id"] = pd.array(np.where(has, ids[np.maximum(pick, 0)], None), dtype="string")
    out["quantity"] = np.where(has, np.where(amount < 0, -qty, qty), np.nan).astype("float64")
    out["unit_price"] = np.where(has, unit, np.nan).astype("float64")
    return out
