"""The dashboard helpers (crmkit.dashboard.formatting, widgets, pages ...), the server (crmkit.dashboard.server)
and the `crmkit dashboard` command.

``small_workspace`` builds the small, hand-made workspace that the notebook
and browser tests also use (they import it from here).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20 10:00"
TS = pd.Timestamp


def small_workspace(folder: Path, lang: str = "en", **settings) -> Path:
    """A small workspace with something in every dashboard (as of 2026-11-20 10:00)."""
    from crmkit.rules.defaults import default_team
    from crmkit.templates import write_workspace

    team = default_team(lang)["name"].tolist()
    alex, sam, jordan = team[1], team[2], team[3]
    customers = pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in range(1, 11)],
        "name": ["Acme Tools", "Blue River", "Cedar Labs", "Delta Foods", "Echo Retail", "Fox Media",
                 "Granite Co", "Harbor Ltd", "Blue River Trading", "Jade Motors"],   # C009: C002 again
        "contact_name": ["Ann", "Bo", "Cy", None, "Eve", "Fay", "Gus", "Hal", None, "Jo"],
        "phone": ["+8613812345678", "+8613900001111", None, "+8613700002222", "+8613600003333",
                  None, "+8613500004444", "+8613400005555", "+8613900001111", "+8613300006666"],
        "email": ["ann@acme.example", None, "cy@cedar.example", "d@delta.example", None, "fay@@fox",
                  None, "hal@harbor.example", None, "jo@jade.example"],
        "industry": ["manufacturing", "retail", "it_internet", "retail", "retail", "other", "manufacturing",
                     None, "other", "manufacturing"],
        "source": ["website_form", "trade_show", "referral", "online_ad", "ecommerce", "website_form",
                   "referral", "trade_show", "social_media", "cold_call"],
        "intent_level": ["A", "B", "A", "C", "B", "D", "A", "B", "C", "A"],
        "stage": ["won", "lead", "proposal", "qualified", "won", "lost", "negotiation", "lead", "qualified", "won"],
        "owner": [alex, alex, alex, sam, sam, sam, jordan, jordan, alex, sam],
        "created_at": [TS("2026-03-01"), TS("2026-11-10"), TS("2026-09-15"), TS("2026-10-01"), TS("2026-02-10"),
                       TS("2026-05-05"), TS("2026-08-20"), TS("2026-11-18"), TS("2026-10-25"), TS("2025-12-01")],
        "marketing_consent": [True, True, False, True, True, False, True, True, True, True],
    })
    interactions = pd.DataFrame({
        "interaction_id": ["I01", "I02", "I03", "I04", "I05"],
        "customer_id": ["C001", "C003", "C004", "C007", "C010"],
        "at": [TS("2026-11-01 10:00"), TS("2026-11-05 15:00"), TS("2026-11-19 09:00"), TS("2026-11-18 11:00"),
               TS("2026-09-01 10:00")],
        "method": ["phone", "visit", "email", "phone", "wecom"],
        "content": ["Renewal call", "Demo", "Sent quote", "Price talk", "Check-in"],
        "owner": [alex, alex, sam, jordan, sam],
    })
    orders = pd.DataFrame({
        "order_id": [f"O{i:02d}" for i in range(1, 11)],
        "customer_id": ["C001", "C001", "C001", "C005", "C005", "C010", "C003", "C007", "C001", "C010"],
        "order_date": [TS("2026-04-01"), TS("2026-07-15"), TS("2026-11-02"), TS("2026-03-01"), TS("2026-06-01"),
                       TS("2026-01-10"), TS("2026-10-20"), TS("2026-11-12"), TS("2026-11-15"), TS("2026-02-10")],
        "amount": [12000.0, 8000.0, 15000.0, 3000.0, 4500.0, 60000.0, 2000.0, 9000.0, 5000.0, 30000.0],
        "channel": ["direct", "direct", "online", "online", "online", "direct", "partner", "direct", "online", "direct"],
        # order lines of the catalogue below (amount = quantity x unit price)
        "product_id": ["P1", "P1", "P1", "P2", "P2", "P1", "P2", "P3", "P2", "P1"],
        "quantity": [12.0, 8.0, 15.0, 6.0, 9.0, 60.0, 4.0, 6.0, 10.0, 30.0],
        "unit_price": [1000.0, 1000.0, 1000.0, 500.0, 500.0, 1000.0, 500.0, 1500.0, 500.0, 1000.0],
    })
    products = pd.DataFrame({
        "product_id": ["P1", "P2", "P3"], "name": ["Licence", "Scanner", "Printer"],
        "category": ["Software", "Hardware", "Hardware"], "unit_price": [1000.0, 500.0, 1500.0],
        "unit_cost": [200.0, 300.0, 900.0], "stock": [None, 3.0, 20.0], "reorder_level": [None, 5.0, 5.0],
        "status": ["active", "active", "active"], "owner": [alex, jordan, jordan],
    })
    deals = pd.DataFrame({
        "deal_id": ["D1", "D2"], "customer_id": ["C007", "C003"], "name": ["Granite line", "Cedar pilot"],
        "amount": [50000.0, 12000.0], "stage": ["negotiation", "proposal"], "owner": [jordan, alex],
        "created_at": [TS("2026-09-01"), TS("2026-10-01")], "stage_changed_at": [TS("2026-11-10"), TS("2026-10-15")],
    })
    tasks = pd.DataFrame({
        "task_id": ["T01", "T02", "T03", "T04", "T05", "T06", "T07"],
        "customer_id": ["C001", "C002", "C003", "C004", "C007", "C008", "C009"],
        "title": ["Renewal call", "First follow-up", "Send proposal", "Check quote", "Negotiation prep",
                  "First follow-up", "Needs analysis"],
        "owner": [alex, alex, alex, sam, jordan, jordan, alex],
        "due_at": [TS("2026-11-18 10:00"), TS("2026-11-20 15:00"), TS("2026-11-25 10:00"), TS("2026-11-19 12:00"),
                   TS("2026-11-20 16:00"), TS("2026-11-15 09:00"), TS("2026-11-16 09:00")],
        "status": ["open", "open", "open", "open", "open", "open", "done"],
        "priority": ["high", "normal", "normal", "high", "normal", "low", "normal"],
        "created_by": [alex, "rule:R01C", alex, sam, jordan, "rule:R01C", alex],
        "created_at": [TS("2026-11-10")] * 7,
        "done_at": [pd.NaT] * 6 + [TS("2026-11-16 17:00")],
    })
    tickets = pd.DataFrame({
        "ticket_id": ["K1", "K2", "K3"], "customer_id": ["C001", "C005", "C010"],
        "title": ["Install help", "Late delivery", "Error code 42"],
        "type": ["tech_support", "complaint", "tech_support"], "priority": ["normal", "urgent", "normal"],
        "status": ["closed", "open", "in_progress"], "assignee": [alex, sam, sam],
        "created_at": [TS("2026-11-02 09:00"), TS("2026-11-18 09:00"), TS("2026-11-19 09:00")],
        "sla_due_at": [TS("2026-11-03 09:00"), TS("2026-11-18 11:00"), TS("2026-11-21 09:00")],
        "first_response_at": [TS("2026-11-02 15:00"), pd.NaT, pd.NaT],
        "closed_at": [TS("2026-11-04 09:00"), pd.NaT, pd.NaT],
        "satisfaction": pd.array([5, pd.NA, pd.NA], dtype="Int64"),
    })
    campaigns = pd.DataFrame({
        "campaign_id": ["M1", "M2"], "name": ["Autumn offer", "Webinar invite"],
        "audience": ['value_tier == "high_value"', 'stage == "lead"'], "channel": ["email", "sms"],
        "content": ["Hello {name}", "Join us"], "send_at": [TS("2026-11-05 10:00"), TS("2026-11-12 10:00")],
        "owner": [alex, sam], "cost": [1000.0, 500.0],
    })
    messages = pd.DataFrame({
        "message_id": [f"G{i}" for i in range(1, 7)],
        "customer_id": ["C001", "C005", "C010", "C002", "C008", "C006"],
        "campaign_id": ["M1", "M1", "M1", "M2", "M2", "M2"],
        "channel": ["email", "email", "email", "sms", "sms", "sms"],
        "content": ["Hello"] * 6,
        "status": ["sent", "sent", "sent", "sent", "sent", "suppressed"],
        "queued_at": [TS("2026-11-05 10:00")] * 3 + [TS("2026-11-12 10:00")] * 3,
        "sent_at": [TS("2026-11-05 10:00")] * 3 + [TS("2026-11-12 10:00")] * 2 + [pd.NaT],
        "opened_at": [TS("2026-11-05 12:00"), TS("2026-11-06 09:00"), pd.NaT, pd.NaT, pd.NaT, pd.NaT],
        "clicked_at": [TS("2026-11-05 12:05"), pd.NaT, pd.NaT, pd.NaT, pd.NaT, pd.NaT],
        "converted_at": [TS("2026-11-07 10:00"), pd.NaT, pd.NaT, pd.NaT, pd.NaT, pd.NaT],
        "revenue": [5000.0, None, None, None, None, None],
    })
    rule_log = pd.DataFrame({
        "run_id": ["run1", "run1", "run2"], "at": [TS("2026-11-18 08:00"), TS("2026-11-18 08:00"), TS("2026-11-20 08:00")],
        "rule_id": ["R01C", "R03A", "R12A"], "entity": ["customers"] * 3, "record_id": ["C002", "C001", "C008"],
        "action": ["create_task", "create_task", "create_task"], "outcome": ["done", "done", "done"],
        "detail": ["task T02", "renewal task", "task T06"],
    })
    s = {"as_of": AS_OF}
    s.update(settings)
    return write_workspace(folder, {
        "customers": customers, "interactions": interactions, "orders": orders, "deals": deals, "tasks": tasks,
        "tickets": tickets, "campaigns": campaigns, "messages": messages, "rule_log": rule_log,
        "products": products,
    }, lang=lang, settings=s)


@pytest.fixture
def small(tmp_path) -> Path:
    return small_workspace(tmp_path / "crm")


# --------------------------------------------------------------------------- crmkit.dashboard

def test_workspace_path_prefers_the_argument_then_the_environment_then_sample_data(monkeypatch, tmp_path):
    from crmkit.dashboard.server import CHECKOUT_SAMPLE, workspace_path

    monkeypatch.delenv("CRMKIT_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)                        # not a workspace
    assert workspace_path() == ROOT / "sample_data" == CHECKOUT_SAMPLE
    monkeypatch.setenv("CRMKIT_WORKSPACE", str(tmp_path))
    assert workspace_path() == tmp_path.resolve()
    assert workspace_path(tmp_path / "other") == (tmp_path / "other").resolve()


def test_workspace_path_takes_the_current_folder_when_it_is_a_workspace(monkeypatch, tmp_path):
    from crmkit.dashboard.server import workspace_path

    folder = small_workspace(tmp_path / "crm")
    monkeypatch.delenv("CRMKIT_WORKSPACE", raising=False)
    monkeypatch.chdir(folder)
    assert workspace_path() == folder.resolve()


@pytest.mark.parametrize("lang, text", [("en", "no workspace to show"), ("zh", "没有可显示的工作区")])
def test_an_installed_crmkit_without_a_workspace_says_how_to_name_one(monkeypatch, tmp_path, lang, text):
    from crmkit.dashboard import server
    from crmkit.exceptions import UsageError
    from crmkit.i18n import using_lang

    monkeypatch.delenv("CRMKIT_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(server, "CHECKOUT_SAMPLE", tmp_path / "absent")   # as in a wheel: no sample_data
    with using_lang(lang):
        with pytest.raises(UsageError) as caught:
            server.workspace_path()
        assert text in str(caught.value) and "CRMKIT_WORKSPACE" in str(caught.value)


def test_kernels_get_the_checkout_on_their_path_only_when_crmkit_is_not_installed(monkeypatch, tmp_path):
    import sysconfig

    from crmkit.dashboard import server

    assert server.kernel_pythonpath(None).split(os.pathsep)[0] == str(server.ROOT)     # a checkout
    assert server.kernel_pythonpath(str(server.ROOT)) == str(server.ROOT)              # never twice
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    monkeypatch.setattr(server, "ROOT", site)                                          # an installed wheel
    assert server.kernel_pythonpath(None) is None
    assert server.kernel_pythonpath(str(tmp_path)) == str(tmp_path)


def test_voila_serves_the_notebook_folder_on_loopback_with_the_offline_template(tmp_path):
    from crmkit.dashboard.server import ASSETS_DIR, NOTEBOOK_DIR, voila_command, voila_env

    cmd = voila_command(8899)
    assert str(NOTEBOOK_DIR) in cmd
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=8899" in cmd and "--no-browser" in cmd
    assert "--template=crmkit" in cmd
    env = voila_env(tmp_path)
    assert env["CRMKIT_WORKSPACE"] == str(tmp_path)
    assert env["JUPYTER_PATH"].split(os.pathsep)[0] == str(ASSETS_DIR)
    assert (ASSETS_DIR / "voila" / "templates" / "crmkit" / "index.html.j2").is_file()


def test_dashboards_keep_one_warmed_kernel_per_notebook_unless_turned_off(monkeypatch):
    from crmkit.dashboard.server import PREHEAT_OPTIONS, voila_command

    monkeypatch.delenv("CRMKIT_PREHEAT", raising=False)
    assert "--preheat_kernel=True" in voila_command(8899) and "--pool_size=1" in voila_command(8899)
    assert not set(PREHEAT_OPTIONS) & set(voila_command(8899, preheat=False))
    monkeypatch.setenv("CRMKIT_PREHEAT", "0")
    assert not set(PREHEAT_OPTIONS) & set(voila_command(8899))


def test_outside_a_preheated_kernel_loading_a_dashboard_does_not_wait(monkeypatch):
    from crmkit.dashboard import context

    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    assert not context.preheated()
    context.wait_for_request()                     # returns at once
    ctx = context.load_context(ROOT / "sample_data")
    assert len(ctx.ws["customers"]) > 0


def test_the_template_loads_nothing_from_outside_the_machine():
    from crmkit.dashboard.server import ASSETS_DIR

    folder = ASSETS_DIR / "voila" / "templates" / "crmkit"
    for f in folder.iterdir():
        text = f.read_text(encoding="utf-8")
        assert "cdn." not in text and 'href="http' not in text and 'src="http' not in text, f.name


def test_landing_page_links_every_dashboard_with_both_titles():
    from crmkit.dashboard.server import ASSETS_DIR, DASHBOARDS

    page = (ASSETS_DIR / "voila" / "templates" / "crmkit" / "tree.html").read_text(encoding="utf-8")
    for d in DASHBOARDS:
        assert f'voila/render/{d.notebook}"' in page
        assert d.zh in page and d.en.replace("&", "&amp;") in page


@pytest.mark.parametrize("name", ["overview", "my_day", "campaigns", "customers_rfm", "data_quality"])
def test_dashboard_notebook_is_committed_clean_with_a_parameters_cell(name):
    import nbformat

    path = ROOT / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("id") for c in nb.cells)
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "workspace = None" in code[0].source
    source = "\n".join(c.source for c in code)
    assert "os.chdir" not in source and "/work/" not in source and "C:\\" not in source


def test_start_refuses_a_folder_that_is_not_a_workspace(tmp_path):
    from crmkit.dashboard.server import start
    from crmkit.exceptions import WorkspaceNotFound

    with pytest.raises(WorkspaceNotFound):
        start(tmp_path / "missing")


def test_cli_dashboard_reports_a_missing_workspace_with_exit_code_2(tmp_path, capsys):
    from crmkit.cli import main

    assert main(["dashboard", str(tmp_path / "nope"), "--no-browser"]) == 2
    assert "workspace folder not found" in capsys.readouterr().err


def test_cli_dashboard_reports_a_busy_port_with_exit_code_2(small, capsys):
    import socket

    from crmkit.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["dashboard", str(small), "--port", str(port), "--no-browser"]) == 2
    assert "already in use" in capsys.readouterr().err


# --------------------------------------------------------------------------- crmkit.dashboard: display

def test_contacts_are_masked_unless_settings_allow_full_display():
    from crmkit.dashboard.formatting import mask_contacts

    df = pd.DataFrame({"phone": ["+8613812345678", None], "email": ["annie@acme.com", "x"], "name": ["A", "B"]})
    masked = mask_contacts(df)
    assert masked["phone"].tolist()[0] == "138****5678"
    assert pd.isna(masked["phone"].iloc[1])
    assert masked["email"].tolist() == ["an***@acme.com", "x"]
    assert masked["name"].tolist() == ["A", "B"]
    assert mask_contacts(df, show_full=True)["phone"].iloc[0] == "+8613812345678"


def test_display_frame_translates_headers_and_codes_to_chinese():
    from crmkit.dashboard.formatting import display_frame

    df = pd.DataFrame({"customer_id": ["C1"], "stage": ["negotiation"], "source": ["website_form"],
                       "phone": ["+8613812345678"], "marketing_consent": pd.array([True], dtype="boolean"),
                       "created_at": [pd.Timestamp("2026-11-02")]})
    out = display_frame(df, "zh", entity="customers")
    assert list(out.columns) == ["客户编号", "客户阶段", "客户来源", "联系电话", "同意接收营销信息", "建档日期"]
    assert out.iloc[0].tolist() == ["C1", "商务谈判", "官网表单", "138****5678", "是", "2026-11-02"]
    en = display_frame(df, "en", entity="customers", columns=["stage", "source"])
    assert en.iloc[0].tolist() == ["Negotiation", "Website form"]


def test_table_html_formats_numbers_and_escapes_text():
    from crmkit.dashboard.formatting import table_html

    df = pd.DataFrame({"Name": ["<b>x</b>"], "Revenue": [12345.0], "Rate": [0.256]})
    html = table_html(df, formats={"Rate": "pct"}, table_id="t1")
    assert 'id="t1"' in html and 'data-rows="1"' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "12,345" in html and "25.6%" in html
    assert "crmkit-empty" in table_html(df.iloc[0:0], lang="zh")


def test_kpi_cards_carry_the_raw_value_and_the_target_verdict():
    from crmkit.dashboard.formatting import kpi_cards

    kpis = pd.DataFrame({"kpi": ["revenue", "reach"], "kind": ["money", "rate"], "value": [29000.0, 0.8333],
                         "previous": [0.0, 0.0], "target": [float("nan"), 0.85],
                         "ok": pd.array([pd.NA, False], dtype="boolean")})
    html = kpi_cards(kpis, "en")
    assert 'data-kpi="revenue" data-value="29000.0"' in html
    assert 'class="crmkit-card miss" data-kpi="reach"' in html and "83.3%" in html and "85.0%" in html


def test_period_filters_count_back_from_as_of():
    from crmkit.dashboard.widgets import in_period, period_bounds

    as_of = pd.Timestamp("2026-11-20 10:00")
    assert period_bounds("7d", as_of) == (pd.Timestamp("2026-11-13"), as_of)
    assert period_bounds("all", as_of) == (None, as_of)
    dates = pd.Series([pd.Timestamp("2026-11-12"), pd.Timestamp("2026-11-13"), pd.NaT, pd.Timestamp("2026-11-21")])
    assert in_period(dates, "7d", as_of).tolist() == [False, True, False, False]
    assert in_period(dates, "all", as_of).tolist() == [True, True, True, True]


def test_excel_export_keeps_formula_looking_text_as_text():
    import openpyxl

    from crmkit.dashboard.widgets import excel_bytes

    df = pd.DataFrame({"客户名称": ["=HYPERLINK(\"x\")", "Acme"], "金额": [1.5, None]})
    wb = openpyxl.load_workbook(io.BytesIO(excel_bytes(df, "客户")))
    ws = wb["客户"]
    assert [c.value for c in ws[1]] == ["客户名称", "金额"]
    assert ws["A2"].value == '=HYPERLINK("x")' and ws["A2"].data_type == "s"
    assert ws["B2"].value == 1.5 and ws["B3"].value is None


def test_under_performing_campaigns_name_the_rates_below_target():
    from crmkit.dashboard.pages import under_performance

    kpis = pd.DataFrame({"reach_ok": pd.array([True, False, pd.NA], dtype="boolean"),
                         "open_ok": pd.array([True, False, pd.NA], dtype="boolean"),
                         "conversion_ok": pd.array([True, pd.NA, pd.NA], dtype="boolean")})
    assert under_performance(kpis, "en").tolist() == ["", "Reach, Open rate", ""]
    assert under_performance(kpis, "zh").tolist()[1] == "触达率、打开率"


def test_follow_ups_due_lists_the_reps_late_customers_most_late_first():
    from crmkit.dashboard.pages import follow_ups_due

    status = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "stage": ["lead", "won", "lead"],
                           "owner": ["Ann", "Ann", "Bo"],
                           "last_contact": pd.to_datetime(["2026-11-01", "2026-09-01", "2026-10-01"]),
                           "due_at": pd.to_datetime(["2026-11-08", "2026-10-01", "2026-10-08"]),
                           "on_cadence": [False, False, False]})
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["A", "B", "C"],
                              "contact_name": ["a", "b", "c"], "phone": [None, None, None]})
    out = follow_ups_due(status, customers, "Ann", pd.Timestamp("2026-11-20 10:00"))
    assert out["customer_id"].tolist() == ["C2", "C1"]
    assert out["days_late"].tolist() == [50, 12]
    assert out["name"].tolist() == ["B", "A"]


def test_rule_actions_show_only_my_customers_in_the_period_latest_first():
    from crmkit.dashboard.pages import rule_actions

    log = pd.DataFrame({"at": pd.to_datetime(["2026-11-01", "2026-11-18", "2026-11-19", "2026-11-19"]),
                        "rule_id": ["R1", "R1", "R2", "R2"], "entity": ["customers"] * 4,
                        "record_id": ["C1", "C1", "C1", "C9"], "action": ["notify"] * 4,
                        "outcome": ["done"] * 4, "detail": ["a", "b", "c", "d"]})
    rules = pd.DataFrame({"rule_id": ["R1", "R2"], "name": ["Rule one", "Rule two"]})
    out = rule_actions(log, rules, pd.Series(["C1"]), "7d", pd.Timestamp("2026-11-20 10:00"))
    assert out["detail"].tolist() == ["c", "b"]
    assert out["rule_name"].tolist() == ["Rule two", "Rule one"]


def test_my_day_opens_on_the_first_rep_with_open_tasks_and_lists_them(small):
    from crmkit import analytics as an
    from crmkit.dashboard.context import load_context
    from crmkit.dashboard.pages import default_rep, task_options

    ctx = load_context(small)
    assert ctx.as_of == pd.Timestamp(AS_OF)
    rep = default_rep(ctx)
    assert rep == "Alex Chen"
    opts = task_options(an.task_list(ctx.ws["tasks"], ctx.as_of, owner=rep, when="open"), "en")
    assert [v for _, v in opts] == ["T01", "T02", "T03"]
    assert opts[0][0] == "T01 · Renewal call · 11-18 10:00"


def test_the_chinese_workspace_opens_in_chinese(tmp_path):
    from crmkit.dashboard.context import load_context
    from crmkit.dashboard.widgets import subtitle

    ctx = load_context(small_workspace(tmp_path / "zh", lang="zh"))
    assert ctx.lang == "zh"
    assert subtitle(ctx).startswith("工作区 zh · 数据截至 2026-11-20 10:00")
    assert load_context(ctx.path, lang="en").lang == "en"


def test_problem_lists_mask_contacts_and_translate_the_severity():
    from crmkit.dashboard.pages import issue_frame

    issues = pd.DataFrame({"sheet": ["Customers", "Customers"], "row": [7, 8], "column": ["E-mail", "Phone"],
                           "field": ["email", "phone"], "value": ["fay@@fox", "+8613812345678"],
                           "severity": ["error", "warning"], "reason": ["bad", "bad"]})
    out = issue_frame(issues, "zh")
    assert out.iloc[:, 3].tolist() == ["fa***@@fox", "138****5678"]
    assert out.iloc[:, 4].tolist() == ["错误", "警告"]
    assert issue_frame(issues, "en", show_full_contacts=True).iloc[1, 3] == "+8613812345678"


def test_duplicate_phone_numbers_are_matched_in_the_workspace_phone_region():
    from crmkit.dashboard import pages

    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Acme", "Acme Inc."], "contact_name": ["a", "a"],
                              "phone": ["(650) 253-0000", "+1 650 253 0000"], "email": [None, None],
                              "owner": ["x", "y"]})
    assert pages.duplicate_rows(customers, ["phone"], region="US")["customer_id"].tolist() == ["C1", "C2"]
    assert pages.duplicate_rows(customers, ["phone"]).empty      # read as Chinese numbers they differ
