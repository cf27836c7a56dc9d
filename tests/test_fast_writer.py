"""The bulk writer of big sheets (crmkit.io.bulk) writes the same workbook as xlsxwriter.

Every test writes the same frames twice, once with every cell going through
xlsxwriter (``fast=False``) and once in bulk (``fast=True``), and compares
what readers see: crmkit's typed frames, openpyxl's values and number
formats, tables, dropdowns, names, and the sheet XML itself once the
shared-string numbers are replaced by the strings they stand for.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from crmkit.io import bulk
from crmkit.io.contents import inspect_workbook
from crmkit.io.reading import read_sheet
from crmkit.io.typing import coerce_frame
from crmkit.io.writer import write_workbook
from crmkit.schema import ENTITIES
from crmkit.workspace import open_workspace

# the slow path's Timestamp.to_pydatetime() warns about the nanoseconds it drops (as the bulk path does)
pytestmark = pytest.mark.filterwarnings("ignore:Discarding nonzero nanoseconds")

N = 70    # rows: more than four blocks of 16 (row spans), with blank rows and blank stretches

NASTY = [
    "华星科技 有限公司", "A&B <c> \"q\" 'x' & more", "  leading spaces", "trailing spaces  ",
    "line1\nline2", "tab\there", "ctl\x01\x02\x1f end", "_x0041_ looks escaped", "=1+2",
    "x" * 40_000, "\u3000全角空格开头", "emoji 😀 ok", "\r\nstarts with CR", "+86 138 0013 8000",
    "007", "ünïcödé", "Ünïcödé", "a\x0bb", "ends with nbsp\u00a0",
]
FLOATS = [0.1 + 0.2, 1e16, -0.5, 123456.789, 1 / 3, 2.0, 1e-7, 99999999999999.99, 1234567890123456789.0,
          np.nan, 0.0, 42.0, -7.25]
DATES = [pd.Timestamp("2024-05-01"), pd.Timestamp("1900-01-01 06:00"), pd.Timestamp("1900-02-28"),
         pd.Timestamp("1900-03-01"), pd.Timestamp("2026-11-20 23:59:59.999999"), pd.NaT,
         pd.Timestamp("2024-02-29 12:30:15.123456789"), pd.Timestamp("1999-12-31 00:00:01")]


def _values(f, ent_key: str, n: int) -> list:
    """A column of ``n`` values of field ``f`` (derived from its type), with blanks."""
    if f.key == ent_key[:-1] + "_id" or (f.type == "id" and f.key == ENTITIES[ent_key].id_field):
        return [f"{ent_key[:2].upper()}{i:04d}" for i in range(n)]
    if f.type == "id":
        return [None if i % 7 == 3 else f"CU{i % 11:04d}" for i in range(n)]
    if f.type == "enum" and f.enum is not None:
        codes = list(f.enum.codes) + [None, "not_a_code"]
        return [codes[i % len(codes)] for i in range(n)]
    if f.type == "multi" and f.enum is not None:
        codes = list(f.enum.codes)
        return [None if i % 5 == 0 else ";".join(codes[j % len(codes)] for j in range(i % 3 + 1)) for i in range(n)]
    if f.type == "bool":
        return [[True, False, None][i % 3] for i in range(n)]
    if f.type in ("date", "datetime"):
        return [DATES[i % len(DATES)] + pd.Timedelta(days=i if f.type == "datetime" else 0) for i in range(n)]
    if f.type in ("int", "rating"):
        return [None if i % 4 == 1 else (i % 5) + 1 for i in range(n)]
    if f.type in ("money", "number"):
        return [FLOATS[i % len(FLOATS)] for i in range(n)]
    return [None if i % 6 == 2 else NASTY[(i + len(f.key)) % len(NASTY)] for i in range(n)]


def _frame(ent_key: str, n: int = N) -> pd.DataFrame:
    ent = ENTITIES[ent_key]
    df = pd.DataFrame({f.key: _values(f, ent_key, n) for f in ent.fields})
    # unknown columns: one of mixed Python values, one of text
    mixed = ["blue", 3, 2.5, True, pd.Timestamp("2024-05-01 10:30"), None, np.int64(7), dt.date(2024, 1, 2),
             float("nan"), float("inf"), -0.0, "=SUM(A1)", False, 10**20]
    df["Favourite colour"] = pd.Series([mixed[i % len(mixed)] for i in range(n)], dtype=object)
    df["Remark"] = pd.Series([None if i % 3 else f"备注 {i} &" for i in range(n)], dtype="string")
    df = coerce_frame(df, ent)
    df.loc[[4, n - 1, n - 2]] = None                     # blank rows, among them the last two
    cols = list(df.columns)
    df.loc[40:60, cols[:2] + cols[-3:]] = None            # a stretch without the first and last columns
    df.attrs["extra_columns"] = ["Favourite colour", "Remark"]
    return df


def _frames(workbook_key: str) -> dict[str, pd.DataFrame]:
    keys = [k for k, e in ENTITIES.items() if e.workbook == workbook_key and k in
            ("customers", "interactions", "orders", "deals", "tasks")]
    return {k: _frame(k) for k in keys}


def _write_both(tmp_path, workbook_key: str, lang: str, frames=None):
    frames = frames if frames is not None else _frames(workbook_key)
    slow = write_workbook(tmp_path / "slow" / f"{workbook_key}.xlsx", frames, lang, workbook_key=workbook_key,
                          safe=False, fast=False)
    fast = write_workbook(tmp_path / "fast" / f"{workbook_key}.xlsx", frames, lang, workbook_key=workbook_key,
                          safe=False, fast=True)
    return frames, slow, fast


def _resolved_parts(path) -> tuple[dict[str, bytes], list[bytes], int]:
    """Every part of the package, shared-string numbers in sheets replaced by the strings' XML."""
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        parts = {n: z.read(n) for n in z.namelist()}
    sst = parts.pop("xl/sharedStrings.xml", b"")
    items = re.findall(rb"<si>(.*?)</si>", sst, flags=re.S)
    count = int(re.search(rb'count="(\d+)"', sst).group(1)) if sst else 0
    for name in list(parts):
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = re.sub(rb'<c([^>]*) t="s"><v>(\d+)</v></c>',
                                 lambda m: b"<c" + m.group(1) + b' t="s"><v>' + items[int(m.group(2))] + b"</v></c>",
                                 parts[name])
    return parts, items, count


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("workbook_key", ["customers", "tasks"])
def test_bulk_written_sheets_are_the_same_xml_as_xlsxwriter_writes(tmp_path, workbook_key, lang):
    _, slow, fast = _write_both(tmp_path, workbook_key, lang)
    slow_parts, slow_strings, slow_count = _resolved_parts(slow)
    fast_parts, fast_strings, fast_count = _resolved_parts(fast)
    assert slow_parts.keys() == fast_parts.keys()
    for name in slow_parts:                               # [Content_Types], styles, tables, sheets...
        assert slow_parts[name] == fast_parts[name], name
    assert sorted(slow_strings) == sorted(fast_strings)   # each string once, the same escaping
    assert len(set(fast_strings)) == len(fast_strings)
    assert slow_count == fast_count


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bulk_written_sheets_read_back_as_the_same_typed_frames(tmp_path, lang):
    frames, slow, fast = _write_both(tmp_path, "customers", lang)
    for key in frames:
        a, b = read_sheet(slow, key), read_sheet(fast, key)
        pd.testing.assert_frame_equal(a, b)
        assert [(p.row, p.column, p.value) for p in a.attrs["problems"]] == \
               [(p.row, p.column, p.value) for p in b.attrs["problems"]]
    back = read_sheet(fast, "customers")
    assert back.loc[2, "name"] == frames["customers"].loc[0, "name"]                # row 2 is the first data row
    assert back["notes"].str.len().max() == 32767                                  # Excel's limit, as xlsxwriter cuts


