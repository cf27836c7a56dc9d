"""``crmkit import SOURCE --into DIR --entity orders`` into a Parquet order store.

When Settings ``order_source`` names a folder of Parquet files (see
:mod:`crmkit.orderstore`), an import of orders appends to that folder instead
of the Orders sheet.  The rows go through the same planning as an import into
the sheet (:func:`crmkit.importer.plan_import`: column matching, required
fields, dates, amounts, unknown customers, repeated rows of one order ID
folded together), with these differences:

* **IDs** continue the store's own (``O000123`` -> ``O000124``,
  :mod:`crmkit.ids`): only the highest ID and the IDs the file names are
  looked up, with DuckDB, never the whole store;
* **an order ID already in the store** is refused:
  the row is rejected with the reason (orders in the store are never
  rewritten; a correction is a new order, e.g. a negative amount);
* **writing**: the accepted rows become one new part file
  ``part-<time>-<random>.parquet`` with the columns of
  :data:`crmkit.orderstore.ORDER_COLUMNS`, written through
  :func:`crmkit.io.safety.replace_file` (a temporary file in the same folder,
  fsynced, renamed into place, the folder fsynced) under the workspace lock.
  Existing part files are never opened for writing.  An interrupted import
  leaves at most a temporary ``.part-....crmkit-tmp`` file, which no reader
  takes for a part (readers read ``*.parquet``) and the next write removes.
  Columns that name no order field are listed as ``unmatched_columns`` and
  not stored.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from .exceptions import UsageError
from .i18n import msg
from .orderstore import ORDER_COLUMNS, connect, read_source, source_kind, source_path
from .schema import ENTITIES
from .validate import ERROR

__all__ = ["StoreImport", "store_import"]


def store_import(ws, entity: str, *, create: bool = True) -> StoreImport | None:
    """The store an import of ``entity`` into ``ws`` appends to, or None (it goes to the sheet).

    Raises :class:`~crmkit.exceptions.UsageError` when orders are imported while
    the order source is a file or a DuckDB database (crmkit appends to folders only).
    """
    if entity != "orders":
        return None
    path = source_path(ws)
    if path is None:
        return None
    if not path.exists() and not path.suffix:      # a store not created yet: a new, empty folder
        if not create:                             # (a dry run creates nothing)
            return StoreImport(path)
        path.mkdir(parents=True)
    kind = source_kind(path)
    if kind != "parquet_folder":
        raise UsageError(msg("e_store_import_kind", source=str(path), kind=kind.replace("_", " ")), file=str(path))
    return StoreImport(path)


class StoreImport:
    """One import of orders into the Parquet folder ``folder``: :meth:`prepare`, plan, :meth:`settle`, :meth:`write`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.rows_before = 0
        self.known: set[str] = set()      # IDs of existing orders the file repeats
        self.n0 = 0
        self.new = pd.DataFrame()
        self.part: Path | None = None

    def prepare(self, ws, src) -> None:
        """Put into ``ws``'s orders (in memory only) what the planning must see of the store: the stored
        orders whose IDs the file repeats, and the stored order with the highest ID (new IDs follow it).

        The Orders sheet's own rows are left out: they are not where orders are read from, and moving
        them into the store is an import like any other (they keep their IDs)."""
        ws.replace("orders", ws["orders"].iloc[0:0])
        self.n0 = 0
        if not self.folder.exists():               # a dry run into a store not created yet
            return
        con = connect()
        rel = read_source(self.folder, con)
        id_cols = [h for h, k in src.matched.items() if k == "order_id"]
        wanted = pd.Series(pd.concat([src.data[h] for h in id_cols]) if id_cols else [], dtype="string")
        wanted = wanted.str.strip().dropna().drop_duplicates()
        prefix = ENTITIES["orders"].id_prefix
        self.rows_before = int(rel.aggregate("count(*)").fetchall()[0][0])
        ids = con.from_df(pd.DataFrame({"order_id": wanted.astype(object)}))
        hits = rel.join(ids.set_alias("wanted"), "order_id", how="semi").df()
        top = rel.filter(f"regexp_full_match(order_id, '{prefix}[0-9]{{1,18}}')").order(
            f"CAST(substr(order_id, {len(prefix) + 1}) AS HUGEINT) DESC, length(order_id) DESC").limit(1).df()
        self.known = set(hits["order_id"].astype(str))
        found = pd.concat([hits, top], ignore_index=True).drop_duplicates("order_id")
        if len(found):
            ws.append("orders", found[list(ORDER_COLUMNS)])
        self.n0 = len(ws["orders"])

    def settle(self, ws, result) -> bool:
        """Turn the planning's ``updated`` rows (an order ID that exists) into rejected ones, keep the new
        orders for :meth:`write`; returns whether there is anything to write."""
        out = result.outcome
        lang = result.lang
        repeated = out.loc[out["outcome"] == "updated", "record_id"].dropna().astype(str).tolist()
        # an ID the file spells differently from the store ('1001.0' for '1001') is looked up in prepare() as
        # spelt, and the planning takes the row for a new order: the final IDs of the new rows are checked too
        stored = self._stored(ws["orders"].iloc[self.n0:]["order_id"])
        dup = out["outcome"].isin(["updated", "merged", "imported"]) & out["record_id"].astype("string").isin(
            repeated + stored)
        if stored:
            orders = ws["orders"]
            keep = np.ones(len(orders), dtype=bool)
            keep[self.n0:] = ~orders["order_id"].iloc[self.n0:].astype("string").isin(stored).to_numpy(
                dtype=bool, na_value=False)
            ws.replace("orders", orders[keep].reset_index(drop=True))
        if dup.any():
            rows = out.index[dup]
            issues = result.issues
            issues = issues[~issues["row"].isin(rows) | (issues["severity"] == ERROR)]
            label = ENTITIES["orders"].field("order_id").header(lang)
            add = pd.DataFrame({"file": result.file, "sheet": result.sheet, "row": rows.astype("int64"),
                                "column": label, "field": "order_id", "value": out.loc[dup, "record_id"].astype(object),
                                "severity": ERROR,
                                "reason": [msg("r_order_id_in_store", id=i).render(lang)
                                           for i in out.loc[dup, "record_id"]]})
            result.issues = (pd.concat([issues, add], ignore_index=True)
                             .sort_values("row", kind="stable").reset_index(drop=True))
            out.loc[dup, "outcome"] = "rejected"
        result.unchanged = 0
        result.history_rows = 0
        orders = ws["orders"]
        self.new = orders.iloc[self.n0:]
        return len(self.new) > 0

    def _stored(self, ids: pd.Series) -> list[str]:
        """Those of ``ids`` (the planned IDs of new orders) that the store holds already."""
        ids = pd.Series(ids, dtype="string").dropna().drop_duplicates()
        if ids.empty or not self.folder.exists():
            return []
        con = connect()
        rel = read_source(self.folder, con)
        wanted = con.from_df(pd.DataFrame({"order_id": ids.astype(object)})).set_alias("wanted")
        return sorted(str(r[0]) for r in rel.join(wanted, "order_id", how="semi").aggregate(
            "order_id", "order_id").fetchall())

    def write(self) -> Path:
        """Write the new orders as one new part file (atomically); returns its path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .io.safety import replace_file

        stamp = pd.Timestamp.now().strftime("%Y%m%dT%H%M%S")
        part = self.folder / f"part-{stamp}-{secrets.token_hex(4)}.parquet"
        table = pa.Table.from_pandas(_store_frame(self.new), schema=_schema(), preserve_index=False)
        replace_file(part, lambda tmp: pq.write_table(table, tmp), keep_backups=0)
        self.part = part
        return part

    def summary(self) -> dict:
        return {"order_store": str(self.folder), "store_rows_before": self.rows_before,
                "store_part": None if self.part is None else str(self.part)}


def _schema():
    import pyarrow as pa

    types = {"order_date": pa.timestamp("us"), "amount": pa.float64(), "quantity": pa.float64(),
             "unit_price": pa.float64()}
    return pa.schema([(c, types.get(c, pa.string())) for c in ORDER_COLUMNS])


def _store_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The new orders with exactly the store's columns and types."""
    out = {}
    for c in ORDER_COLUMNS:
        col = rows[c] if c in rows.columns else pd.Series(pd.NA, index=rows.index)
        if c == "order_date":
            out[c] = pd.to_datetime(col, errors="coerce").astype("datetime64[us]")
        elif c in ("amount", "quantity", "unit_price"):
            out[c] = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        else:
            out[c] = col.astype("string").astype(object).where(col.notna(), None)
    return pd.DataFrame(out)
