"""Where a workspace's orders live, and one DuckDB relation over them.

RFM, CLV and the order analytics aggregate orders with SQL on a DuckDB
relation (embedded DuckDB, no server), whatever the orders come from: the
Orders sheet (a pandas frame registered with DuckDB) or, when Settings name
one, an order source outside the workbook.  One query therefore gives the same
numbers for the same orders wherever they are stored, and a team that
outgrows one machine can run the same SQL on its warehouse.

>>> from crmkit import orderstore
>>> rel = orderstore.workspace_orders(ws)           # a duckdb relation
>>> rel.aggregate("customer_id, count(*) AS orders", "customer_id").df()
>>> orderstore.as_relation(ws["orders"]).filter("amount < 0").df()   # any frame works too

The order source (Settings ``order_source``)
--------------------------------------------
Blank (the default): the Orders sheet of customers.xlsx.  Otherwise a path,
relative to the workspace folder unless absolute, to one of:

* a **CSV file** (``.csv``, ``.txt``, ``.tsv``; UTF-8, a header row);
* a **Parquet file** (``.parquet``, ``.pq``);
* a **folder** of Parquet files (``*.parquet``, subfolders included: the
  store ``crmkit import ... --entity orders`` appends to) or, when it holds no
  Parquet file, of CSV files.  An empty folder is an empty store;
* a **DuckDB database file** (``.duckdb``, ``.ddb``, ``.db``), read-only,
  table Settings ``order_source_table`` (default ``orders``).

Columns are found by the Orders sheet's headers (canonical keys, English or
Chinese headers and their synonyms: ``customer_id``, ``Customer ID`` or
``客户编号``); ``customer_id``, ``order_date`` and ``amount`` are required,
the other columns of :data:`ORDER_COLUMNS` are blank when absent, and columns
that name no field are not read.  Types: ``order_date`` a timestamp,
``amount``, ``quantity`` and ``unit_price`` doubles, the rest text; text
text amounts and dates are read by the rules of the Orders sheet
(:func:`crmkit.normalize.to_number` / :func:`~crmkit.normalize.to_datetime`:
``￥1,673.00``, ``1200元``, ``RMB 100``, ``2026/1/5``, ``05.01.2026`` with
Settings ``date_dayfirst``); a value that is still no date or number reads as
blank, and :func:`unreadable_values` counts such values for ``crmkit validate``.
Time zones: a column that is a timestamp *with* time zone is read as its UTC
wall time (as text dates with an offset are in the sheet), and the connection's
session time zone is UTC, so results never depend on the machine's zone.
Files of a folder are listed by crmkit (sorted; hidden files and folders,
whose names start with ``.``, are skipped) and handed to DuckDB as a list, so
a folder name with ``[``, ``*`` or ``?`` is no pattern.  An Excel workbook is
no order source: import it with ``crmkit import`` instead.

Customers and everything else stay in Excel.  While a source is set, orders
are read from it only: rows typed into the Orders sheet are not counted, and
``crmkit validate`` warns about them (move them into the source with
``crmkit import``).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from . import normalize
from .exceptions import UsageError
from .i18n import msg
from .schema import ENTITIES, match_header

__all__ = ["ORDER_COLUMNS", "REQUIRED_COLUMNS", "COUNTED_ORDERS_SQL", "connect", "as_relation", "workspace_orders",
           "counted_orders", "source_path", "source_kind", "read_source", "sheet_is_source",
           "orders_of", "is_relation", "between", "last_orders", "timestamp_text", "customer_index",
           "source_files", "unreadable_values"]

#: The canonical order columns a relation carries (those of the Orders sheet).
ORDER_COLUMNS = ("order_id", "customer_id", "order_date", "amount", "product", "channel",
                 "product_id", "quantity", "unit_price")
#: The columns an order source must have (what RFM, CLV and the analytics need).
REQUIRED_COLUMNS = ("customer_id", "order_date", "amount")
_NUMBERS = ("amount", "quantity", "unit_price")
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".txt", ".tsv")
_DUCKDB = (".duckdb", ".ddb", ".db")
_EXCEL = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
#: SQL functions (registered on each connection) that read text the way the Orders sheet is read
_NUMBER_FN, _DATE_FN, _DATE_DAYFIRST_FN = "crmkit_number", "crmkit_date", "crmkit_date_dayfirst"

#: The order rule (which orders count as of a date; returns are not purchases), as SQL over a table
#: ``orders``; ``{as_of}`` is a timestamp literal's text.  :func:`counted_orders` runs this very text,
#: and the README shows it for a warehouse.
COUNTED_ORDERS_SQL = """\
SELECT CAST(customer_id AS VARCHAR)                     AS customer_id,
       CAST(order_date AS TIMESTAMP)                    AS order_date,
       CAST(order_date AS DATE)                         AS day,
       coalesce(CAST(amount AS DOUBLE), 0.0)            AS amount,
       coalesce(CAST(amount AS DOUBLE), 0.0) >= 0       AS purchase
