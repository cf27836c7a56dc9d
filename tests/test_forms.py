"""Forms: the Forms sheet, and submissions validated, de-duplicated, written and followed by the rules."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from crmkit.exceptions import UsageError
from crmkit.forms import SEED_FORMS, form_pages, forms_frame, get_form, load_forms, submit
from crmkit.ids import next_ids
from crmkit.workspace import open_workspace

AS_OF = {"as_of": "2026-11-20 10:00"}
EXISTING = pd.DataFrame({"customer_id": ["C00007"], "name": ["Bolt Ltd"], "contact_name": ["Ann"],
                         "phone": ["+8613900001111"], "source": ["referral"], "created_at": ["2026-10-01"],
                         "owner": ["Sam Patel"], "stage": ["qualified"]})
HOT_LEAD = {"name": "Acme Robotics", "contact_name": "Li Lei", "phone": "13812345678", "industry": "IT/互联网",
            "intent_level": "A", "source": "website_form"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from crmkit.templates import write_workspace

    root = tmp_path_factory.mktemp("forms")
    return {"en": write_workspace(root / "en", {"customers": EXISTING}, settings=AS_OF),
            "zh": write_workspace(root / "zh", {"customers": EXISTING}, lang="zh", settings=AS_OF)}


@pytest.fixture
def ws_dir(built, tmp_path):
    return shutil.copytree(built["en"], tmp_path / "ws")


def test_the_two_seed_forms_ship_in_each_language():
    for lang, names in (("en", ["New customer registration", "Follow-up record"]), ("zh", ["新客户信息登记表", "跟进记录表"])):
        frame = forms_frame(lang)
        assert frame["name"].tolist() == names
        assert frame["entity"].tolist() == ["customers", "interactions"]
    follow_up = SEED_FORMS[1][4]
    assert [k.strip() for k in follow_up.split(";")] == [
        "customer_id", "at", "method", "content", "customer_feedback", "next_action", "next_follow_up_at", "owner"]


def test_forms_resolve_to_field_keys_and_are_found_by_either_languages_name(built):
    ws = open_workspace(built["zh"])
    form = get_form(ws, "New customer registration")
    assert form.name == "新客户信息登记表"
    assert form.fields[:3] == ("name", "industry", "customer_type")
    assert dict(form.defaults)["stage"] == "lead"
    assert [f.name for f in load_forms(ws)] == ["新客户信息登记表", "跟进记录表"]
    assert form_pages(ws)[1] == ("跟进记录表", "voila/render/form.ipynb?form=%E8%B7%9F%E8%BF%9B%E8%AE%B0%E5%BD%95%E8%A1%A8")


def test_a_form_naming_an_unknown_field_is_reported_with_its_row(ws_dir):
    with pytest.raises(UsageError, match="no form named 'Survey'"):
        get_form(open_workspace(ws_dir), "Survey")
    ws = open_workspace(ws_dir)
    forms = ws["forms"].copy()
    forms.loc[3, "fields"] = "customer_id; mood"
    ws.replace("forms", forms)
    ws.save(["rules"])
    with pytest.raises(UsageError) as err:
        load_forms(open_workspace(ws_dir))
    assert err.value.row == 3 and err.value.column == "fields" and "mood" in str(err.value)


@pytest.mark.parametrize("ids, expected", [
    ([], "C00001"),
    (["C00007", "C00040", None], "C00041"),
    (["C9", "C10"], "C11"),
    (["X-1"], "C00001"),          # IDs of another shape are left alone: the schema prefix starts afresh
    (["legacy"], "C00001"),
])
def test_next_id_follows_the_existing_numbering(ids, expected):
    assert next_ids("customers", pd.Series(ids, dtype="string"), 1) == [expected]


def test_an_invalid_phone_is_refused_next_to_its_field_and_nothing_is_written(ws_dir):
    before = (ws_dir / "customers.xlsx").read_bytes()
    res = submit(ws_dir, "New customer registration", {**HOT_LEAD, "phone": "1381234", "email": "li@"},
                 "Alex Chen")
    assert not res.ok
    assert set(res.errors) == {"phone", "email"}
    assert "phone" in res.errors["phone"]
    assert (ws_dir / "customers.xlsx").read_bytes() == before
    assert len(open_workspace(ws_dir)["history"]) == 0


def test_a_missing_required_field_is_refused(ws_dir):
    res = submit(ws_dir, "new_customer", {"phone": "13812345678"}, "Alex Chen")
    assert not res.ok and list(res.errors) == ["name"]


def test_a_valid_hot_lead_is_written_gets_its_owner_and_first_task_at_once(ws_dir):
    res = submit(ws_dir, "New customer registration", HOT_LEAD, "Alex Chen")
    assert res.ok, res.errors
    assert res.record_id == "C00008"
    ws = open_workspace(ws_dir)
    row = ws["customers"].set_index("customer_id").loc["C00008"]
    assert (row["name"], row["phone"], row["industry"], row["stage"], row["customer_type"]) == (
        "Acme Robotics", "+8613812345678", "it_internet", "lead", "new")
    assert row["created_at"] == pd.Timestamp("2026-11-20")
    # routing: IT/internet goes to the second team member
    assert row["owner"] == "Alex Chen" == res.record["owner"]
    tasks = ws["tasks"]
    first = tasks[(tasks["customer_id"] == "C00008") & (tasks["created_by"] == "rule:R01C")]
    assert len(first) == 1 and first["due_at"].iloc[0] == pd.Timestamp("2026-11-20 10:30")
    assert set(res.actions["action"]) >= {"assign_owner", "create_task", "notify"}
    history = ws["history"]
    mine = history[(history["record_id"] == "C00008") & (history["by"] == "Alex Chen")]
    assert set(mine["field"]) >= {"name", "phone", "source", "intent_level"}
    lines = res.messages("en")
    assert lines[0] == "Saved as C00008." and "Owner: Alex Chen" in lines


def test_a_duplicate_customer_is_caught_before_anything_is_written(ws_dir):
    res = submit(ws_dir, "new_customer", {"name": "Bolt Limited", "phone": "139 0000 1111"}, "Alex Chen")
    assert not res.ok and not res.errors
    assert res.duplicates["customer_id"].tolist() == ["C00007"]
    assert open_workspace(ws_dir)["customers"]["customer_id"].tolist() == ["C00007"]
    again = submit(ws_dir, "new_customer", {"name": "Bolt Limited", "phone": "139 0000 1111"}, "Alex Chen",
                   allow_duplicate=True, run_rules=False)
    assert again.ok and again.record_id == "C00008"


def test_a_follow_up_record_is_saved_for_its_customer_and_moves_the_next_follow_up(ws_dir):
    res = submit(ws_dir, "Follow-up record", {"customer_id": "C00007", "method": "电话", "content": "Called about price",
                                              "customer_feedback": "needs a quote",
                                              "next_follow_up_at": "2026-11-27 09:30"}, "Sam Patel")
    assert res.ok, res.errors
    ws = open_workspace(ws_dir)
    it = ws["interactions"].iloc[0]
    assert (it["interaction_id"], it["method"], it["owner"], it["at"]) == (
        "I000001", "phone", "Sam Patel", pd.Timestamp("2026-11-20 10:00"))
    cust = ws["customers"].set_index("customer_id")
    assert cust.loc["C00007", "next_follow_up_at"] == pd.Timestamp("2026-11-27 09:30")
    moved = ws["history"][ws["history"]["entity"] == "customers"]
    assert moved["field"].tolist() == ["next_follow_up_at"] and moved["by"].tolist() == ["Sam Patel"]


def test_a_follow_up_for_an_unknown_customer_is_refused(ws_dir):
    res = submit(ws_dir, "Follow-up record", {"customer_id": "C99999", "content": "x"}, "Sam Patel")
    assert not res.ok and list(res.errors) == ["customer_id"]


def test_only_the_listed_submitters_may_submit(ws_dir):
    ws = open_workspace(ws_dir)
    forms = ws["forms"].copy()
    forms.loc[2, "submitters"] = "role:manager"
    ws.replace("forms", forms)
    ws.save(["rules"])
    refused = submit(ws_dir, "new_customer", HOT_LEAD, "Alex Chen", run_rules=False)
    assert not refused.ok and "Alex Chen" in refused.errors["_form"]
    assert submit(ws_dir, "new_customer", HOT_LEAD, "Morgan Lee", run_rules=False).ok


def test_the_page_is_built_from_widgets_matching_the_field_types(built):
    import ipywidgets as w

    from crmkit.dashboard.forms_page import form_app

    box = form_app(built["zh"], "新客户信息登记表")
    kinds = {}
    for child in box.children:
        if isinstance(child, w.HBox) and len(child.children) == 3:
            widget = child.children[1]
            key = next(c for c in widget._dom_classes if c.startswith("crmkit-field-"))[len("crmkit-field-"):]
            kinds[key] = type(widget).__name__
    assert kinds["industry"] == "Dropdown" and kinds["owner"] == "Dropdown"
    assert kinds["first_contact_at"] == "NaiveDatetimePicker" and kinds["notes"] == "Textarea"
    assert kinds["name"] == "Text"
    header = box.children[0].value
    assert "新客户信息登记表" in header


def test_a_ticket_form_with_custom_fields_of_every_type_builds_and_submits(make_workspace):
    import ipywidgets as w

    from crmkit.dashboard.forms_page import form_app

    types = ["text", "longtext", "number", "int", "money", "date", "datetime", "enum", "multi", "bool", "rating",
             "person", "phone", "email"]
    fields = pd.DataFrame({"entity": "tickets", "key": [f"x_{t}" for t in types],
                           "label_en": [f"X {t}" for t in types], "type": types,
                           "options": ["a; b|乙" if t in ("enum", "multi") else None for t in types],
                           "enabled": True}, index=pd.RangeIndex(2, 2 + len(types)))
    forms = pd.concat([forms_frame("en"), pd.DataFrame({
        "name": ["Service ticket"], "entity": ["tickets"],
        "fields": ["customer_id; title; satisfaction; " + "; ".join(f"x_{t}" for t in types)],
        "defaults": ["x_rating=3; x_bool=yes; x_date=today"], "enabled": [True]})], ignore_index=True)
    forms.index = pd.RangeIndex(2, 2 + len(forms))
    folder = make_workspace({"customers": EXISTING, "fields": fields, "forms": forms}, settings=AS_OF)

    box = form_app(folder, "Service ticket")
    widgets = {next(c for c in row.children[1]._dom_classes if c.startswith("crmkit-field-"))[13:]: row.children[1]
               for row in box.children if isinstance(row, w.HBox) and len(row.children) == 3}
    assert type(widgets["satisfaction"]).__name__ == "ToggleButtons" and widgets["x_rating"].value == 3
    assert type(widgets["x_multi"]).__name__ == "SelectMultiple" and widgets["x_bool"].value is True
    assert type(widgets["x_date"]).__name__ == "DatePicker" and str(widgets["x_date"].value) == "2026-11-20"

    res = submit(folder, "Service ticket", {"customer_id": "C00007", "title": "Printer jams", "satisfaction": 2,
                                            "x_int": "2.5", "x_enum": "乙", "x_multi": ["a", "b"]}, "Sam Patel")
    assert not res.ok and list(res.errors) == ["x_int"]
    res = submit(folder, "Service ticket", {"customer_id": "C00007", "title": "Printer jams", "satisfaction": 2,
                                            "x_int": "2", "x_enum": "乙", "x_multi": ["a", "b"]}, "Sam Patel")
    assert res.ok, res.errors
    rec = res.record
    assert (rec["ticket_id"], rec["status"], rec["x_enum"], rec["x_multi"], rec["x_rating"], rec["x_bool"]) == (
        "TK00001", "open", "b", "a;b", 3, True)
    # satisfaction <= 3 opens a complaint ticket at once (seed rule R09)
    assert "create_ticket" in set(res.actions["action"])
