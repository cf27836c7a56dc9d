"""The typed-table cache in .crmkit/cache: same frames as a fresh read, and never stale."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.io import cache
from crmkit.workspace import open_workspace

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(autouse=True)
def cache_small_workbooks(monkeypatch):
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    monkeypatch.delenv(cache.ENV_VAR, raising=False)


@pytest.fixture
def sample_copy(tmp_path):
    dst = tmp_path / "ws"
    shutil.copytree(SAMPLE, dst, ignore=shutil.ignore_patterns(".crmkit"))
    return dst


def fresh_read(path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, "0")
    frames = open_workspace(path).load_all()
    monkeypatch.delenv(cache.ENV_VAR)
    return frames


def assert_same_tables(expected: dict, got: dict) -> None:
    assert expected.keys() == got.keys()
    for key in expected:
        pd.testing.assert_frame_equal(expected[key], got[key], check_dtype=True, check_index_type=True,
                                      check_column_type=True, obj=key)
        assert expected[key].attrs == got[key].attrs, key


def test_a_cached_read_gives_the_same_frames_as_a_fresh_read(sample_copy, monkeypatch):
    first = open_workspace(sample_copy).load_all()               # parses and keeps a copy
    assert (sample_copy / ".crmkit" / "cache" / "customers.json").is_file()
    cached = open_workspace(sample_copy).load_all()
    assert_same_tables(first, cached)
    assert_same_tables(fresh_read(sample_copy, monkeypatch), cached)


def test_unknown_columns_and_values_that_did_not_convert_survive_the_cache(make_workspace, monkeypatch):
    ws_dir = make_workspace({"customers": pd.DataFrame({
        "customer_id": ["C1", "C2"], "name": ["Acme", "Beta"], "created_at": ["2026-01-05", "not a date"],
        "Shoe size": ["42", None]})})
    open_workspace(ws_dir).load_all()
    cached = open_workspace(ws_dir)["customers"]
    assert cached.attrs["extra_columns"] == ["Shoe size"]
    assert cached["Shoe size"].tolist()[0] == "42"
    again = open_workspace(ws_dir)
    again.load_all()
    [problem] = again.problems()
    assert (problem.row, problem.value) == (3, "not a date")
    assert problem.file == str(ws_dir / "customers.xlsx")
    assert_same_tables(fresh_read(ws_dir, monkeypatch), open_workspace(ws_dir).load_all())


def test_an_edited_workbook_is_read_again_even_with_the_same_size_and_date(sample_copy):
    path = sample_copy / "customers.xlsx"
    before = open_workspace(sample_copy)["customers"]
    stat = path.stat()
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    old = ws.cell(row=2, column=2).value
    ws.cell(row=2, column=2).value = old[:-1] + ("X" if old[-1] != "X" else "Y")
    wb.save(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # a copy tool that keeps dates
    after = open_workspace(sample_copy)["customers"]
    assert after.loc[2, "name"] != before.loc[2, "name"]
    assert after.loc[2, "name"] == ws.cell(row=2, column=2).value


def test_a_new_custom_field_is_typed_on_the_next_read_not_taken_from_the_cache(make_workspace):
    ws_dir = make_workspace({"customers": pd.DataFrame({
        "customer_id": ["C1"], "name": ["Acme"], "Budget": ["1200"]})})
    assert open_workspace(ws_dir)["customers"]["Budget"].tolist() == ["1200"]     # unknown column: text
    ws = open_workspace(ws_dir)
    ws.replace("fields", pd.DataFrame({"entity": ["customers"], "key": ["budget"], "label_en": ["Budget"],
                                       "label_zh": ["预算"], "type": ["number"], "enabled": [True]}))
    ws.save()
    budget = open_workspace(ws_dir)["customers"]["budget"]
    assert budget.tolist() == [1200.0]


def test_a_damaged_cache_is_ignored_and_rewritten(sample_copy, monkeypatch):
    open_workspace(sample_copy).load_all()
    data = sample_copy / ".crmkit" / "cache" / "customers.customers.arrow"
    data.write_bytes(b"not arrow at all")
    got = open_workspace(sample_copy).load_all()
    assert_same_tables(fresh_read(sample_copy, monkeypatch), got)
    assert data.read_bytes()[:6] == b"ARROW1"


def test_a_table_from_an_interrupted_store_is_not_mixed_with_another_version(sample_copy):
    ws = open_workspace(sample_copy)
    ws.load_all()
    folder = sample_copy / ".crmkit" / "cache"
    meta = (folder / "customers.json").read_text(encoding="utf-8")
    other = {k: ws[k] for k in ("customers", "interactions", "orders", "deals")}
    other["orders"] = other["orders"].head(3)
    assert cache.store(sample_copy, "customers", "another-key", other)
    (folder / "customers.json").write_text(meta.replace("another-key", "x"), encoding="utf-8")
    key = json.loads(meta)["key"]
    assert cache.load(sample_copy, "customers", key, "customers.xlsx") is None
    assert len(open_workspace(sample_copy)["orders"]) == len(ws["orders"])


def test_the_cache_can_be_turned_off(sample_copy, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, "0")
    open_workspace(sample_copy).load_all()
    assert not (sample_copy / ".crmkit" / "cache").exists()


def test_a_workspace_where_the_cache_cannot_be_written_still_reads(sample_copy, monkeypatch):
    (sample_copy / ".crmkit").mkdir(exist_ok=True)
    (sample_copy / ".crmkit" / "cache").write_text("a file where the folder would go")
    assert_same_tables(fresh_read(sample_copy, monkeypatch), open_workspace(sample_copy).load_all())


def test_a_broken_workbook_is_still_reported_when_a_cache_exists(sample_copy):
    from crmkit.exceptions import WorkbookError

    open_workspace(sample_copy).load_all()
    (sample_copy / "tasks.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook any more")
    with pytest.raises(WorkbookError) as err:
        open_workspace(sample_copy).load_all()
    assert "tasks.xlsx" in str(err.value)


@pytest.fixture
def memo_everything(monkeypatch):
    monkeypatch.setattr(cache, "MEMO_MIN_ROWS", 0)


def duplicates_workspace(make_workspace):
    return make_workspace({"customers": pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"], "name": ["Acme Ltd", "ACME", "Beta", "Beta Inc."],
        "phone": ["+8613800138000", "13800138000", "+8613900139000", None],
        "email": [None, None, "b@x.com", "B@X.com"]})})


def test_duplicate_groups_are_kept_and_found_again_until_the_customers_change(make_workspace, memo_everything,
                                                                              monkeypatch):
    from crmkit import dedupe

    customers = open_workspace(duplicates_workspace(make_workspace))["customers"]
    first = dedupe.find_duplicates(customers)
    assert set(first["customer_id"]) == {"C1", "C2", "C3", "C4"}
    assert list(cache.cache_dir(Path(customers.attrs["file"]).parent).glob("memo.duplicates.*.arrow"))

    def fail(*a, **k):
        raise AssertionError("worked out again")

    monkeypatch.setattr(dedupe, "_find_duplicates", fail)
    pd.testing.assert_frame_equal(dedupe.find_duplicates(customers), first)      # kept
    monkeypatch.undo()
    monkeypatch.setattr(cache, "MEMO_MIN_ROWS", 0)

    changed = customers.copy()
    changed.loc[3, "phone"] = "+8613700137000"                                  # C2 no longer C1's number
    again = dedupe.find_duplicates(changed)
    assert set(again["customer_id"]) == {"C3", "C4"}
    fewer = dedupe.find_duplicates(customers.iloc[1:])                           # a filtered frame
    assert set(fewer["customer_id"]) == {"C3", "C4"}


def test_the_fingerprint_tells_apart_slices_that_share_their_buffers():
    df = pd.DataFrame({"phone": pd.array(["a", "a", "b"], dtype="string")}, index=[2, 3, 4])
    head, tail = df.iloc[:2].reset_index(drop=True), df.iloc[1:].reset_index(drop=True)
    assert cache.fingerprint(head, ["phone"]) != cache.fingerprint(tail, ["phone"])
    assert cache.fingerprint(df, ["phone"]) == cache.fingerprint(df.copy(), ["phone"])
    assert cache.fingerprint(df, ["phone"], "US") != cache.fingerprint(df, ["phone"], "CN")


def test_nothing_is_kept_next_to_a_file_that_is_not_a_workspace_workbook(tmp_path, memo_everything):
    from crmkit import dedupe

    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Acme", "Acme"], "phone": [None, None],
                              "email": ["a@x.com", "a@x.com"]})
    customers.attrs["file"] = str(tmp_path / "leads-from-the-fair.xlsx")
    assert len(dedupe.find_duplicates(customers)) == 2
    assert not (tmp_path / ".crmkit").exists()