FROM orders
WHERE customer_id IS NOT NULL
  AND order_date IS NOT NULL
  AND CAST(order_date AS TIMESTAMP) <= TIMESTAMP '{as_of}'"""


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB connection (one per computation, so callers never share state).

    DuckDB spills to ``crmkit-duckdb-<uid>`` in the system's temporary folder
    when an aggregation outgrows memory; ``CRMKIT_DUCKDB_MEMORY`` (e.g.
    ``2GB``) and ``CRMKIT_DUCKDB_THREADS`` cap its memory and threads when set
    (the default: DuckDB's own, 80% of the memory and one thread per usable
    core).
    """
    import tempfile

    con = duckdb.connect(":memory:")
    # timestamps with a time zone are converted explicitly (to UTC wall time, see _cast); a fixed session
    # zone keeps anything else DuckDB does with zones independent of the machine's TZ
    con.execute("SET TimeZone = 'UTC'")
    _register(con)
    # spill files go to the system's temporary folder (DuckDB's default is ./.tmp: the user's current folder)
    spill = Path(tempfile.gettempdir()) / f"crmkit-duckdb-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    con.execute(f"SET temp_directory = '{_quote(str(spill))}'")
    if os.environ.get("CRMKIT_DUCKDB_MEMORY"):
        con.execute(f"SET memory_limit = '{_quote(os.environ['CRMKIT_DUCKDB_MEMORY'])}'")
    if os.environ.get("CRMKIT_DUCKDB_THREADS"):
        con.execute(f"SET threads = {int(os.environ['CRMKIT_DUCKDB_THREADS'])}")
    return con


