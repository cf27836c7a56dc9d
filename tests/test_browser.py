"""The dashboards as a person uses them: `crmkit dashboard` in a real (headless) Chromium.

One server over a copy of a small workspace (tmp_path) serves every test of
this module.  Each dashboard must render without an error, show the numbers
crmkit.analytics computes, and load nothing from outside 127.0.0.1.  A
screenshot of each dashboard goes to artifacts/ (ignored by git).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest
from dashboard_process import running_dashboard
from test_dashboard import small_workspace

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# at least n plotly charts, each with something drawn (bars, lines, funnel, pie or heat map)
CHARTS_DRAWN = """n => { const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return plots.length >= n && plots.every(p => p.querySelector('.trace, .hm')); }"""
LOAD_TIMEOUT = 180_000  # ms; a kernel starts per page and the test machine may be busy

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                                                    "(make chromium installs it)"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workspace = small_workspace(tmp_path_factory.mktemp("browser") / "crm")
    ARTIFACTS.mkdir(exist_ok=True)
    with running_dashboard(workspace, ARTIFACTS / "dashboard-server.log") as dash:   # Voila's log, for a failed run
        yield dash


def open_page(browser, served, path: str, *, plots: int = 0):
    """Open a page, record every request, wait until Voila and the widgets have rendered."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(served.url + path, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT)
    if path.startswith("voila/render/"):
        page.wait_for_selector("#loading", state="detached", timeout=LOAD_TIMEOUT)
        rendered(page, 1)
        if plots:
            page.wait_for_function(CHARTS_DRAWN, arg=plots, timeout=60_000)
    return page, requests


def assert_clean(page, requests, served):
    text = page.inner_text("body")
    assert "There was an error when executing cell" not in text
    assert "Traceback" not in text and "Error:" not in text
    assert page.locator(".crmkit-msg-err").count() == 0
    local = (f"http://127.0.0.1:{served.port}/", f"ws://127.0.0.1:{served.port}/", "data:", "blob:")
    assert [u for u in requests if not u.startswith(local)] == []


def screenshot(page, name: str) -> Path:
    """The whole dashboard (Voila scrolls inside the page, so grow the viewport to the content first)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate("(document.querySelector('#rendered_cells') || document.body).scrollHeight")
    page.set_viewport_size({"width": 1400, "height": int(height) + 40})
    page.wait_for_timeout(800)  # plotly redraws at the new size
    path = ARTIFACTS / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def rendered(page, n: int) -> None:
    """Wait until the dashboard's n-th render (1 = first view, then one per filter change) is on the page."""
    page.wait_for_selector(f'.crmkit-ready[data-render="{n}"]', state="attached", timeout=60_000)


def leave(page) -> None:
    """Leave the page the way a person does (Voila shuts the page's kernel down on unload), then close it.

    Closing a tab without unloading leaves its kernel's socket half-open, and Voila 0.5 was seen to stall
    the next page's execution behind it."""
    page.goto("about:blank")
    page.close()


def card_values(page) -> dict[str, float]:
    raw = page.eval_on_selector_all(".crmkit-card", "els => els.map(e => [e.dataset.kpi, e.dataset.value])")
    return {k: (float(v) if v else math.nan) for k, v in raw}


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def workspace(served):
    from crmkit.workspace import open_workspace

    return open_workspace(served.workspace)


def choose(page, css: str, label: str) -> None:
    """Pick the option shown as ``label`` in a dropdown (ipywidgets options carry their labels)."""
    page.locator(f"{css} select").select_option(label=label)


def table_text(page, table_id: str) -> str:
    return page.inner_text(f"#{table_id}")


def download(page, export_css: str = "button.crmkit-export") -> pd.DataFrame:
    """Click an export button, then its download link; read the offered Excel file back."""
    page.locator(export_css).first.click()
    link = page.locator("a.crmkit-download").first
    link.wait_for(timeout=30_000)
    with page.expect_download(timeout=30_000) as info:
        link.click()
    dl = info.value
    assert dl.suggested_filename.endswith(".xlsx")
    return pd.read_excel(io.BytesIO(Path(dl.path()).read_bytes()), engine="openpyxl")


# --------------------------------------------------------------------------- tests

