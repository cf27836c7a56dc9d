"""forms.submit refuses what a form does not allow, and two tabs submitting at once both save and run the rules."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from crmkit.forms import submit
from crmkit.workspace import open_workspace

SETTINGS = {"as_of": "2026-11-20 10:00"}
EXISTING = pd.DataFrame({"customer_id": ["C00007"], "name": ["Bolt Ltd"], "contact_name": ["Ann"],
                         "phone": ["+8613900001111"], "source": ["referral"], "created_at": ["2026-10-01"],
                         "owner": ["Sam Patel"], "stage": ["qualified"]})
TEAM = pd.DataFrame({"name": ["Sam Patel", "Alex Chen"], "role": ["rep", "rep"], "manager": [None, None],
                     "email": ["sam@example.com", "alex@example.com"], "capacity": [50, 50]})
RULES = pd.DataFrame({"rule_id": ["T01"], "name": ["Tag web leads"], "enabled": [True], "entity": ["customers"],
                      "when": ['source == "website_form"'], "action": ["add_tag"], "params": ["tag=web_lead"],
                      "once": ["ever"], "priority": [1]})
LEAD = {"name": "Acme Robotics", "contact_name": "Li Lei", "phone": "13812345678", "source": "website_form",
        "intent_level": "B"}


@pytest.fixture
def ws_dir(make_workspace):
    return make_workspace({"customers": EXISTING, "team": TEAM, "rules": RULES}, settings=SETTINGS)


def rows(ws_dir, entity="customers") -> int:
    return len(open_workspace(ws_dir)[entity])


def test_a_field_that_is_not_on_the_form_is_refused_by_name(ws_dir):
    res = submit(ws_dir, "new_customer", {**LEAD, "stage": "won", "tags": "vip"}, "Alex Chen", run_rules=False)
    assert not res.ok
    assert set(res.errors) == {"stage", "tags"}
    assert "is not a field of this form" in res.errors["stage"] and "Stage" in res.errors["stage"]
    assert any("is not a field of this form" in line for line in res.messages("en"))
    assert rows(ws_dir) == 1


def test_an_existing_record_id_is_refused_and_nothing_is_overwritten(make_workspace):
    forms = pd.DataFrame({"name": ["Customer with id"], "entity": ["customers"],
                          "fields": ["customer_id; name; phone; source"], "defaults": [None], "enabled": [True]},
                         index=pd.RangeIndex(2, 3))
    ws_dir = make_workspace({"customers": EXISTING, "team": TEAM, "rules": RULES, "forms": forms}, settings=SETTINGS)
    res = submit(ws_dir, "Customer with id", {"customer_id": "C00007", "name": "Other Co", "phone": "13711112222",
                                             "source": "referral"}, "Alex Chen", run_rules=False)
    assert not res.ok and "C00007 already exists" in res.errors["customer_id"]
    cust = open_workspace(ws_dir)["customers"]
    assert cust["name"].tolist() == ["Bolt Ltd"]
    ok = submit(ws_dir, "Customer with id", {"customer_id": "C00100", "name": "Other Co", "phone": "13711112222",
                                            "source": "referral"}, "Alex Chen", run_rules=False)
    assert ok.ok and ok.record_id == "C00100"


def test_an_owner_who_is_not_in_the_team_is_refused_in_the_workspace_language(ws_dir, make_workspace):
    res = submit(ws_dir, "new_customer", {**LEAD, "owner": "Nobody Known"}, "Alex Chen", run_rules=False)
    assert not res.ok and res.errors == {"owner": "'Nobody Known' is not a member of the team (Team sheet)"}
    assert rows(ws_dir) == 1
    zh = make_workspace({"customers": EXISTING, "team": TEAM, "rules": RULES}, settings=SETTINGS, lang="zh")
    res = submit(zh, "new_customer", {**LEAD, "owner": "路人甲"}, "Alex Chen", run_rules=False)
    assert res.errors["owner"] == "“路人甲”不是团队成员（见团队表）"
    res = submit(zh, "new_customer", {**LEAD, "stage": "won"}, "Alex Chen", run_rules=False)
    assert res.errors["stage"] == "“客户阶段”不是本表单的字段"
    assert submit(ws_dir, "new_customer", {**LEAD, "owner": "Sam Patel"}, "Alex Chen", run_rules=False).ok


def test_two_tabs_submitting_at_once_both_save_and_both_run_the_rules(ws_dir):
    results: dict[int, object] = {}
    start = threading.Barrier(2)

    def tab(i: int) -> None:
        start.wait()
        results[i] = submit(ws_dir, "new_customer",
                            {**LEAD, "name": f"Tab {i} Ltd", "phone": f"1381234{i:04d}", "contact_name": f"C{i}"},
                            "Alex Chen", lock_wait=60)

    threads = [threading.Thread(target=tab, args=(i,)) for i in (1, 2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert set(results) == {1, 2}
    for res in results.values():
        assert res.ok, res.errors
        assert res.rules_error is None
        assert "web_lead" in str(res.record.get("tags"))
        assert "form_rules_failed" not in " ".join(res.messages("en"))
    cust = open_workspace(ws_dir)["customers"].set_index("name")
    assert {"Tab 1 Ltd", "Tab 2 Ltd"} <= set(cust.index)
    assert len({results[1].record_id, results[2].record_id}) == 2
    log = open_workspace(ws_dir)["rule_log"]
    tagged = log[(log["rule_id"] == "T01") & (log["outcome"] == "done")]["record_id"].astype(str)
    assert {results[1].record_id, results[2].record_id} <= set(tagged)


def test_the_forms_index_is_styled_like_the_landing_page_and_switches_language(ws_dir):
    from crmkit.dashboard.forms_page import form_app

    box = form_app(ws_dir, None)
    switch = box.children[0].children[0]
    page = box.children[1]
    assert "crmkit-lang" in switch._dom_classes and switch.value == "en"
    html = page.value
    assert 'class="crmkit-forms"' in html and "<header>" in html and "#1f4e79" in html
    assert html.count('class="card"') == 2
    assert "New customer registration" in html and "新客户信息登记表" in html      # the other language below
    assert "form.ipynb?form=New+customer+registration&amp;lang=en" in html
    switch.value = "zh"
    zh = page.value
    assert "crmkit · 表单" in zh and '<div class="name">新客户信息登记表</div>' in zh
    assert '<div class="other">New customer registration</div>' in zh
    assert "lang=zh" in zh and "用于销售团队快速录入新客户基础信息" in zh
    # the form page opened from the Chinese index speaks Chinese
    form = form_app(ws_dir, "New customer registration", prefill={"lang": "zh"})
    assert "提交" in [c.description for c in form.children if hasattr(c, "description")]