def as_relation(orders: pd.DataFrame | duckdb.DuckDBPyRelation,
                con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
    """``orders`` as a DuckDB relation: a relation is returned as it is, a frame is registered.

    >>> rel = as_relation(pd.DataFrame({"customer_id": ["C1"], "order_date": [pd.Timestamp("2026-01-02")],
    ...                                 "amount": [10.0]}))
    >>> rel.aggregate("sum(amount)").fetchall()
    [(10.0,)]
    """
    if isinstance(orders, duckdb.DuckDBPyRelation):
        return orders
    con = con or connect()
    return con.from_df(orders)


def sheet_is_source(ws) -> bool:
    """Whether the workspace's orders are those of the Orders sheet (Settings name no order source)."""
    return source_path(ws) is None


def workspace_orders(ws, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
    """The workspace's orders as a DuckDB relation.

    From the Orders sheet (the columns of :data:`ORDER_COLUMNS` it has), or
    from the order source Settings name (all of :data:`ORDER_COLUMNS`, typed;
    see the module docstring).  A workspace opened for one member
    (``as_user``), or a view whose ``filters_customers`` is true (a
    dashboard's filters, :class:`crmkit.analytics.kpis.WorkspaceScope`), sees
    the orders of its customers only.
    """
    path = source_path(ws)
    if path is None:
        return as_relation(ws["orders"], con)
    con = con or connect()
    rel = read_source(path, con, table=ws.settings.get("order_source_table") or "orders",
                      dayfirst=bool(ws.settings.get("date_dayfirst")))
    if getattr(ws, "scope", None) is not None or getattr(ws, "filters_customers", False):
        # a member's view, or a dashboard's filtered view: the orders of the customers it sees
        ids = pd.DataFrame({"customer_id": ws["customers"]["customer_id"].astype("string").dropna().unique()})
        rel = rel.join(con.from_df(ids).set_alias("seen"), "customer_id", how="semi")
    return rel


def orders_of(ws) -> pd.DataFrame | duckdb.DuckDBPyRelation:
    """The orders analytics read: the Orders sheet's frame when it is the source (as always), else the
    relation over the order source (:func:`workspace_orders`), which the analytics aggregate in DuckDB."""
    return ws["orders"] if sheet_is_source(ws) else workspace_orders(ws)


def is_relation(orders: object) -> bool:
    """Whether ``orders`` is a DuckDB relation (rather than a frame)."""
    return isinstance(orders, duckdb.DuckDBPyRelation)


def between(rel: duckdb.DuckDBPyRelation, start: object, end: object, *, closed: str = "right",
            column: str = "order_date") -> duckdb.DuckDBPyRelation:
    """The rows of ``rel`` with ``start < column <= end`` (``closed="left"``: ``start <= column < end``;
    ``"both"``: ``start <= column <= end``); a bound of None is open; blank dates are outside."""
    cond = [f"{column} IS NOT NULL"]
    if start is not None:
        cond.append(f"{column} {'>' if closed == 'right' else '>='} TIMESTAMP '{timestamp_text(start)}'")
    if end is not None:
        cond.append(f"{column} {'<' if closed == 'left' else '<='} TIMESTAMP '{timestamp_text(end)}'")
    return rel.filter(" AND ".join(cond))


def last_orders(rel: duckdb.DuckDBPyRelation, as_of: object) -> pd.DataFrame:
    """``customer_id, order_date``: each customer's latest order up to ``as_of`` (one row per customer)."""
    return (between(rel, None, as_of).filter("customer_id IS NOT NULL")
            .aggregate("CAST(customer_id AS VARCHAR) AS customer_id, max(order_date) AS order_date", "customer_id")
            .df())


def source_path(ws) -> Path | None:
    """The path Settings ``order_source`` names (relative to the workspace folder), or None."""
    raw = ws.settings.get("order_source")
    if raw is None or not str(raw).strip():
        return None
    path = Path(str(raw).strip()).expanduser()
    return path if path.is_absolute() else Path(ws.path) / path


def source_kind(path: Path) -> str:
    """``csv``, ``parquet``, ``duckdb``, ``parquet_folder`` or ``csv_folder``; UsageError when it is missing."""
    path = Path(path)
    if not path.exists():
        raise UsageError(msg("e_order_source", reason=msg("e_order_source_missing")), file=str(path))
    if path.is_dir():
        if not source_files(path, _PARQUET[:1]) and source_files(path, (".csv",)):
            return "csv_folder"
        return "parquet_folder"
    suffix = path.suffix.lower()
    if suffix in _EXCEL:
        raise UsageError(msg("e_order_source", reason=msg("e_order_source_excel")), file=str(path))
    if suffix in _PARQUET:
        return "parquet"
    if suffix in _CSV:
        return "csv"
    if suffix in _DUCKDB:
        return "duckdb"
    with open(path, "rb") as fh:     # no telling suffix: look at the first bytes
        head = fh.read(16)
    if head[:4] == b"PAR1":
        return "parquet"
    if head[8:12] == b"DUCK":
        return "duckdb"
    return "csv"


def source_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The files of ``folder`` (subfolders included) whose names end in ``suffixes``, sorted; files and
    folders whose names start with ``.`` (hidden files, macOS ``._`` copies, an import's temporary
    ``.part-....crmkit-tmp``) are left out."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*")
                  if p.name.lower().endswith(suffixes) and not p.name.endswith(".crmkit-tmp")
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts) and p.is_file())


