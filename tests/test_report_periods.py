"""A monthly report is a calendar month (the last full one by default); a weekly report runs Monday to Sunday."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from crmkit import analytics as an
from crmkit.cli import main
from crmkit.exceptions import UsageError

AS_OF = pd.Timestamp("2026-11-20 10:00")     # a Friday


@pytest.mark.parametrize("period, kw, previous, start, end, label", [
    ("month", {}, False, "2026-10-01", "2026-11-01", "2026-10"),
    ("month", {}, True, "2026-09-01", "2026-10-01", "2026-09"),
    ("month", {"month": "2026-11"}, False, "2026-11-01", "2026-12-01", "2026-11"),
    ("month", {"month": "2026-01"}, True, "2025-12-01", "2026-01-01", "2025-12"),
    ("week", {}, False, "2026-11-09", "2026-11-16", "2026-W46"),      # Monday 9 to Sunday 15
    ("week", {}, True, "2026-11-02", "2026-11-09", "2026-W45"),
    ("week", {"week": "2026-W47"}, False, "2026-11-16", "2026-11-23", "2026-W47"),
    ("week", {"week": "2027-W01"}, True, "2026-12-28", "2027-01-04", "2026-W53"),
])
def test_calendar_periods(period, kw, previous, start, end, label):
    got = an.calendar_period(AS_OF, period, previous=previous, **kw)
    assert (got.start, got.end, got.label) == (pd.Timestamp(start), pd.Timestamp(end), label)
    assert got.start.weekday() == 0 or period == "month"


def test_a_monday_report_covers_the_week_that_just_ended():
    got = an.calendar_period(pd.Timestamp("2026-11-16 08:00"), "week")
    assert (got.start, got.end) == (pd.Timestamp("2026-11-09"), pd.Timestamp("2026-11-16"))


def test_calendar_period_holds_its_first_day_and_not_the_next_period_s():
    p = an.calendar_period(AS_OF, "month")
    dates = pd.Series(pd.to_datetime(["2026-09-30 23:59", "2026-10-01 00:00", "2026-10-31 23:59", "2026-11-01 00:00"]))
    assert an.in_period(dates, p).tolist() == [False, True, True, False]


@pytest.mark.parametrize("kw, message", [
    ({"month": "2026-13"}, "YYYY-MM"), ({"month": "Nov"}, "YYYY-MM"), ({"week": "2026-W60"}, "YYYY-Www"),
])
def test_a_bad_month_or_week_is_a_usage_error(kw, message):
    with pytest.raises(UsageError, match=message):
        an.calendar_period(AS_OF, "week" if "week" in kw else "month", **kw)


def orders_ws(make_workspace):
    orders = pd.DataFrame({
        "order_id": ["O1", "O2", "O3", "O4", "O5", "O6"],
        "customer_id": ["C1"] * 6,
        "order_date": pd.to_datetime(["2026-09-15", "2026-10-01", "2026-10-31", "2026-11-01", "2026-11-19",
                                      "2026-10-25"]),
        "amount": [1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0],
        "channel": ["online"] * 6,
    })
    customers = pd.DataFrame({"customer_id": ["C1"], "name": ["Acme"], "source": ["referral"], "stage": ["won"],
                              "created_at": pd.to_datetime(["2026-01-05"])})
    return make_workspace({"customers": customers, "orders": orders}, settings={"as_of": "2026-11-20 10:00"})


def test_monthly_report_counts_the_last_full_calendar_month_against_the_one_before(make_workspace, capsys):
    ws_dir = orders_ws(make_workspace)
    assert main(["report", str(ws_dir), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["label"] == "2026-10"
    assert payload["kpis"]["revenue"]["value"] == 100110.0           # Oct 1, Oct 25, Oct 31; not Nov 1
    assert payload["kpis"]["revenue"]["previous"] == 1.0             # September
    assert payload["path"].endswith("report-month-2026-10.xlsx")
    wb = openpyxl.load_workbook(payload["path"])
    cells = [c for row in wb.worksheets[0].iter_rows(max_row=4, values_only=True) for c in row if c]
    assert "2026-10 (2026-10-01 – 2026-10-31)" in cells


def test_month_option_reports_another_month(make_workspace, capsys):
    ws_dir = orders_ws(make_workspace)
    assert main(["report", str(ws_dir), "--month", "2026-11", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["kpis"]["revenue"]["value"] == 11000.0
    assert payload["kpis"]["revenue"]["previous"] == 100110.0


def test_week_option_reports_a_monday_to_sunday_week(make_workspace, capsys):
    ws_dir = orders_ws(make_workspace)
    assert main(["report", str(ws_dir), "--week", "2026-W44", "--json"]) == 0      # Oct 26 - Nov 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["period"] == "week" and payload["label"] == "2026-W44"
    assert payload["kpis"]["revenue"]["value"] == 1100.0                          # Oct 31, Nov 1
    assert payload["kpis"]["revenue"]["previous"] == 100000.0                     # Oct 25 (W43)


def test_month_with_period_week_is_a_usage_error(make_workspace, capsys):
    ws_dir = orders_ws(make_workspace)
    assert main(["report", str(ws_dir), "--period", "week", "--month", "2026-10"]) == 2
    assert "--month" in capsys.readouterr().err
