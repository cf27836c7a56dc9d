"""Team mode in the pages (issue 17, item 5): what a dashboard kernel and the form page show and write for
the signed-in member (the kernel learns them from Voila as HTTP_X_CRMKIT_USER; see crmkit.dashboard.auth)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_dashboard import small_workspace

from crmkit.dashboard import context, pages, widgets
from crmkit.exceptions import UsageError
from crmkit.forms import submit
from crmkit.workspace import open_workspace

ALEX, SAM, JORDAN, MORGAN = "Alex Chen", "Sam Patel", "Jordan Kim", "Morgan Lee"
LEAD = {"name": "Acme Robotics", "contact_name": "Li Lei", "phone": "13812340000", "source": "website_form",
        "intent_level": "B"}


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    return small_workspace(tmp_path_factory.mktemp("teampages") / "crm")


@pytest.fixture
def fresh(tmp_path):
    return small_workspace(tmp_path / "crm")


def signed_in(monkeypatch, user: str | None):
    monkeypatch.setenv(context.TEAM_ENV, "1")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    if user is None:
        monkeypatch.delenv(context.USER_ENV, raising=False)
    else:
        monkeypatch.setenv(context.USER_ENV, user)


def test_without_team_mode_nothing_changes(crm, monkeypatch):
    monkeypatch.delenv(context.TEAM_ENV, raising=False)
    monkeypatch.setenv(context.USER_ENV, ALEX)        # a header without team mode means nothing
    ctx = context.load_context(crm)
    assert ctx.user is None and ctx.scope is None and ctx.may_launch()
    assert set(ctx.ws["customers"]["owner"]) == {ALEX, SAM, JORDAN}


def test_team_mode_without_a_signed_in_member_shows_nothing(crm, monkeypatch):
    signed_in(monkeypatch, None)
    with pytest.raises(UsageError, match="not signed in"):
        context.load_context(crm)


def test_a_rep_sees_only_their_records_and_their_name(crm, monkeypatch):
    signed_in(monkeypatch, ALEX)
    ctx = context.load_context(crm)
    assert ctx.user == ALEX and ctx.role == "rep"
    assert set(ctx.ws["customers"]["owner"]) == {ALEX}
    assert set(ctx.ws["tasks"]["owner"]) <= {ALEX, "rule:R01C"} or set(ctx.ws["tasks"]["customer_id"]) <= set(
        ctx.ws["customers"]["customer_id"])
    assert [v for _, v in widgets.owner_options(ctx, "en", include_all=False)] == [ALEX]
    assert pages.default_rep(ctx) == ALEX
    assert not ctx.may_launch()
    with pytest.raises(UsageError, match="only admins"):
        ctx.check_may_launch()
    ctx.reload()
    assert set(ctx.ws["customers"]["owner"]) == {ALEX}


def test_a_manager_sees_the_team(crm, monkeypatch):
    signed_in(monkeypatch, MORGAN)
    ctx = context.load_context(crm)
    # a campaign reaches the whole workspace: wider than the team, so a manager previews but does not launch
    assert ctx.role == "manager" and not ctx.may_launch()
    assert set(ctx.ws["customers"]["owner"]) == {ALEX, SAM, JORDAN}
    assert {ALEX, SAM, JORDAN, MORGAN} <= {v for _, v in widgets.owner_options(ctx, "en")}


def test_a_rep_marks_only_their_own_tasks_done_as_themselves(fresh, monkeypatch):
    signed_in(monkeypatch, ALEX)
    ctx = context.load_context(fresh)
    with pytest.raises(UsageError, match="T04"):
        pages.mark_done(ctx, "T04", SAM)                 # Sam's task: not among Alex's records
    assert open_workspace(fresh)["tasks"].set_index("task_id").loc["T04", "status"] == "open"
    assert pages.mark_done(ctx, "T01", SAM) is True      # the picker's owner cannot speak for Alex
    hist = open_workspace(fresh)["history"]
    done = hist[(hist["record_id"] == "T01") & (hist["field"] == "status")]
    assert [b.split(" (")[0] for b in done["by"]] == [ALEX]     # "Alex Chen (dashboard)"


def test_a_rep_submits_a_form_as_themselves_within_their_scope(fresh):
    # a new customer without owner is Alex's, whoever the page claimed to be
    res = submit(fresh, "new_customer", LEAD, MORGAN, run_rules=False, as_user=ALEX)
    assert res.ok, res.errors
    cust = open_workspace(fresh)["customers"].set_index("customer_id")
    assert cust.loc[res.record_id, "owner"] == ALEX
    hist = open_workspace(fresh)["history"]
    assert set(hist.loc[hist["record_id"] == res.record_id, "by"]) == {ALEX}
    # another rep as owner is refused
    res = submit(fresh, "new_customer", {**LEAD, "name": "Other Co", "phone": "13812340001", "owner": SAM},
                 ALEX, run_rules=False, as_user=ALEX)
    assert not res.ok and "owner" in res.errors and "not in your team" in res.errors["owner"]
    # a follow-up of Sam's customer (C004) is refused as if it did not exist; Alex's own (C001) is saved
    follow = {"customer_id": "C004", "method": "phone", "content": "hello"}
    res = submit(fresh, "follow_up", follow, ALEX, run_rules=False, as_user=ALEX)
    assert not res.ok and "C004" in res.errors.get("customer_id", ""), res.errors
    res = submit(fresh, "follow_up", {**follow, "customer_id": "C001"}, ALEX, run_rules=False, as_user=ALEX)
    assert res.ok, res.errors
    inter = open_workspace(fresh)["interactions"].set_index("interaction_id")
    assert inter.loc[res.record_id, "owner"] == ALEX


def test_a_rep_never_sees_another_reps_customer_as_a_duplicate(fresh):
    # same phone as Sam's Delta Foods (C004): refused without naming it
    res = submit(fresh, "new_customer", {**LEAD, "name": "Delta Foods", "phone": "+8613700002222"}, ALEX,
                 run_rules=False, as_user=ALEX)
    assert not res.ok and len(res.duplicates) == 0
    text = " ".join(res.messages("en")) + str(res.errors)
    assert "C004" not in text and "Delta" not in text.replace(LEAD["name"], "") or "another owner" in text
    assert "another owner" in text
    # the manager sees it as a duplicate, with its details
    res = submit(fresh, "new_customer", {**LEAD, "name": "Delta Foods", "phone": "+8613700002222"}, MORGAN,
                 run_rules=False, as_user=MORGAN)
    assert not res.ok and "C004" in set(res.duplicates["customer_id"])


def test_the_form_page_offers_only_the_scope(fresh, monkeypatch):
    pytest.importorskip("ipywidgets")
    import ipywidgets as w

    from crmkit.dashboard.forms_page import form_app

    signed_in(monkeypatch, ALEX)
    app = form_app(fresh, "new_customer", prefill={"owner": SAM})

    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    every = list(walk(app))
    who = next(x for x in every if "crmkit-submitter" in x._dom_classes)
    assert [v for _, v in who.options] == [ALEX] and who.value == ALEX and who.disabled
    owner = next(x for x in every if "crmkit-field-owner" in x._dom_classes)
    assert [v for _, v in owner.options] == [None, ALEX] and owner.value is None   # ?owner=Sam is not taken
    follow = form_app(fresh, "follow_up", prefill={"customer_id": "C004"})
    combo = next(x for x in walk(follow) if isinstance(x, w.Combobox))
    ids = {o.split(" ", 1)[0] for o in combo.options}
    assert ids and ids <= {"C001", "C002", "C003", "C009"}
    assert not any(isinstance(x, w.HTML) and "Delta Foods" in x.value for x in walk(follow))


def test_scoped_tables_are_read_only_through_the_dashboard(crm, monkeypatch):
    signed_in(monkeypatch, ALEX)
    ctx = context.load_context(crm)
    with pytest.raises(UsageError):
        ctx.ws.replace("customers", pd.DataFrame())