def _file_list(files: list[Path]) -> str:
    return "[" + ", ".join(f"'{_quote(str(f))}'" for f in files) + "]"


def read_source(path: str | os.PathLike, con: duckdb.DuckDBPyConnection | None = None, *,
                table: str = "orders", dayfirst: bool = False) -> duckdb.DuckDBPyRelation:
    """The orders of a CSV or Parquet file or folder, or of table ``table`` of a DuckDB file, as a relation
    with the typed columns of :data:`ORDER_COLUMNS`.

    Raises :class:`~crmkit.exceptions.UsageError` (exit 2) naming the path and
    the reason when it is missing or unreadable, or lacks a required column.
    ``dayfirst`` (Settings ``date_dayfirst``) reads text dates like ``01/05/2026`` as 1 May.
    """
    con = con or connect()
    raw, path, kind = _raw(path, con, table)
    if raw is None:
        return _empty(con)
    return _typed(raw, path, trim=kind in ("csv", "csv_folder"), dayfirst=dayfirst)


def _raw(path: str | os.PathLike, con: duckdb.DuckDBPyConnection, table: str):
    """``(relation of the source's columns as stored, path, kind)``; the relation is None for an empty folder."""
    path = Path(path)
    kind = source_kind(path)
    _register(con)
    lit = _quote(str(path))
    try:
        if kind == "parquet_folder":
            files = source_files(path, (".parquet",))
            if not files:
                return None, path, kind
            raw = con.sql(f"SELECT * FROM read_parquet({_file_list(files)}, union_by_name = true)")
        elif kind == "parquet":
            raw = con.sql(f"SELECT * FROM read_parquet('{lit}')")
        elif kind in ("csv", "csv_folder"):
            files = source_files(path, (".csv",)) if kind == "csv_folder" else [path]
            raw = con.sql(f"SELECT * FROM read_csv({_file_list(files)}, header = true, all_varchar = true"
                          + (", union_by_name = true" if kind == "csv_folder" else "") + ")")
        else:
            con.execute(f"ATTACH '{lit}' AS order_source (READ_ONLY)")
            names = [r[0] for r in con.sql(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'order_source' "
                "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = 'order_source'").fetchall()]
            if table not in names:
                raise UsageError(msg("e_order_source", reason=msg(
                    "e_order_source_table", table=table, tables=", ".join(sorted(names)) or "-")), file=str(path))
            raw = con.sql(f'SELECT * FROM order_source."{table}"')
        return raw, path, kind
    except duckdb.Error as exc:
        raise UsageError(msg("e_order_source", reason=_first_line(exc)), file=str(path)) from None


def _found(raw: duckdb.DuckDBPyRelation) -> dict[str, list[tuple[str, str]]]:
    """key -> [(source column, its DuckDB type)] for the columns of ``raw`` that name an order field."""
    found: dict[str, list[tuple[str, str]]] = {}
    for col, typ in zip(raw.columns, raw.types):
        key = match_header(ENTITIES["orders"], col)
        if key in ORDER_COLUMNS:       # files of a folder may spell a header differently: all are read
            found.setdefault(key, []).append((col, str(typ).upper()))
    return found


def _typed(raw: duckdb.DuckDBPyRelation, path: Path, *, trim: bool = False,
           dayfirst: bool = False) -> duckdb.DuckDBPyRelation:
    """``raw`` with its columns mapped to the canonical keys and cast to their types."""
    found = _found(raw)
    missing = [k for k in REQUIRED_COLUMNS if k not in found]
    if missing:
        ent = ENTITIES["orders"]
        names = tuple(f"{k} ({ent.field(k).en} / {ent.field(k).zh})" for k in missing)
        raise UsageError(msg("e_order_source", reason=msg("e_order_source_column", columns=names,
                                                          found=", ".join(raw.columns) or "-")), file=str(path))
    exprs = []
    for key in ORDER_COLUMNS:
        casts = [_cast(key, col, typ, trim, dayfirst) for col, typ in found.get(key, [])]
        if not casts:
            expr = _blank(key)
        elif len(casts) == 1:
            expr = casts[0]
        else:
            expr = "coalesce(" + ", ".join(casts) + ")"
        exprs.append(f"{expr} AS {key}")
    return raw.project(", ".join(exprs))


