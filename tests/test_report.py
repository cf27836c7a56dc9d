"""The Excel report and the rfm / report commands, read back with openpyxl."""

from __future__ import annotations

import json
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit import analytics as an
from crmkit.cli import main
from crmkit.i18n import t
from crmkit.rfm import apply_rfm
from crmkit.workspace import open_workspace

AS_OF = "2026-11-20 10:00"


def ts(*values):
    return pd.to_datetime(list(values))


def tables() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
        "name": ["Acme", "Beta", "Gamma", "Delta", "Eps", "Zeta"],
        "phone": ["+8613800000001", None, "+8613800000001", None, None, "+8613800000009"],
        "source": ["website_form", "website_form", "referral", "trade_show", "referral", "website_form"],
        "stage": ["lead", "qualified", "won", "lost", "won", "proposal"],
        "owner": ["Li", "Li", "Wang", "Wang", "Li", "Li"],
        "created_at": ts("2026-11-15", "2026-10-01", "2026-01-10", "2026-03-01", "2026-06-01", "2026-11-01"),
    })
    orders = pd.DataFrame({
        "order_id": ["O1", "O2", "O3", "O4", "O5"], "customer_id": ["C3", "C3", "C5", "C5", "C2"],
        "order_date": ts("2026-11-10", "2026-10-05", "2026-05-01", "2026-11-18", "2026-12-01"),
        "amount": [1000.0, 500.0, 200.0, -50.0, 99.0], "channel": ["direct", "online", "direct", "direct", "online"]})
    tasks = pd.DataFrame({
        "task_id": ["T1", "T2", "T3"], "title": ["a", "b", "c"], "owner": ["Li", "Li", "Wang"],
        "due_at": ts("2026-11-19 10:00", "2026-11-20 15:00", "2026-11-18 09:00"),
        "status": ["open", "open", "open"], "created_at": ts(*["2026-11-01 09:00"] * 3)})
    tickets = pd.DataFrame({
        "ticket_id": ["K1", "K2"], "customer_id": ["C3", "C5"], "title": ["x", "y"],
        "type": ["complaint", "inquiry"], "status": ["closed", "closed"],
        "created_at": ts("2026-11-18 08:00", "2026-11-19 08:00"),
        "sla_due_at": ts("2026-11-18 10:00", "2026-11-19 10:00"),
        "first_response_at": ts("2026-11-18 09:00", "2026-11-19 12:00"),
        "satisfaction": [5, 3]})
    campaigns = pd.DataFrame({
        "campaign_id": ["M1"], "name": ["Autumn"], "audience": ['stage == "won"'], "channel": ["email"],
        "content": ["Hi {name}"], "cost": [100.0]})
    messages = pd.DataFrame({
        "message_id": ["G1", "G2"], "customer_id": ["C3", "C5"], "campaign_id": ["M1", "M1"],
        "channel": ["email", "email"], "content": ["Hi", "Hi"], "status": ["sent", "sent"],
        "queued_at": ts("2026-11-16 09:00", "2026-11-16 09:00"), "sent_at": ts("2026-11-16 09:00", "2026-11-16 09:00"),
        "opened_at": ts("2026-11-16 10:00", None), "clicked_at": ts("2026-11-16 10:05", None),
        "revenue": [500.0, None]})
    return {"customers": customers, "orders": orders, "tasks": tasks, "tickets": tickets,
            "campaigns": campaigns, "messages": messages}


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    """One workspace for the module, built once (workbook writing is the slow part)."""
    from crmkit.templates import write_workspace

    return write_workspace(tmp_path_factory.mktemp("report") / "ws", tables(), settings={"as_of": AS_OF})


@pytest.fixture
def ws_dir(base_dir, tmp_path):
    """A private copy of the module's workspace, for tests that write into it."""
    import shutil

    return Path(shutil.copytree(base_dir, tmp_path / "ws"))


@pytest.fixture(scope="module")
def month_report(base_dir, tmp_path_factory):
    from crmkit.report import write_report

    return write_report(open_workspace(base_dir), "month", out=tmp_path_factory.mktemp("out") / "month.xlsx")


@pytest.fixture(scope="module")
def week_report(base_dir, tmp_path_factory):
    from crmkit.report import write_report

    # the week of the data (Monday 11-16 to Sunday 11-22), not the default last full week
    return write_report(open_workspace(base_dir), "week", out=tmp_path_factory.mktemp("out") / "week.xlsx",
                        week="2026-W47")


def sheet_rows(sheet) -> list[tuple]:
    return [r for r in sheet.iter_rows(values_only=True)]


def table_frame(sheet, name_prefix: str) -> pd.DataFrame:
    """The Excel table whose name starts with ``name_prefix``, as a frame of cell values."""
    for name, ref in sheet.tables.items():
        if name.startswith(name_prefix):
            cells = sheet[ref]
            rows = [[c.value for c in row] for row in cells]
            return pd.DataFrame(rows[1:], columns=rows[0])
    raise AssertionError(f"no table {name_prefix} in {sheet.title}")


