"""`run --dry-run` prints a summary a person can read (counts by rule, action and reason, a few examples);
the full plan goes to a file (--plan), to --json, or to the terminal with --full."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    import shutil

    return Path(shutil.copytree(ROOT / "sample_data", tmp_path_factory.mktemp("s") / "ws"))


def test_summary_counts_by_action_and_reason_with_a_few_examples(sample_dir, capsys):
    assert main(["run", str(sample_dir), "--dry-run", "--summary"]) == 0
    out = capsys.readouterr().out
    full_lines = len(out.splitlines())
    assert "By action:" in out and "Examples:" in out
    assert "--plan FILE.xlsx|csv" in out
    assert full_lines < 80                                    # a screenful, not one line per record
    assert main(["run", str(sample_dir), "--dry-run", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    planned = payload["planned"]
    assert len(planned) > full_lines                          # the full plan is longer than the summary
    suppressed = [p for p in planned if p["outcome"] == "suppressed"]
    assert suppressed and "Not done, by reason:" in out
    # the reasons add up to what was not done
    assert sum(payload["by_reason"].values()) == sum(p["outcome"] in ("suppressed", "skipped", "failed")
                                                     for p in planned)
    assert sum(n for outs in payload["by_action"].values() for n in outs.values()) == len(planned)


def test_full_prints_one_line_per_planned_action(sample_dir, capsys):
    assert main(["run", str(sample_dir), "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)["planned"]
    assert main(["run", str(sample_dir), "--dry-run", "--full"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) > len(planned)
    first = planned[0]
    assert f"{first['record_id']}: [" in out


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_plan_file_holds_every_planned_action(sample_dir, tmp_path, capsys, suffix):
    assert main(["run", str(sample_dir), "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)["planned"]
    before = {p.name: p.read_bytes() for p in sample_dir.glob("*.xlsx")}
    target = tmp_path / f"plan{suffix}"
    assert main(["run", str(sample_dir), "--dry-run", "--summary", "--plan", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    if suffix == ".csv":
        frame = pd.read_csv(target, encoding="utf-8-sig", dtype=str)
    else:
        rows = list(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
        frame = pd.DataFrame(rows[1:], columns=rows[0])
    assert len(frame) == len(planned)
    assert frame["Record"].tolist() == [p["record_id"] for p in planned]
    assert frame["Rule ID"].tolist() == [p["rule_id"] for p in planned]
    assert {p.name: p.read_bytes() for p in sample_dir.glob("*.xlsx")} == before     # a dry run writes no workbook


def test_plan_file_must_be_xlsx_or_csv(sample_dir, tmp_path, capsys):
    assert main(["run", str(sample_dir), "--dry-run", "--plan", str(tmp_path / "plan.txt")]) == 2
    assert ".xlsx or .csv" in capsys.readouterr().err


def test_summary_strips_terminal_escapes_from_workbook_text():
    from crmkit.rules.summary import one_line

    assert one_line("Acme\x1b]0;owned\x07 Ltd\x1b[2J") == "Acme Ltd"       # whole escape sequences go
    assert one_line("华星\n科技\t有限") == "华星 科技 有限"
    assert one_line(None) == "" and one_line(float("nan")) == ""
