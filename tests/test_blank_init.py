"""A new workspace is blank: no team, no routing, the default rules only as disabled examples; `run` says what
to fill in first and does nothing. `init --sample` keeps the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import crmkit
from crmkit.cli import main

ROOT = Path(__file__).resolve().parent.parent


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file but the read cache (reading a workbook may fill .crmkit/cache)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".crmkit/cache" not in p.as_posix()}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_init_writes_no_team_no_routing_and_only_disabled_example_rules(tmp_path, lang):
    assert main(["init", str(tmp_path / "crm"), "--lang", lang]) == 0
    ws = crmkit.open_workspace(tmp_path / "crm")
    assert len(ws["team"]) == 0
    assert len(ws["routing"]) == 0
    rules = ws["rules"]
    assert len(rules) == 20                                   # the default rules are there, as examples (R13: low stock)
    assert not rules["enabled"].fillna(False).astype(bool).any()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_committed_templates_are_blank_too(tmp_path, lang):
    import shutil

    shutil.copytree(ROOT / "templates" / lang, tmp_path / "ws")
    ws = crmkit.open_workspace(tmp_path / "ws")
    assert len(ws["team"]) == 0 and len(ws["routing"]) == 0
    assert not ws["rules"]["enabled"].fillna(False).astype(bool).any()


def test_run_on_a_blank_workspace_lists_what_to_fill_in_and_changes_nothing(tmp_path, capsys):
    folder = tmp_path / "crm"
    assert main(["init", str(folder)]) == 0
    capsys.readouterr()
    before = snapshot(folder)
    assert main(["run", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "no rule is enabled" in out
    assert "sheet Team" in out and "column Enabled" in out and "crmkit import" in out
    assert snapshot(folder) == before


def test_run_on_a_blank_chinese_workspace_explains_in_chinese(tmp_path, capsys):
    folder = tmp_path / "crm"
    assert main(["init", str(folder), "--lang", "zh"]) == 0
    capsys.readouterr()
    assert main(["run", str(folder), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "还没有启用任何规则" in out and "“团队”表" in out and "“启用”列" in out


def test_run_json_on_a_blank_workspace_gives_the_checklist(tmp_path, capsys):
    folder = tmp_path / "crm"
    assert main(["init", str(folder)]) == 0
    capsys.readouterr()
    assert main(["run", str(folder), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["actions"] == 0 and payload["by_rule"] == {}
    assert [i["key"] for i in payload["checklist"]] == ["team", "rules", "customers", "settings"]


def test_enabled_rules_without_a_team_run_with_a_note(make_workspace, capsys):
    from crmkit.rules.defaults import example_rules

    rules = example_rules("en")
    rules.loc[rules["rule_id"] == "R10", "enabled"] = True
    customers = pd.DataFrame({"customer_id": ["C1"], "name": ["Acme"], "source": ["referral"],
                              "created_at": pd.to_datetime(["2026-11-20 09:00"]), "preferred_channel": ["email"],
                              "email": ["a@example.com"], "marketing_consent": [True]})
    folder = make_workspace({"customers": customers, "rules": rules, "team": pd.DataFrame(columns=["name"]),
                             "routing": pd.DataFrame(columns=["match", "owner"])},
                            settings={"as_of": "2026-11-20 10:00"})
    assert main(["run", str(folder), "--dry-run"]) == 0
    cap = capsys.readouterr()
    assert "R10" in cap.out
    assert "note" in cap.err and "sheet Team" in cap.err


def test_write_workspace_gives_the_demo_or_a_blank_workspace(tmp_path):
    from crmkit.templates import write_workspace

    demo = crmkit.open_workspace(write_workspace(tmp_path / "demo"))
    assert demo["rules"]["enabled"].all() and len(demo["team"]) == 5 and len(demo["routing"]) == 4
    blank = crmkit.open_workspace(write_workspace(tmp_path / "blank", demo=False))
    assert len(blank["team"]) == 0 and not blank["rules"]["enabled"].fillna(False).astype(bool).any()


def test_init_sample_keeps_the_demo(tmp_path):
    assert main(["init", str(tmp_path / "s"), "--sample"]) == 0
    ws = crmkit.open_workspace(tmp_path / "s")
    assert len(ws["team"]) == 5 and ws["rules"]["enabled"].all() and len(ws["customers"]) == 500
