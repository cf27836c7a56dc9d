"""The per-distinct-value fast paths of crmkit.normalize (added for speed) give the slow paths' results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmkit import normalize as nz
from crmkit.schema import enum_for

MESSY = {
    "enum": ["Retail", "零售", "retail ", "ＲＥＴＡＩＬ", "it_internet", "nope", "", None, "N/A", "Manufacturing"],
    "date": ["2024-05-01", "2024/5/1", "2024年5月1日", "45413", "20240501", "1/5/2024", "2024-05-01 13:30:00",
             "not a date", "", None, "2024-02-30"],
    "number": ["1,200", "¥3,000", "5%", "1.5万", "12", "abc", "", None, "-7.25", "１２"],
    "id": ["12.0", "C001", " C002 ", "Ｃ００３", None, "", "7.00", "12.5"],
    "multi": ["a; b ,c", "x，y、z", "", None, "solo", "a;b"],
    "bool": ["yes", "是", "no", "否", "TRUE", "0", "maybe", None, ""],
}


def _column(values: list, n: int = 3000, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), n)
    s = pd.Series([values[i] for i in picks], dtype=object)
    s.index = pd.RangeIndex(2, 2 + n)
    return s


def _slow(monkeypatch, fn, *args, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(nz, "_by_value", lambda *a, **k: None)
        return fn(*args, **kwargs)


def _same(a, b):
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _same(x, y)
        return
    pd.testing.assert_series_equal(a, b, check_names=False)


@pytest.mark.parametrize("kind, convert", [
    ("enum", lambda s: nz.to_enum(s, enum_for("customers", "industry"))),
    ("bool", lambda s: nz.to_bool(s, enum_for("customers", "marketing_consent"))),
    ("date", lambda s: nz.to_datetime(s)),
    ("date", lambda s: nz.to_datetime(s, dayfirst=True)),
    ("number", lambda s: nz.to_number(s)),
    ("id", lambda s: nz.to_id(s)),
    ("multi", lambda s: nz.to_multi(s)),
])
@pytest.mark.parametrize("dtype", [object, "str"])
def test_converting_each_distinct_value_once_gives_the_row_by_row_result(monkeypatch, kind, convert, dtype):
    s = _column(MESSY[kind]).astype(dtype)
    fast = convert(s)
    slow = _slow(monkeypatch, convert, s)
    _same(fast, slow)


def test_fast_path_keeps_the_excel_row_numbers_as_index():
    s = _column(MESSY["enum"])
    out, bad = nz.to_enum(s, enum_for("customers", "industry"))
    assert list(out.index[:3]) == [2, 3, 4]
    assert bad.index.equals(s.index)
    assert out.loc[bad].isin(["nope"]).all()


@pytest.mark.parametrize("values", [
    ["12", "-3.5", "1e3", None, "0", "160"],                  # all plain: one pyarrow cast
    ["12", "-3.5", "1,200", None, "¥3,000", "5%", "abc"],      # one formatted value: the general path
])
def test_plain_numbers_convert_as_the_general_path_does(monkeypatch, values):
    s = _column(values).astype("str")
    fast = nz.to_number(s)
    with monkeypatch.context() as m:
        m.setattr(nz, "_plain_numbers", lambda s: None)
        slow = _slow(monkeypatch, nz.to_number, s)
    _same(fast, slow)
    assert fast[0].dtype == "float64" and fast[0].index.equals(s.index)


@pytest.mark.parametrize("typed, expected", [
    ("  ＡＢＣ１２３ ", "ABC123"), ("\u3000客户\u3000", "客户"), ("N/A", None), ("—", None), ("  ", None),
    ("nan", None), ("无", None), ("a\u00a0b", "a b"), (None, None),
])
def test_nfkc_folds_full_width_trims_and_blanks(typed, expected):
    out = nz.nfkc(pd.Series([typed, "x"], dtype=object, index=[5, 6], name="col"))
    assert (None if pd.isna(out.iloc[0]) else out.iloc[0]) == expected
    assert out.iloc[1] == "x" and list(out.index) == [5, 6] and out.name == "col" and out.dtype == "string"
