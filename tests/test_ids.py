"""New record IDs: one allocator (crmkit.ids) behind every writer, driven by the schema's prefix and width.

Rows made by import, a form, the rules and a merge on one workspace get IDs of one shape per entity, none
colliding; a workspace holding the mixed IDs older versions made (K00001, TK000001, S00001, M000001) keeps
working and gets no collision either.
"""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.dedupe import dedupe_workspace
from crmkit.forms import forms_frame, submit
from crmkit.ids import IdAllocator, first_ids, next_ids
from crmkit.importer import import_file
from crmkit.rules.engine import run_rules
from crmkit.schema import ENTITIES, IMPORTABLE
from crmkit.workspace import open_workspace

AS_OF = "2026-11-20 10:00"
TODAY = pd.Timestamp(AS_OF).normalize()
MINTED = ("customers", "interactions", "tasks", "tickets", "messages")


def shape(entity: str) -> re.Pattern:
    ent = ENTITIES[entity]
    return re.compile(rf"^{re.escape(ent.id_prefix)}[0-9]{{{ent.id_width}}}$")


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C00001", "C00002", "C00003"],
        "name": ["Acme Robotics Ltd", "Acme Robotics", "Birch Foods"],
        "contact_name": ["Ann", "Ann", "Bob"],
        "phone": ["+8613900001111", "139 0000 1111", "+8613900002222"],
        "email": ["ann@acme.cn", None, "bob@birch.cn"],
        "source": ["website_form", "trade_show", "referral"],
        "stage": ["lead", "lead", "won"],
        "owner": ["Sam Patel", None, "Sam Patel"],
        "created_at": [TODAY - pd.Timedelta(days=30), TODAY - pd.Timedelta(days=20), TODAY - pd.Timedelta(days=400)],
        "marketing_consent": [True, True, True],
        "unsubscribed": [False, False, False],
    })


def rules() -> pd.DataFrame:
    rows = [
        {"rule_id": "X1", "name": "ticket", "when": 'stage == "lead"', "action": "create_ticket",
         "params": 'type=inquiry; priority=normal; sla=1d; title="Call {name}"'},
        {"rule_id": "X2", "name": "message", "when": 'stage == "lead"', "action": "queue_message",
         "params": 'channel=email; kind=service; content="Hello {name}"'},
        {"rule_id": "X3", "name": "task", "when": 'stage == "lead"', "action": "create_task",
         "params": 'title="Follow up {name}"; due=1d; to=owner'},
    ]
    base = {"enabled": True, "entity": "customers", "once": "ever"}
    return pd.DataFrame([{**base, **r, "priority": i} for i, r in enumerate(rows, 1)])


def forms() -> pd.DataFrame:
    """The seed forms plus one that opens a ticket."""
    seed = forms_frame("en")
    ticket = pd.DataFrame({"name": ["Service ticket"], "entity": ["tickets"], "fields": ["customer_id; title"],
                           "defaults": [None], "submitters": [None], "description": [None], "enabled": [True]})
    out = pd.concat([seed, ticket], ignore_index=True)
    out.index = pd.RangeIndex(2, 2 + len(out), name="_row")
    return out


def workspace(make_workspace, **tables):
    return make_workspace({"customers": customers(), "rules": rules(), "forms": forms(), **tables},
                          settings={"as_of": AS_OF})


def csv(path, header: str, *rows: str):
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def type_blank_id_customer(folder, name: str) -> None:
    """A row typed in Excel without an ID (the next write gives it one)."""
    wb = openpyxl.load_workbook(folder / "customers.xlsx")
    sh = wb["Customers"]
    headers = {c.value: c.column for c in sh[1] if c.value}
    r = sh.max_row + 1
    for header, value in {"Customer name *": name, "Source *": "Referral", "Created *": TODAY.to_pydatetime(),
                          "Phone": "+8613900009999"}.items():
        sh.cell(row=r, column=headers[header], value=value)
    wb.save(folder / "customers.xlsx")


def make_rows_every_way(folder, tmp_path) -> None:
    """Import, form, rule and merge paths, each making new rows of the workspace at ``folder``."""
    # import: customers, tickets and messages without IDs
    res = import_file(csv(tmp_path / "c.csv", "name,phone,source,created_at",
                          "Cedar Tools,+8613900003333,referral,2026-11-01",
                          "Delta Print,+8613900004444,referral,2026-11-02"), folder)
    assert res.imported == 2, res.text()
    res = import_file(csv(tmp_path / "t.csv", "customer_id,title,created_at",
                          "C00003,Printer jams,2026-11-19 09:00", "C00003,Paper tray,2026-11-19 10:00"),
                      folder, entity="tickets")
    assert res.imported == 2, res.text()
    res = import_file(csv(tmp_path / "m.csv", "customer_id,channel,content,status,queued_at",
                          "C00003,email,Welcome,sent,2026-11-18 09:00"), folder, entity="messages")
    assert res.imported == 1, res.text()
    # forms: a new customer (the rules then act on it), a follow-up and a ticket
    res = submit(folder, "New customer registration", {"name": "Echo Games", "phone": "13812345678",
                                                       "source": "website_form", "intent_level": "A"}, "Sam Patel")
    assert res.ok, res.errors
    res = submit(folder, "Follow-up record", {"customer_id": "C00003", "method": "phone", "content": "Called"},
                 "Sam Patel")
    assert res.ok, res.errors
    res = submit(folder, "Service ticket", {"customer_id": "C00003", "title": "Broken belt"}, "Sam Patel")
    assert res.ok, res.errors
    # rules: tickets, messages and tasks for every lead
    result = run_rules(open_workspace(folder))
    assert not result.errors
    # merge: the two Acme records become one; the row typed without an ID gets one when the merge is saved
    type_blank_id_customer(folder, "Fig Garden")
    res = dedupe_workspace(folder, apply=True)
    assert res.merged >= 1