def test_openpyxl_sees_the_same_cells_formats_tables_dropdowns_and_names(tmp_path):
    _, slow, fast = _write_both(tmp_path, "customers", "zh")
    a, b = openpyxl.load_workbook(slow), openpyxl.load_workbook(fast)
    assert a.sheetnames == b.sheetnames
    assert {k: v.attr_text for k, v in a.defined_names.items()} == {k: v.attr_text for k, v in b.defined_names.items()}
    for name in a.sheetnames:
        wa, wb = a[name], b[name]
        assert wa.dimensions == wb.dimensions
        cells_a = [(c.coordinate, c.value, c.data_type, c.number_format) for row in wa.iter_rows() for c in row]
        cells_b = [(c.coordinate, c.value, c.data_type, c.number_format) for row in wb.iter_rows() for c in row]
        assert cells_a == cells_b, name
        assert [(t.name, t.ref, [c.name for c in t.tableColumns]) for t in wa.tables.values()] == \
               [(t.name, t.ref, [c.name for c in t.tableColumns]) for t in wb.tables.values()]
        assert [(str(v.sqref), v.type, v.formula1, v.prompt) for v in wa.data_validations.dataValidation] == \
               [(str(v.sqref), v.type, v.formula1, v.prompt) for v in wb.data_validations.dataValidation]
    orders = b[ENTITIES["orders"].sheet_name("zh")]
    assert orders.tables["tbl_orders"].ref == f"A1:{orders.cell(1, orders.max_column).column_letter}{N + 1}"