def _cast(key: str, col: str, typ: str, trim: bool, dayfirst: bool = False) -> str:
    """The SQL reading column ``col`` (of DuckDB type ``typ``) as field ``key``; text is trimmed when ``trim``
    (CSV, all read as text), typed columns are cast only when their type differs.  Text that DuckDB's own
    cast does not read goes through the sheet's converters (:func:`_register`), for those rows only."""
    c = '"' + col.replace('"', '""') + '"'
    text = typ == "VARCHAR"
    if key == "order_date":
        if typ == "TIMESTAMP":
            return c
        if typ in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
            return f"timezone('UTC', {c})"            # its UTC wall time, whatever the session's zone
        if not text:
            return f"TRY_CAST({c} AS TIMESTAMP)"
        fast = f"TRY_CAST(trim({c}) AS TIMESTAMP)"
        fn = _DATE_DAYFIRST_FN if dayfirst else _DATE_FN
        return f"CASE WHEN {c} IS NULL OR {fast} IS NOT NULL THEN {fast} ELSE {fn}({c}) END"
    if key in _NUMBERS:
        if typ == "DOUBLE":
            return c
        if not text:
            return f"TRY_CAST({c} AS DOUBLE)"
        fast = f"TRY_CAST(trim({c}) AS DOUBLE)"
        return f"CASE WHEN {c} IS NULL OR {fast} IS NOT NULL THEN {fast} ELSE {_NUMBER_FN}({c}) END"
    if text:
        return f"nullif(trim({c}), '')" if trim else c
    return f"CAST({c} AS VARCHAR)"


def _register(con: duckdb.DuckDBPyConnection) -> None:
    """Register on ``con`` the SQL functions that read text numbers and dates by the Orders sheet's rules
    (:func:`crmkit.normalize.to_number`, :func:`~crmkit.normalize.to_datetime`), once."""
    import pyarrow as pa

    def number(arr):
        out, _ = normalize.to_number(pd.Series(arr.to_pandas(), dtype="string"))
        return pa.array(out.to_numpy(dtype="float64", na_value=float("nan")), pa.float64(), from_pandas=True)

    def date(dayfirst):
        def fn(arr):
            out, _ = normalize.to_datetime(pd.Series(arr.to_pandas(), dtype="string"), dayfirst=dayfirst)
            return pa.array(pd.Series(out).astype("datetime64[us]"), pa.timestamp("us"), from_pandas=True)
        return fn

    for name, fn, typ in ((_NUMBER_FN, number, "DOUBLE"), (_DATE_FN, date(False), "TIMESTAMP"),
                          (_DATE_DAYFIRST_FN, date(True), "TIMESTAMP")):
        try:
            con.create_function(name, fn, ["VARCHAR"], typ, type="arrow", null_handling="special")
        except duckdb.Error:          # already registered on this connection
            pass