# --------------------------------------------------------------------------- RFM written to the workspace

def test_apply_rfm_writes_scores_segment_and_tier_into_customers(ws_dir):
    scores = apply_rfm(open_workspace(ws_dir))
    back = open_workspace(ws_dir)["customers"].set_index("customer_id")
    # C3: 2 orders (1,500); C5: 1 order, 150 net; C2's December order is after as_of
    # C3: R 4, F 2 (two purchases, fixed breaks), M 4 -> FM 3: potential loyalist
    assert back.loc["C3", "frequency"] == 2 and back.loc["C3", "monetary"] == 1500.0
    assert back.loc["C3", "rfm_segment"] == "potential_loyalist" and back.loc["C3", "value_tier"] == "potential"
    assert back.loc["C5", "rfm_segment"] == "hibernating" and back.loc["C5", "value_tier"] == "churn_risk"
    assert back.loc["C2", "rfm_segment"] == "no_orders" and pd.isna(back.loc["C2", "value_tier"])
    assert scores.loc["C3", "recency_days"] == 10


def test_rfm_columns_are_marked_as_computed_in_the_workbook(ws_dir):
    apply_rfm(open_workspace(ws_dir))
    sheet = openpyxl.load_workbook(ws_dir / "customers.xlsx")["Customers"]
    headers = {c.value: c for c in sheet[1]}
    seg = headers["RFM segment"]
    assert seg.comment is not None and "crmkit" in seg.comment.text
    assert headers["Customer ID *"].comment is None


def test_rfm_command_prints_segment_sizes_and_revenue(ws_dir, capsys):
    assert main(["rfm", str(ws_dir)]) == 0
    out = capsys.readouterr().out
    assert "6 customers scored" in out
    assert "Loyal" in out and "1,500.00" in out