def test_bulk_written_workbook_is_a_valid_package_recognised_as_crmkits(tmp_path):
    _, _, fast = _write_both(tmp_path, "customers", "en")
    with zipfile.ZipFile(fast) as z:
        assert z.testzip() is None
        assert z.read("[Content_Types].xml").count(b'PartName="/xl/sharedStrings.xml"') == 1
    content = inspect_workbook(fast)
    assert content.written_by_crmkit and not content.unsafe


def test_formula_looking_and_markup_looking_text_stays_text(tmp_path):
    df = coerce_frame(pd.DataFrame({"order_id": ["O1", "O2", "O3"], "product": ["=1+2", "<r>bold</r>", "&amp;"]}),
                      ENTITIES["orders"])
    path = write_workbook(tmp_path / "customers.xlsx", {"orders": df}, "en", safe=False, fast=True)
    cells = [c.value for c in openpyxl.load_workbook(path)["Orders"]["E"][1:4]]
    assert cells == ["=1+2", "<r>bold</r>", "&amp;"]
    assert read_sheet(path, "orders")["product"].tolist() == ["=1+2", "<r>bold</r>", "&amp;"]


def test_workspace_saved_in_bulk_opens_to_the_same_tables(make_workspace, monkeypatch):
    frames = _frames("customers")
    monkeypatch.setattr(bulk, "FAST_MIN_CELLS", 10**12)
    slow = open_workspace(make_workspace(frames, lang="zh", name="slow"))
    monkeypatch.setattr(bulk, "FAST_MIN_CELLS", 1)
    fast = open_workspace(make_workspace(frames, lang="zh", name="fast"))
    for key in frames:
        pd.testing.assert_frame_equal(slow[key], fast[key])


def test_sheets_below_the_threshold_go_through_xlsxwriter(monkeypatch):
    assert not bulk.use_fast(10, 20)
    assert bulk.use_fast(1000, 20)
    assert bulk.use_fast(10, 20, fast=True) and not bulk.use_fast(10**6, 20, fast=False)
    assert not bulk.use_fast(0, 20, fast=True)                # nothing to write


def test_a_sheet_of_blank_rows_writes_no_cells_like_xlsxwriter(tmp_path):
    df = coerce_frame(pd.DataFrame({"order_id": [None] * 40}, dtype="string"), ENTITIES["orders"])
    _, slow, fast = _write_both(tmp_path, "customers", "en", frames={"orders": df})
    assert _resolved_parts(slow)[0] == _resolved_parts(fast)[0]
    last = get_column_letter(len(ENTITIES["orders"].fields))      # the header row only
    assert f'<dimension ref="A1:{last}1"/>'.encode() in zipfile.ZipFile(fast).read("xl/worksheets/sheet1.xml")