def unreadable_values(path: str | os.PathLike, con: duckdb.DuckDBPyConnection | None = None, *,
                      table: str = "orders", dayfirst: bool = False) -> list[dict]:
    """The text amounts, quantities, prices and dates of the source that are not blank but no number or
    date (they read as blank: a blank amount counts as 0, an order without date is not counted).

    One dict per column with such values: ``column`` (as in the source), ``field``, ``rows`` (how many)
    and ``example`` (one such value).  ``crmkit validate`` warns about each.
    """
    con = con or connect()
    raw, path, kind = _raw(path, con, table)
    if raw is None:
        return []
    trim = kind in ("csv", "csv_folder")
    out = []
    try:
        for key, cols in _found(raw).items():
            if key != "order_date" and key not in _NUMBERS:
                continue
            for col, typ in cols:
                if typ != "VARCHAR":
                    continue
                c = '"' + col.replace('"', '""') + '"'
                # the values read as blank, once each; the sheet's converters tell a blank from a bad one
                seen = raw.filter(f"{c} IS NOT NULL AND {_cast(key, col, typ, trim, dayfirst)} IS NULL").aggregate(
                    f"{c} AS v, count(*) AS n", c).order("v").df()
                values = pd.Series(seen["v"], dtype="string")
                _, bad = (normalize.to_datetime(values, dayfirst=dayfirst) if key == "order_date"
                          else normalize.to_number(values))
                bad = bad.to_numpy(dtype=bool)
                if bad.any():
                    out.append({"column": col, "field": key, "rows": int(seen["n"][bad].sum()),
                                "example": str(values[bad].iloc[0])})
    except duckdb.Error as exc:
        raise UsageError(msg("e_order_source", reason=_first_line(exc)), file=str(path)) from None
    return out


def _blank(key: str) -> str:
    return {"order_date": "CAST(NULL AS TIMESTAMP)"}.get(key, "CAST(NULL AS DOUBLE)" if key in _NUMBERS
                                                         else "CAST(NULL AS VARCHAR)")


def _empty(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    return con.sql("SELECT " + ", ".join(f"{_blank(k)} AS {k}" for k in ORDER_COLUMNS) + " WHERE false")


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def counted_orders(rel: duckdb.DuckDBPyRelation, as_of: object,
                   extra: tuple[str, ...] = ()) -> duckdb.DuckDBPyRelation:
    """The orders that count as of ``as_of``: the order rule of :mod:`crmkit.rfm`, in one place.

    Rows without customer or date, and rows dated after ``as_of`` (they have
    not happened yet), are left out.  Each kept row has ``customer_id``,
    ``order_date`` (a timestamp), ``day`` (its calendar date), ``amount`` (a
    blank amount counts as 0) and ``purchase`` (true unless the amount is
    negative: a negative amount is a return, which lowers spend but is not a
    purchase).  ``extra`` names more columns of ``rel`` to keep as they are
    (e.g. ``("product_id", "quantity")`` for the product analytics).  The SQL
    is :data:`COUNTED_ORDERS_SQL`.

    >>> rel = as_relation(pd.DataFrame({"customer_id": ["C1", "C1", None], "amount": [5.0, -2.0, 1.0],
    ...     "order_date": pd.to_datetime(["2026-01-02", "2026-01-03", "2026-01-04"])}))
    >>> counted_orders(rel, "2026-12-31").aggregate("count(*), sum(amount), count_if(purchase)").fetchall()
    [(2, 3.0, 1)]
    """
    sql = COUNTED_ORDERS_SQL.format(as_of=timestamp_text(as_of))
    if extra:
        sql = sql.replace("\nFROM orders", "".join(f",\n       {c}" for c in extra) + "\nFROM orders", 1)
    return rel.query("orders", sql)


def timestamp_text(as_of: object) -> str:
    """``as_of`` as the text of a SQL timestamp literal (``2026-12-01 00:00:00``)."""
    return pd.Timestamp(as_of).isoformat(sep=" ")


def customer_index(customers: object) -> pd.Index | None:
    """The customer IDs to report on, in order and once each, from a frame with ``customer_id`` (else its
    index), an Index, a Series or a list; None stays None (report the customers found in the orders).

    >>> list(customer_index(pd.DataFrame({"customer_id": ["C2", "C1", None, "C2"]})))
    ['C2', 'C1']
    """
    if customers is None:
        return None
    if isinstance(customers, pd.DataFrame):
        ids = customers["customer_id"] if "customer_id" in customers.columns else customers.index.to_series()
    elif isinstance(customers, pd.Index):
        ids = customers.to_series()
    else:
        ids = pd.Series(customers)
    ids = pd.Series(ids, dtype="string").dropna().drop_duplicates()
    return pd.Index(ids.array, dtype="string", name="customer_id")
