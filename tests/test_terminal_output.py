"""What the command line prints carries no terminal control codes from users' data (issue 14)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.console import clean_text
from crmkit.templates import write_workspace

EVIL = "Evil\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\x1b[0m\u202eabc\x9b2J\x9d8;;http://x\x9c\x07\x08\x00Co"
#: anything a terminal could act on: C0 but tab/newline, DEL, C1, bidi controls
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("raw, shown", [
    ("Acme\x1b[31m Ltd\x1b[0m", "Acme Ltd"),
    ("a\x1b]0;title\x07b", "ab"),
    ("a\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),
    ("\u202egnp.exe", "gnp.exe"),
    ("a\x9b31mb", "ab"),
    ("line 1\nline\t2\r", "line 1\nline\t2"),
    ("客户\x07名称", "客户名称"),
    ("plain [31m text", "plain [31m text"),
])
def test_clean_text_strips_escape_sequences_and_control_characters(raw, shown):
    assert clean_text(raw) == shown


@pytest.fixture(scope="module")
def ws_dir(tmp_path_factory):
    rules = pd.DataFrame([{"rule_id": "T1", "name": "notify", "enabled": True, "entity": "customers",
                           "when": "is_blank(tags)", "action": "notify", "params": 'to=owner; text="New {name}"',
                           "once": "ever", "priority": 1}])
    rules["enabled"] = rules["enabled"].astype("boolean")
    customers = pd.DataFrame({"customer_id": ["C1"], "name": [EVIL], "source": ["referral"],
                              "created_at": ["2026-01-01"], "owner": ["Alex Chen"], "phone": ["\x1b[2J1380"]})
    return write_workspace(tmp_path_factory.mktemp("term") / "ws", {"customers": customers, "rules": rules},
                           settings={"as_of": "2026-11-20 10:00"})


@pytest.mark.parametrize("args", [["run", "--dry-run"], ["validate"], ["export", "--columns", "name", "--out"]])
def test_commands_print_no_control_characters_from_customer_data(ws_dir, tmp_path, capsys, args):
    argv = [args[0], str(ws_dir), *args[1:]] + ([str(tmp_path / "x.csv")] if args[-1] == "--out" else [])
    main(argv)
    out, err = capsys.readouterr()
    assert not CONTROL.search(out) and not CONTROL.search(err), (out + err).encode("unicode_escape")
    if args[0] == "run":
        assert "New EvilREDabc" in out


def test_run_dry_run_json_keeps_the_name_escaped_and_intact(ws_dir, capsys):
    main(["run", str(ws_dir), "--dry-run", "--json"])
    out = capsys.readouterr().out
    assert not CONTROL.search(out)
    payload = json.loads(out)
    assert isinstance(payload, dict)