def test_landing_page_links_the_five_dashboards_with_bilingual_titles(browser, served):
    from crmkit.dashboard.server import DASHBOARDS

    page, requests = open_page(browser, served, "")
    cards = page.locator("a[data-dashboard]")
    assert cards.count() == len(DASHBOARDS)
    text = page.inner_text("body")
    for d in DASHBOARDS:
        link = page.locator(f'a[data-dashboard="{d.key}"]')
        assert link.get_attribute("href") == f"/voila/render/{d.notebook}"
        assert d.zh in text and d.en in text
    assert page.locator('a[data-form="forms"]').get_attribute("href") == "/voila/render/form.ipynb"
    assert "表单录入" in text and "Forms" in text
    assert_clean(page, requests, served)
    screenshot(page, "landing")
    leave(page)


def test_overview_shows_the_kpis_of_crmkit_analytics(browser, served):
    from crmkit import analytics as an

    page, requests = open_page(browser, served, "voila/render/overview.ipynb", plots=4)
    ws = workspace(served)
    expected = an.kpi_summary(ws, ws.as_of(), period="month").set_index("kpi")["value"]
    shown = card_values(page)
    assert set(shown) == set(expected.index)
    for kpi, value in expected.items():
        assert same(shown[kpi], float(value)), kpi
    rows = page.locator("#crmkit-overdue-by-owner").get_attribute("data-rows")
    assert int(rows) == len(an.tasks_by_owner(ws["tasks"], ws.as_of()))
    # the products view: crmkit.analytics.products over the same orders
    by_product = an.product_revenue(ws["orders"], ws["products"], as_of=ws.as_of())
    assert int(page.locator("#crmkit-products").get_attribute("data-rows")) == len(by_product)
    assert int(page.locator("#crmkit-low-stock").get_attribute("data-rows")) == len(an.low_stock(ws["products"]))
    assert_clean(page, requests, served)
    # the four charts load plotly's widget module from the server once, not 5 MB each in their state
    assert sum(u.endswith("/plotly-widgetbundle.js") for u in requests) == 1
    screenshot(page, "overview")

    # in Chinese: headings, KPI names and chart labels follow
    page.get_by_role("button", name="中文").click()
    rendered(page, 2)
    page.wait_for_function("[...document.querySelectorAll('.js-plotly-plot')].filter(p => "
                           "/销售漏斗|各来源渠道|趋势|各负责人的待办任务/.test(p.textContent)).length >= 4",
                           timeout=60_000)  # the charts redraw after the render: wait for their new titles
    text = page.inner_text("body")
    assert "关键指标与目标" in text and "服务工单" in text and "销售额" in page.inner_text(".crmkit-cards")
    assert_clean(page, requests, served)
    screenshot(page, "overview-zh")
    leave(page)


def test_campaigns_show_totals_and_flag_under_performers(browser, served):
    from crmkit import analytics as an

    page, requests = open_page(browser, served, "voila/render/campaigns.ipynb", plots=2)
    ws = workspace(served)
    kpis = an.campaign_kpis(ws["campaigns"], ws["messages"], ws.settings)
    totals = an.campaign_totals(kpis)
    shown = card_values(page)
    for key in ("sent", "reach", "open_rate", "conversion", "revenue", "cost", "roi"):
        assert same(shown[key], float(totals[key])), key
    below = ((kpis[["reach_ok", "open_ok", "conversion_ok"]] == False).fillna(False).any(axis=1)).sum()  # noqa: E712
    assert page.locator("#crmkit-campaigns tr.flag").count() == below == 1
    assert_clean(page, requests, served)
    screenshot(page, "campaigns")
    leave(page)