def test_rows_made_by_import_form_rules_and_merge_get_one_id_shape_per_entity(make_workspace, tmp_path):
    folder = workspace(make_workspace)
    make_rows_every_way(folder, tmp_path)
    ws = open_workspace(folder)
    assert "Fig Garden" in set(ws["customers"]["name"])
    for key in MINTED:
        ids = ws[key][ENTITIES[key].id_field].astype("string")
        assert ids.notna().all() and not ids.duplicated().any(), key
        new = ids[~ids.isin(customers()["customer_id"])] if key == "customers" else ids
        assert len(new) >= 1, key
        odd = [x for x in new if not shape(key).match(x)]
        assert not odd, (key, odd)
    # every writer took part
    by = open_workspace(folder)["tickets"]
    assert len(by) >= 2 + 1 + 2          # imported, from the form, from the rule (two leads at least)
    assert {"Printer jams", "Broken belt", "Call Acme Robotics Ltd"} <= set(by["title"])


def test_a_workspace_with_mixed_old_ids_keeps_working_without_collisions(make_workspace, tmp_path):
    old_tickets = pd.DataFrame({"ticket_id": ["K00001", "K00002", "TK000001"], "customer_id": ["C00003"] * 3,
                                "title": ["a", "b", "c"], "status": ["closed"] * 3,
                                "created_at": [TODAY - pd.Timedelta(days=9)] * 3})
    old_messages = pd.DataFrame({"message_id": ["S00001", "M000001", "S00002"], "customer_id": ["C00003"] * 3,
                                 "channel": ["email"] * 3, "content": ["x"] * 3, "status": ["sent"] * 3,
                                 "queued_at": [TODAY - pd.Timedelta(days=9)] * 3})
    old_tasks = pd.DataFrame({"task_id": ["T000001", "T00007"], "customer_id": ["C00003"] * 2, "title": ["a", "b"],
                              "owner": ["Sam Patel"] * 2, "due_at": [TODAY] * 2, "status": ["done"] * 2,
                              "created_at": [TODAY - pd.Timedelta(days=9)] * 2})
    folder = workspace(make_workspace, tickets=old_tickets, messages=old_messages, tasks=old_tasks)
    make_rows_every_way(folder, tmp_path)
    ws = open_workspace(folder)
    for key, old in (("tickets", old_tickets), ("messages", old_messages), ("tasks", old_tasks)):
        id_field = ENTITIES[key].id_field
        ids = ws[key][id_field].astype("string")
        assert ids.notna().all() and not ids.duplicated().any(), key
        assert set(old[id_field]) <= set(ids)                      # the old IDs are all still there
        new = [x for x in ids if x not in set(old[id_field])]
        assert new, key
        prefix = ENTITIES[key].id_prefix
        assert all(re.fullmatch(rf"{prefix}[0-9]+", x) for x in new), (key, new)
    # the sequence continues after the highest ID of the schema prefix, in that ID's width
    assert "TK000002" in set(ws["tickets"]["ticket_id"]) and "M000002" in set(ws["messages"]["message_id"])
    assert "T00008" in set(ws["tasks"]["task_id"])


@pytest.mark.parametrize("existing, expected", [
    ([], ["TK00001", "TK00002"]),
    (["TK00007", None, " TK00009 "], ["TK00010", "TK00011"]),
    (["K00001", "K00002"], ["TK00001", "TK00002"]),                 # another prefix starts the schema's afresh
    (["K00005", "TK000001"], ["TK000002", "TK000003"]),             # the highest TK ID's width is kept
    (["TK00003", "TK000001"], ["TK00004", "TK00005"]),
    (["TK99999"], ["TK100000", "TK100001"]),
    (["TK" + "9" * 30, "TK00002"], ["TK00003", "TK00004"]),         # a number too long to continue is left alone
])
def test_next_ids_follow_the_schema_prefix_and_never_reuse_an_id(existing, expected):
    got = next_ids("tickets", pd.Series(existing, dtype="object"), 2)
    assert got == expected
    assert not set(got) & {str(x).strip() for x in existing if x is not None}


def test_one_allocator_never_hands_out_the_same_id_twice():
    alloc = IdAllocator("messages", pd.Series(["M000004"]))
    first, second = alloc.take(2), alloc.take(1)
    assert first == ["M000005", "M000006"] and second == ["M000007"]
    assert next_ids("messages", pd.Series(["M000004"]), 0) == []


def test_every_entity_with_an_id_field_declares_a_distinct_prefix_and_a_width():
    with_ids = {k: e for k, e in ENTITIES.items() if e.id_field}
    assert all(e.id_prefix and e.id_width > 0 for e in with_ids.values())
    prefixes = [e.id_prefix for e in with_ids.values()]
    assert len(set(prefixes)) == len(prefixes)
    # every reference names an entity with an ID field, and a field the entity has
    for e in ENTITIES.values():
        for key, target in e.references:
            assert e.has(key) and ENTITIES[target].id_field, (e.key, key)


def test_the_sample_data_has_the_schema_shapes():
    from conftest import SAMPLE

    ws = open_workspace(SAMPLE)
    for key in ("customers", "interactions", "orders", "deals", "tasks", "tickets", "messages"):
        ids = ws[key][ENTITIES[key].id_field].astype("string")
        assert ids.iloc[0] == first_ids(key, len(ids)).iloc[0], key


def test_the_import_command_lists_the_importable_entities(capsys):
    assert main(["import", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for key in IMPORTABLE:
        assert f"{key} ({ENTITIES[key].zh})" in out
