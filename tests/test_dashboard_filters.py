"""Dashboards: every filter applies to every figure of the Overview, and a chart with nothing to draw says so."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from crmkit import analytics as an
from crmkit.dashboard import charts, context, pages, widgets
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20 10:00"

# Old customers (2025) were won; the ones created in the last 90 days are not (yet).
CUSTOMERS = pd.DataFrame({
    "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
    "name": ["Old A", "Old B", "Old C", "New D", "New E", "New F"],
    "source": ["referral", "referral", "trade_show", "referral", "website_form", "website_form"],
    "stage": ["won", "won", "lost", "lead", "lead", "qualified"],
    "owner": ["Sam Patel", "Alex Chen", "Sam Patel", "Sam Patel", "Alex Chen", "Sam Patel"],
    "created_at": ["2025-03-01", "2025-04-01", "2025-05-01", "2026-10-01", "2026-11-01", "2026-11-10"],
})
ORDERS = pd.DataFrame({"order_id": ["O1", "O2", "O3"], "customer_id": ["C1", "C2", "C4"],
                       "order_date": ["2026-11-05", "2026-11-06", "2026-11-07"], "amount": [1000.0, 500.0, 20.0]})
TASKS = pd.DataFrame({"task_id": ["T1", "T2", "T3"], "customer_id": ["C1", "C4", None], "title": ["a", "b", "c"],
                      "owner": ["Sam Patel", "Sam Patel", "Alex Chen"], "due_at": ["2026-11-01"] * 3,
                      "status": ["open"] * 3, "created_at": ["2026-10-01"] * 3})


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from crmkit.templates import write_workspace

    folder = write_workspace(tmp_path_factory.mktemp("filters") / "ws",
                             {"customers": CUSTOMERS, "orders": ORDERS, "tasks": TASKS}, settings={"as_of": AS_OF})
    return open_workspace(folder)


def kpi(frame: pd.DataFrame, code: str) -> float:
    return float(frame.set_index("kpi").loc[code, "value"])


def test_kpi_cards_follow_the_created_filter_like_the_charts(ws):
    as_of = pd.Timestamp(AS_OF)
    everything = an.kpi_summary(ws, as_of)
    assert kpi(everything, "lead_conversion") == pytest.approx(2 / 6)       # the card before: 33.3% ...
    scope = pages.scoped(context.Context(ws.path, ws, "en", as_of, ws.settings), "90d", widgets.ALL, widgets.ALL)
    chosen = scope["customers"]
    assert chosen["customer_id"].tolist() == ["C4", "C5", "C6"]
    conv = an.conversion_by_source(chosen)
    assert conv["won"].sum() == 0                                          # ... next to all-zero bars
    cards = an.kpi_summary(scope, as_of)
    assert kpi(cards, "lead_conversion") == 0.0                            # now the card agrees with the bars
    assert kpi(cards, "revenue") == 20.0 and kpi(cards, "orders") == 1     # orders of the chosen customers only
    assert kpi(cards, "new_customers") == 2                                # created in the KPI month
    assert kpi(cards, "overdue_tasks") == 1                                # T2: the task of a chosen customer


def test_owner_and_channel_filters_reach_the_kpi_cards_and_the_task_chart(ws):
    scope = an.scope_workspace(ws, owner="Sam Patel", source="referral")
    assert scope["customers"]["customer_id"].tolist() == ["C1", "C4"]
    assert sorted(scope["orders"]["order_id"]) == ["O1", "O3"]
    assert scope["tasks"]["task_id"].tolist() == ["T1", "T2"]
    only_owner = an.scope_workspace(ws, owner="Alex Chen")
    assert only_owner["tasks"]["task_id"].tolist() == ["T3"]               # a task without a customer: its owner's
    cards = an.kpi_summary(scope, pd.Timestamp(AS_OF))
    assert kpi(cards, "revenue") == 1020.0 and kpi(cards, "lead_conversion") == 0.5
    assert an.scope_workspace(ws) is ws                                    # no filter: the workspace itself
    assert scope.settings is ws.settings and scope.as_of() == ws.as_of()


def test_the_overview_says_what_every_figure_covers_in_both_languages():
    en = pages.scope_note("en", "month", "Sam Patel", "referral", "90d")
    zh = pages.scope_note("zh", "month", widgets.ALL, widgets.ALL, "all")
    assert "Every figure on this page" in en and "Sam Patel" in en and "Referral" in en
    assert "本页所有指标卡、图表和表格" in zh and "全部负责人" in zh and "全部时间" in zh
    nb = json.loads((ROOT / "notebooks" / "overview.ipynb").read_text(encoding="utf-8"))
    code = "".join("".join(c["source"]) for c in nb["cells"])
    assert "pages.scoped(" in code and "pages.scope_note(" in code and "an.kpi_summary(scope" in code


def empty_frames(lang: str):
    """Every chart of every dashboard, from the frames crmkit computes for a workspace without data."""
    from crmkit import rfm

    customers = pd.DataFrame({c: pd.Series(dtype="object") for c in CUSTOMERS.columns})
    blank = open_workspace(ROOT / "templates" / lang) if (ROOT / "templates" / lang / "rules.xlsx").exists() else None
    as_of = pd.Timestamp(AS_OF)
    scores = rfm.workspace_scores(blank, as_of) if blank is not None else pd.DataFrame()
    settings = blank.settings if blank is not None else {}
    kpis = an.campaign_kpis(blank["campaigns"], blank["messages"], settings) if blank is not None else None
    return {
        "funnel": charts.funnel_chart(an.funnel(customers), lang),
        "conversion": charts.conversion_chart(an.conversion_by_source(customers), lang, 0.2),
        "trend": charts.trend_chart(an.trend(customers, ORDERS.iloc[:0], as_of, freq="M", periods=12), lang),
        "overdue": charts.overdue_chart(an.tasks_by_owner(TASKS.iloc[:0], as_of), lang),
        "segments": charts.segment_chart(rfm.segment_summary(scores), lang),
        "tiers": charts.tier_chart(rfm.tier_summary(scores), lang),
        "grid": charts.rfm_grid_chart(scores, lang),
        "rates": charts.campaign_rates_chart(kpis, lang),
        "roi": charts.campaign_roi_chart(kpis, lang),
        "completeness": charts.completeness_chart(an.completeness(customers, 0.9), lang, 0.9),
    }


@pytest.mark.parametrize("lang, message", [("en", "No data yet"), ("zh", "暂无数据")])
def test_every_chart_without_data_is_an_empty_state_not_empty_axes(lang, message):
    figures = empty_frames(lang)
    assert {k: type(v).__name__ for k, v in figures.items()} == dict.fromkeys(figures, "EmptyChart")
    for fig in figures.values():
        assert message in fig.html() and fig.title in fig.html()
    slot = charts.chart()
    charts.show_figure(slot, figures["funnel"])
    assert message in slot.children[0].value and 'data-empty="1"' in slot.children[0].value


def test_a_chart_with_data_is_still_drawn(ws):
    fig = charts.funnel_chart(an.funnel(ws["customers"]), "en")
    assert not charts.is_empty_chart(fig) and fig.data
    conv = an.conversion_by_source(ws["customers"].iloc[3:])           # customers, none won: 0 % is a fact
    assert not charts.is_empty_chart(charts.conversion_chart(conv, "en"))


@pytest.mark.parametrize("name, n_charts", [("overview", 5), ("campaigns", 2), ("customers_rfm", 3),
                                            ("data_quality", 1)])
def test_every_dashboard_on_a_blank_workspace_shows_no_data_yet_in_each_chart(name, n_charts, tmp_path, monkeypatch):
    """The notebook itself, run in a kernel against a new (blank) workspace: no error, an empty state per chart."""
    import nbformat
    from nbclient import NotebookClient

    from crmkit.templates import init_workspace

    folder = init_workspace(tmp_path / "blank", "zh")
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    monkeypatch.setenv("CRMKIT_WORKSPACE", str(folder))       # the kernel inherits both
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    state = json.dumps(nb.metadata.get("widgets", {}), ensure_ascii=False)
    assert state.count('data-empty=\\"1\\"') == n_charts
    assert state.count("暂无数据") == n_charts
