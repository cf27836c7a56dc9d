"""The CLV view of the Customers & RFM dashboard: its numbers come from crmkit.clv, unfittable data shows why."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from test_dashboard import small_workspace

from crmkit.dashboard import pages
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def sample_ws():
    return open_workspace(SAMPLE)


def test_clv_view_cards_and_tables_come_from_workspace_clv_for_the_chosen_customers(sample_ws):
    result, error = pages.clv_or_reason(sample_ws, sample_ws.as_of())
    assert error is None
    customers = sample_ws["customers"]
    owner = customers["owner"].dropna().iloc[0]
    part = customers[customers["owner"] == owner]
    cards, top, calls, kinds = pages.clv_view(result, part, "en", n=5)
    mine = result.table.loc[part["customer_id"].astype("string").to_numpy()]
    values = {c.key: c.value for c in cards}
    assert values["clv_total"] == pytest.approx(mine["clv"].sum())
    assert values["clv_purchases"] == pytest.approx(mine["expected_purchases"].sum())
    assert values["clv_p_alive"] == pytest.approx(mine["p_alive"].mean())          # mean over buyers (NaN skipped)
    assert values["clv_repeat_buyers"] == int((mine["frequency"] > 0).sum())
    expected_top = mine["clv"].sort_values(ascending=False).head(5)
    assert top["Customer ID"].tolist() == expected_top.index.tolist()
    assert top["CLV (customer lifetime value)"].tolist() == pytest.approx(expected_top.tolist())
    assert set(calls["Customer ID"]) <= set(mine.index) and len(calls) == 5
    assert calls["Value at risk"].is_monotonic_decreasing
    assert kinds["P(alive)"] == "pct" and kinds["CLV (customer lifetime value)"] == "money"


def test_clv_view_speaks_chinese(sample_ws):
    result, _ = pages.clv_or_reason(sample_ws, sample_ws.as_of())
    cards, top, calls, _ = pages.clv_view(result, sample_ws["customers"], "zh", n=3)
    assert [c.label for c in cards] == ["客户终身价值合计", "预计购买次数合计", "平均活跃概率", "复购客户"]
    assert {"活跃概率", "预计客单价", "客户终身价值（CLV）"} <= set(top.columns)
    assert "流失风险价值" in calls.columns


def test_a_workspace_that_cannot_be_fitted_gives_the_reason_in_both_languages(tmp_path):
    ws = open_workspace(small_workspace(tmp_path / "crm"))
    result, error = pages.clv_or_reason(ws, ws.as_of())
    assert result is None and error.sheet == "Orders"
    assert "only 3 customers bought again" in pages.clv_notice_html(error, "en")
    assert "只有 3 位客户在之后的日期再次购买" in pages.clv_notice_html(error, "zh")


def test_the_dashboard_notebook_shows_the_clv_view_on_the_sample(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    folder = Path(shutil.copytree(SAMPLE, tmp_path / "ws", ignore=shutil.ignore_patterns(".crmkit")))
    nb = nbformat.read(ROOT / "notebooks" / "customers_rfm.ipynb", as_version=4)
    monkeypatch.setenv("CRMKIT_WORKSPACE", str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    state = json.dumps(nb.metadata.get("widgets", {}), ensure_ascii=False)
    assert "crmkit-clv-top" in state and "crmkit-clv-call" in state and "crmkit-clv-msg" not in state
    assert 'data-kpi=\\"clv_total\\"' in state