def test_shared_strings_part_is_created_when_xlsxwriter_wrote_none(tmp_path):
    path = tmp_path / "plain.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    ws.write_number(0, 0, 1)
    plan = bulk.SheetPlan(ws, 3)
    plan.add(0, pd.Series(["a", None, "a & b"], dtype="string"), None, None, "en")
    plan.add(1, pd.Series([1.5, 2.0, None]), None, None, "en")
    wb.close()
    bulk.complete(path, wb, [plan])
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(path)["Data"].iter_rows()]
    assert rows == [[1, None], ["a", 1.5], [None, 2], ["a & b", None]]
    assert inspect_workbook(path).unsafe == []


def test_sheet_writer_used_directly_writes_every_cell_itself(tmp_path):
    from crmkit.io.writer import SheetWriter

    df = _frame("orders", n=4000)                         # far above the bulk threshold
    path = tmp_path / "export.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    sw = SheetWriter(wb, "en")                            # callers that close the workbook themselves
    sw.write(ENTITIES["orders"], df)
    wb.close()
    assert sw.plans == []
    assert read_sheet(path, "orders")["order_id"].notna().sum() == df["order_id"].notna().sum()


def _no_markup(s: str) -> bool:
    return not (s.startswith("<r>") and s.endswith("</r>"))   # xlsxwriter writes such text as raw rich-text XML


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(products=st.lists(st.one_of(st.none(), st.text(max_size=30).filter(_no_markup)), min_size=1, max_size=40),
       amounts=st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=40),
       dates=st.lists(st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1900, 1, 1),
                                                         max_value=dt.datetime(2200, 12, 31))), min_size=1, max_size=40))
def test_any_text_number_or_date_is_written_as_xlsxwriter_writes_it(tmp_path, products, amounts, dates):
    n = max(len(products), len(amounts), len(dates))
    df = pd.DataFrame({
        "order_id": [f"O{i}" for i in range(n)],
        "product": pd.Series((products * n)[:n], dtype="string"),
        # 0.0 and -0.0 are one distinct value for pandas.factorize: the slow path itself writes either
        "amount": pd.Series([None if a is None else a + 0.0 for a in (amounts * n)[:n]], dtype="float64"),
        "order_date": pd.Series((dates * n)[:n], dtype="datetime64[ns]"),
    })
    folder = tmp_path / f"case{abs(hash((tuple(map(str, products)), n))) % 10**9}"
    _, slow, fast = _write_both(folder, "customers", "en", frames={"orders": coerce_frame(df, ENTITIES["orders"])})
    assert _resolved_parts(slow)[0] == _resolved_parts(fast)[0]


@pytest.mark.parametrize("dtype", ["string[python]", "string[pyarrow]", "str", "object", "category"])
def test_text_columns_of_every_pandas_string_dtype_are_written_alike(tmp_path, dtype):
    df = coerce_frame(pd.DataFrame({"order_id": [f"O{i}" for i in range(30)]}), ENTITIES["orders"])
    text = pd.Series([None if i % 4 == 0 else NASTY[i % len(NASTY)] for i in range(30)], dtype=object)
    df["product"] = text.astype(dtype)
    df["channel"] = pd.Series([None, "direct", "online", "nope"] * 7 + ["direct", None], dtype=object).astype(dtype)
    _, slow, fast = _write_both(tmp_path, "customers", "zh", frames={"orders": df})
    assert _resolved_parts(slow)[0] == _resolved_parts(fast)[0]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_dates_of_every_datetime_resolution_get_the_serials_xlsxwriter_computes(tmp_path, unit):
    df = coerce_frame(pd.DataFrame({"order_id": [f"O{i}" for i in range(len(DATES))]}), ENTITIES["orders"])
    df["order_date"] = pd.Series(DATES).dt.floor("s" if unit == "s" else "ms" if unit == "ms" else "us").astype(
        f"datetime64[{unit}]")
    df["Shipped"] = pd.Series(DATES).astype(f"datetime64[{unit}]" if unit != "s" else "datetime64[s]")
    df.attrs["extra_columns"] = ["Shipped"]               # no format of its own: Excel's default date format
    _, slow, fast = _write_both(tmp_path, "customers", "en", frames={"orders": df})
    assert _resolved_parts(slow)[0] == _resolved_parts(fast)[0]
