"""Roles and scopes (crmkit.team): who sees what, ``open_workspace(DIR, as_user=...)``, inactive members."""

from __future__ import annotations

import pandas as pd
import pytest

from crmkit.exceptions import UsageError
from crmkit.team import members, scope_for, scoped_tables
from crmkit.workspace import open_workspace

TEAM = pd.DataFrame({
    "name": ["Ada Admin", "Mia Boss", "Rex One", "Rae Two", "Ray Three", "Max Boss", "Ola Old"],
    "role": ["admin", "manager", "rep", "rep", "rep", "manager", "rep"],
    "manager": [None, None, "Mia Boss", None, "Max Boss", None, "Mia Boss"],
    "team": [None, "Rae Two", None, None, None, None, None],
    "active": [True, True, True, True, True, True, False],
})


def customers():
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5"],
        "name": ["One Ltd", "Two Ltd", "Three Ltd", "Nobody Ltd", "Old Ltd"],
        "phone": ["+8613800000001", "+8613800000002", "+8613800000003", "+8613800000004", "+8613800000005"],
        "owner": ["Rex One", "Rae Two", "Ray Three", None, "Ola Old"],
        "stage": "lead", "created_at": "2026-01-05",
    })


@pytest.fixture
def team_ws(make_workspace):
    tasks = pd.DataFrame({"task_id": ["T1", "T2", "T3", "T4"], "customer_id": ["C1", "C2", None, None],
                          "title": ["call", "call", "own admin", "other admin"],
                          "owner": ["Rex One", "Rae Two", "Rex One", "Ray Three"],
                          "due_at": "2026-02-01 10:00", "status": "open"})
    orders = pd.DataFrame({"order_id": ["O1", "O2", "O3"], "customer_id": ["C1", "C3", "C1"],
                           "ordered_at": "2026-01-10", "amount": [10.0, 20.0, 30.0]})
    history = pd.DataFrame({"at": "2026-01-06", "entity": "customers", "record_id": ["C1", "C2"],
                            "field": "phone", "old": None, "new": ["x", "y"], "by": "import"})
    return make_workspace({"team": TEAM, "customers": customers(), "tasks": tasks, "orders": orders,
                           "history": history})


def test_roles_give_each_member_their_scope():
    assert scope_for(TEAM, "Rex One").owners == {"Rex One"}
    # a manager: the team cell, the members reporting to them, themselves
    assert scope_for(TEAM, "Mia Boss").owners == {"Mia Boss", "Rex One", "Rae Two", "Ola Old"}
    assert scope_for(TEAM, "Max Boss").owners == {"Max Boss", "Ray Three"}
    assert scope_for(TEAM, "Ada Admin").everything
    assert scope_for(TEAM, "rex one").user == "Rex One"          # a name typed in another case
    with pytest.raises(UsageError, match="Nobody"):
        scope_for(TEAM, "Nobody")
    assert members(TEAM)["Ola Old"].active is False
    assert members(TEAM)["Rex One"].active is True


def test_scoped_tables_keep_only_the_members_records():
    tables = {"customers": customers(), "team": TEAM,
              "history": pd.DataFrame({"record_id": ["C1", "C2", "T3", "T4"]})}
    tables["tasks"] = pd.DataFrame({"task_id": ["T1", "T2", "T3", "T4"], "customer_id": ["C1", "C2", None, None],
                                    "owner": ["Rex One", "Rex One", "Rex One", "Ray Three"]})
    mine = scoped_tables(scope_for(TEAM, "Rex One"), tables)
    assert mine["customers"]["customer_id"].tolist() == ["C1"]
    # T2 is Rex's task but about Rae's customer: it goes with the customer; T3 has no customer and is Rex's
    assert mine["tasks"]["task_id"].tolist() == ["T1", "T3"]
    assert mine["history"]["record_id"].tolist() == ["C1", "T3"]
    assert mine["team"] is TEAM
    assert scoped_tables(scope_for(TEAM, "Ada Admin"), tables)["customers"].equals(tables["customers"])