def test_customers_and_rfm_drill_into_a_segment_and_export_it(browser, served):
    from crmkit import rfm
    from crmkit.dashboard.formatting import enum_label
    from crmkit.schema import RFM_SEGMENT

    page, requests = open_page(browser, served, "voila/render/customers_rfm.ipynb", plots=3)
    ws = workspace(served)
    scores = rfm.workspace_scores(ws)
    summary = rfm.segment_summary(scores)
    shown = card_values(page)
    assert shown["customers"] == len(ws["customers"])
    assert same(shown["revenue"], float(summary["revenue"].sum()))
    assert int(page.locator("#crmkit-segments").get_attribute("data-rows")) == int((summary["customers"] > 0).sum())
    screenshot(page, "customers_rfm")

    segment = summary.loc[summary["customers"] > 0, "segment"].iloc[0]
    before = table_text(page, "crmkit-segment-customers")
    choose(page, ".crmkit-segment", enum_label(RFM_SEGMENT, segment, "en"))
    rendered(page, 2)
    assert table_text(page, "crmkit-segment-customers") != before
    members = int((scores["rfm_segment"] == segment).sum())
    assert int(page.locator("#crmkit-segment-customers").get_attribute("data-rows")) == members
    exported = download(page)
    assert len(exported) == members
    assert "Customer ID" in exported.columns
    assert not exported.astype(str).apply(lambda c: c.str.contains(r"\+861\d{10}")).any().any()  # masked
    assert_clean(page, requests, served)
    leave(page)


def test_data_quality_shows_completeness_duplicates_and_problems(browser, served):
    from crmkit import analytics as an

    page, requests = open_page(browser, served, "voila/render/data_quality.ipynb", plots=1)
    ws = workspace(served)
    comp = an.completeness(ws["customers"], float(ws.settings["completeness_target"]))
    shown = card_values(page)
    assert same(shown["completeness"], comp.attrs["overall"])
    assert int(page.locator("#crmkit-duplicates").get_attribute("data-rows")) >= 2  # C002 and C009: one company (Blue River), one phone
    assert shown["invalid_values"] >= 1  # the malformed e-mail of C006
    assert_clean(page, requests, served)
    screenshot(page, "data_quality")
    leave(page)


def test_my_day_follows_the_chosen_rep_and_marks_a_task_done(browser, served):
    from crmkit import analytics as an
    from crmkit.dashboard.pages import task_options

    page, requests = open_page(browser, served, "voila/render/my_day.ipynb")
    ws = workspace(served)
    as_of = ws.as_of()
    first = page.locator(".crmkit-owner select").input_value()
    assert first == "Alex Chen"
    rows = int(page.locator("#crmkit-tasks").get_attribute("data-rows"))
    assert rows == len(an.task_list(ws["tasks"], as_of, owner=first, when="today"))
    screenshot(page, "my_day")
    page.set_viewport_size({"width": 1400, "height": 1000})

    # another rep: another task table
    before = table_text(page, "crmkit-tasks")
    choose(page, ".crmkit-owner", "Jordan Kim")
    rendered(page, 2)
    assert table_text(page, "crmkit-tasks") != before
    jordan = an.task_list(ws["tasks"], as_of, owner="Jordan Kim", when="today")
    assert int(page.locator("#crmkit-tasks").get_attribute("data-rows")) == len(jordan)
    assert all(t in table_text(page, "crmkit-tasks") for t in jordan["task_id"])

    # export my overdue tasks
    exported = download(page)
    overdue = an.task_list(ws["tasks"], as_of, owner="Jordan Kim", when="overdue")
    assert exported["Task ID"].tolist() == overdue["task_id"].tolist()

    # mark one done: tasks.xlsx changes, the table follows
    task = jordan["task_id"].iloc[0]
    choose(page, ".crmkit-task-pick", dict((v, k) for k, v in task_options(jordan, "en"))[task])
    before = table_text(page, "crmkit-tasks")
    page.locator("button.crmkit-mark-done").click()
    page.wait_for_selector(".crmkit-msg-ok", timeout=60_000)
    rendered(page, 3)
    assert table_text(page, "crmkit-tasks") != before
    tasks = workspace(served)["tasks"].set_index("task_id")
    assert tasks.loc[task, "status"] == "done" and pd.notna(tasks.loc[task, "done_at"])
    assert task not in table_text(page, "crmkit-tasks")
    history = workspace(served)["history"]
    assert history["record_id"].tolist()[-1] == task and history["by"].tolist()[-1] == "Jordan Kim (dashboard)"

    # the language switch relabels the page in place
    page.get_by_role("button", name="中文").click()
    rendered(page, 4)
    assert "我的一天" in page.inner_text(".crmkit-title") and "今日及逾期任务" in page.inner_text("body")
    assert_clean(page, requests, served)
    screenshot(page, "my_day-zh")
    leave(page)