def test_rfm_command_json_has_as_of_customers_and_segments(ws_dir, capsys):
    assert main(["rfm", str(ws_dir), "--json", "--as-of", "2026-12-05"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["as_of"] == "2026-12-05 00:00:00"
    assert payload["customers"] == 6
    assert sum(s["customers"] for s in payload["segments"].values()) == 6
    # as of 12-05 C2's December order counts
    assert payload["segments"]["no_orders"]["customers"] == 3
    assert sum(s["revenue"] for s in payload["segments"].values()) == pytest.approx(1749.0)


def test_rfm_command_on_a_missing_folder_exits_2(tmp_path, capsys):
    assert main(["rfm", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- the report workbook

def test_report_goes_to_the_reports_folder_by_default(ws_dir):
    from crmkit.report import write_report

    path = write_report(open_workspace(ws_dir), "month")
    assert path == ws_dir / "reports" / "report-month-2026-10.xlsx"      # the last full month before 11-20
    assert path.exists()


def test_report_has_a_summary_with_six_charts_and_one_sheet_per_table(month_report):
    wb = openpyxl.load_workbook(month_report)
    assert wb.sheetnames == ["Summary", "Funnel", "Channels", "Cycle time", "Follow-up", "Tasks", "Tickets",
                             "Campaigns", "Segments", "Data quality", "Trend"]
    assert len(wb["Summary"]._charts) == 6
    for name in wb.sheetnames[1:]:
        assert wb[name].tables, f"{name} holds no Excel table"


def test_report_kpis_equal_the_analytics_kpi_summary(base_dir, week_report):
    kpis = an.kpi_summary(open_workspace(base_dir), pd.Timestamp(AS_OF), "week",
                          bounds=an.calendar_period(AS_OF, "week", week="2026-W47"),
                          previous_bounds=an.calendar_period(AS_OF, "week", week="2026-W47", previous=True))
    rows = sheet_rows(openpyxl.load_workbook(week_report)["Summary"])
    by_label = {r[0]: r for r in rows if r and r[0]}
    for k in kpis.itertuples(index=False):
        row = by_label[t("kpi_" + k.kpi, "en")]
        for got, want in ((row[1], k.value), (row[2], k.previous), (row[4], k.target)):
            if isinstance(want, float) and math.isnan(want):
                assert got is None
            else:
                assert got == pytest.approx(want)
        status = row[5]
        if pd.isna(k.ok):
            assert status == ("no target" if math.isnan(k.target) else "no data")
        else:
            assert status == ("on target" if k.ok else "below target")


def test_week_kpis_hand_checked(base_dir):
    kpis = an.kpi_summary(open_workspace(base_dir), pd.Timestamp(AS_OF), "week").set_index("kpi")
    # week 11-13 10:00 .. 11-20 10:00: orders O4 (-50, a return) -> revenue -50, 0 purchases;
    # previous week holds O1 (1,000)
    assert kpis.loc["revenue", "value"] == -50.0 and kpis.loc["revenue", "previous"] == 1000.0
    assert kpis.loc["orders", "value"] == 0
    assert kpis.loc["new_customers", "value"] == 1          # C1 created 11-15
    # tickets: K1 answered in time, K2 late -> 50 %; satisfaction (5 + 3) / 2
    assert kpis.loc["sla_compliance", "value"] == 0.5 and kpis.loc["sla_compliance", "ok"] == False  # noqa: E712
    assert kpis.loc["satisfaction", "value"] == 4.0 and kpis.loc["satisfaction", "ok"] == True  # noqa: E712
    # campaign: 2 sent of 2, 1 opened, 1 clicked; ROI (500 - 100) / 100
    assert kpis.loc["reach", "value"] == 1.0 and kpis.loc["open_rate", "value"] == 0.5
    assert kpis.loc["conversion", "value"] == 1.0 and kpis.loc["campaign_roi", "value"] == 4.0
    # funnel: 2 won of 6 customers; open tasks past due: T1 and T3
    assert kpis.loc["lead_conversion", "value"] == pytest.approx(2 / 6)
    assert kpis.loc["overdue_tasks", "value"] == 2
    # C1 and C3 share a phone number
    assert kpis.loc["duplicate_groups", "value"] == 1


def test_report_tables_equal_the_analytics_frames(base_dir, month_report):
    wb = openpyxl.load_workbook(month_report)
    funnel = table_frame(wb["Funnel"], "t_funnel")
    expected = an.funnel(open_workspace(base_dir)["customers"])
    assert funnel["Customers"].tolist() == expected["customers"].tolist()
    assert funnel["Reached stage"].tolist() == expected["reached"].tolist()
    assert funnel["Stage"].tolist() == ["lead", "qualified", "proposal", "negotiation", "won"]
    tasks = table_frame(wb["Tasks"], "t_tasks")
    assert dict(zip(tasks["Owner"], tasks["Overdue"])) == {"Li": 1, "Wang": 1}
    seg = table_frame(wb["Segments"], "t_segments").set_index("RFM segment")
    assert seg.loc["Potential Loyalist", "Customers"] == 1 and seg.loc["Potential Loyalist", "Revenue"] == 1500.0
    assert seg.loc["No orders yet", "Customers"] == 4


def test_report_in_chinese_uses_chinese_sheets_and_labels(make_workspace):
    from crmkit.report import write_report

    ws_dir = make_workspace(tables(), lang="zh", settings={"as_of": AS_OF})
    path = write_report(open_workspace(ws_dir), "week")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["汇总", "销售漏斗", "渠道转化"]
    funnel = table_frame(wb["销售漏斗"], "t_funnel")
    assert funnel["阶段"].tolist()[0] == "初步接触"
    assert sheet_rows(wb["汇总"])[0][0] == "客户管理报表 — 周报"


def test_report_command_writes_to_out_and_prints_json(base_dir, tmp_path, capsys):
    out = tmp_path / "r.xlsx"
    assert main(["report", str(base_dir), "--period", "week", "--week", "2026-W47", "--out", str(out), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["path"] == str(out) and out.exists()
    assert payload["period"] == "week"
    assert payload["kpis"]["sla_compliance"] == {"value": 0.5, "previous": None, "target": 0.95, "ok": False}


def test_report_command_rejects_a_non_excel_output(base_dir, tmp_path, capsys):
    assert main(["report", str(base_dir), "--out", str(tmp_path / "r.csv")]) == 2
    assert ".xlsx" in capsys.readouterr().err


def test_report_is_not_written_while_open_in_excel(ws_dir, capsys):
    target = ws_dir / "reports" / "report-month-2026-10.xlsx"
    (ws_dir / "reports" / ("~$" + target.name)).write_text("")
    assert main(["report", str(ws_dir)]) == 2
    assert "open in Excel" in capsys.readouterr().err
    assert not target.exists()


def test_report_of_an_empty_workspace_still_opens(make_workspace):
    from crmkit.report import write_report

    ws_dir = make_workspace({}, settings={"as_of": AS_OF})
    wb = openpyxl.load_workbook(write_report(open_workspace(ws_dir), "month"))
    assert len(wb["Summary"]._charts) == 6


def test_rfm_command_refuses_while_customers_workbook_is_open(ws_dir, capsys):
    (ws_dir / "~$customers.xlsx").write_text("")
    assert main(["rfm", str(ws_dir)]) == 2
    assert "open in Excel" in capsys.readouterr().err


def test_rfm_command_with_bad_thresholds_names_the_setting(make_workspace, capsys):
    ws_dir = make_workspace(tables(), settings={"as_of": AS_OF, "rfm_thresholds": "r=30,60"})
    assert main(["rfm", str(ws_dir)]) == 1
    err = capsys.readouterr().err
    assert "rfm_thresholds" in err and "exactly 4" in err