def test_open_workspace_as_user_is_a_read_only_view(team_ws):
    rex = open_workspace(team_ws, as_user="Rex One")
    assert rex.user == "Rex One"
    assert rex["customers"]["customer_id"].tolist() == ["C1"]
    assert rex["orders"]["order_id"].tolist() == ["O1", "O3"]
    assert rex["tasks"]["task_id"].tolist() == ["T1", "T3"]
    assert rex["history"]["record_id"].tolist() == ["C1"]
    assert len(rex["team"]) == len(TEAM)                      # the configuration is whole
    assert dict(rex.tables_as_read(["customers"]))["customers"]["customer_id"].tolist() == ["C1"]
    boss = open_workspace(team_ws, as_user="Mia Boss")
    assert sorted(boss["customers"]["customer_id"]) == ["C1", "C2", "C5"]
    assert len(open_workspace(team_ws, as_user="Ada Admin")["customers"]) == 5
    with pytest.raises(UsageError, match="read-only"):
        rex.replace("customers", rex["customers"])
    with pytest.raises(UsageError):
        rex.save()
    assert len(rex.unscoped()["customers"]) == 5
    with pytest.raises(UsageError):
        open_workspace(team_ws, as_user="Nobody")


def test_inactive_member_gets_no_new_assignments(make_workspace):
    from crmkit.rules.engine import run_rules

    team = TEAM.copy()
    routing = pd.DataFrame({"match": ["industry == 'education'", None],
                            "owner": ["Ola Old", "round_robin:Rex One,Ola Old"]})
    leads = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1, 7)], "name": [f"Lead {i}" for i in range(1, 7)],
                          "phone": [f"+86138000001{i:02d}" for i in range(1, 7)],
                          "industry": ["education", "education", "retail", "retail", "retail", "retail"],
                          "source": "website_form", "intent_level": "A", "stage": "lead",
                          "created_at": "2026-01-05 09:00"})
    folder = make_workspace({"team": team, "routing": routing, "customers": leads},
                            settings={"as_of": "2026-01-05 10:00"})
    run_rules(open_workspace(folder))
    owners = open_workspace(folder)["customers"]["owner"].tolist()
    assert all(o for o in owners)
    assert "Ola Old" not in owners
    assert set(owners[2:]) == {"Rex One"}                  # the round robin skips the inactive member


def test_validate_warns_of_unknown_names_in_a_managers_team(make_workspace):
    from crmkit.validate import validate_workspace

    team = TEAM.copy()
    team.loc[1, "team"] = "Rae Two; Zed Ghost"
    res = validate_workspace(make_workspace({"team": team, "customers": customers()}))
    issues = res.issues
    hit = issues[(issues["field"] == "team")] if "field" in issues.columns else issues
    assert len(hit) == 1
    assert "Zed Ghost" in str(hit.iloc[0].to_dict())


def test_a_rep_sees_no_bad_cell_of_another_reps_customer(make_workspace):
    """The cells that did not read as their type travel with the rows: a rep's Data quality page and
    validation list only their own."""
    import openpyxl

    from crmkit.validate import validate_workspace

    folder = make_workspace({"team": TEAM, "customers": customers()})
    book = openpyxl.load_workbook(folder / "customers.xlsx")
    sheet = book["Customers"]
    col = next(c.column for c in sheet[1] if str(c.value).startswith("Created"))
    sheet.cell(2, col, "not a date")                        # Rex's customer C1
    sheet.cell(3, col, "SECRET-RAE-+8613800000002")         # Rae's customer C2
    book.save(folder / "customers.xlsx")
    rex = open_workspace(folder, as_user="Rex One")
    assert [p.value for p in rex["customers"].attrs["problems"]] == ["not a date"]
    assert [p.value for p in rex.problems()] == ["not a date"]
    shown = validate_workspace(rex).issues
    assert not shown.astype(str).apply(lambda c: c.str.contains("SECRET")).any().any()
    assert shown.astype(str).apply(lambda c: c.str.contains("not a date")).any().any()
