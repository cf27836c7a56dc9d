"""The command line agrees with itself, the README and DESIGN §7: exit codes, --json, written files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from crmkit.cli import cli, main

ROOT = Path(__file__).resolve().parent.parent


def customers(n: int = 3, **overrides) -> pd.DataFrame:
    rows = [{"customer_id": f"C{i:03d}", "name": f"Firm {i}", "source": "referral", "created_at": "2026-10-01",
             "phone": f"138{i:08d}", "industry": "retail"} for i in range(1, n + 1)]
    df = pd.DataFrame(rows)
    for k, v in overrides.items():
        df[k] = v
    return df


def test_export_with_a_bad_where_expression_exits_2_as_the_readme_says(make_workspace, tmp_path, capsys):
    ws = make_workspace({"customers": customers()})
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "2 bad usage" in readme
    code = main(["export", str(ws), "--where", 'industry == "retail" and', "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("crmkit: error: --where:") and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


def test_validate_json_lists_the_issues_with_their_place(make_workspace, capsys):
    bad = customers(3)
    bad.loc[1, "phone"] = "12345"
    bad.loc[2, "name"] = None
    ws = make_workspace({"customers": bad})
    capsys.readouterr()
    code = main(["validate", str(ws), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["issues_total"] == len(payload["issues"]) >= 2
    assert payload["issues_truncated"] == 0
    assert payload["errors"] >= 1
    for issue in payload["issues"]:
        assert set(issue) == {"file", "sheet", "row", "column", "value", "reason", "severity"}
    phone = [i for i in payload["issues"] if i["value"] == "12345"]
    assert phone and phone[0]["row"] == 3 and phone[0]["sheet"] in ("Customers", "客户")
    assert phone[0]["file"].endswith("customers.xlsx")


def test_validate_json_stays_bounded_on_many_issues(make_workspace, capsys):
    many = customers(1200)
    many["phone"] = "12345"          # one bad phone per row: 1,200 issues
    ws = make_workspace({"customers": many})
    capsys.readouterr()
    main(["validate", str(ws), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["issues"]) == 1000
    assert payload["issues_total"] >= 1200
    assert payload["issues_truncated"] == payload["issues_total"] - 1000


def test_a_real_import_says_which_workbooks_it_wrote(make_workspace, tmp_path, capsys):
    ws = make_workspace({"customers": customers(2)})
    src = tmp_path / "new.csv"
    src.write_text("客户名称,联系电话,客户来源,建档日期\n新公司,13900001111,展会,2026-11-01\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", str(src), "--into", str(ws)]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("written:")]
    assert line and "customers.xlsx" in line[0]
    assert main(["import", str(src), "--into", str(ws), "--json", "--dry-run"]) in (0, 1)
    dry = json.loads(capsys.readouterr().out)
    assert "written" not in dry
    src2 = tmp_path / "new2.csv"
    src2.write_text("客户名称,联系电话,客户来源,建档日期\n另一家公司,13900002222,展会,2026-11-02\n", encoding="utf-8")
    assert main(["import", str(src2), "--into", str(ws), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert any(p.endswith("customers.xlsx") for p in payload["written"])
    assert all(Path(p).is_file() for p in payload["written"])


def readme_commands() -> dict[str, set[str]]:
    """The options each command shows in the README's command list."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Command line", 1)[1].split("```", 2)[1]
    out = {}
    for line in block.strip().splitlines():
        words = line.split()
        if len(words) > 1 and words[0] == "crmkit":
            out[words[1]] = set(re.findall(r"--[a-z][a-z-]*", line))
    return out


@pytest.mark.parametrize("name", sorted(readme_commands()))
def test_every_option_in_the_readme_exists_and_help_exits_0(name, capsys):
    cmd = cli.commands[name]
    known = {opt for p in cmd.params for opt in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])}
    assert readme_commands()[name] <= known, f"{name}: README options missing from the command"
    assert main([name, "--help"]) == 0
    assert "Usage: crmkit " + name in capsys.readouterr().out


def test_every_command_is_in_the_readme_and_usage_errors_exit_2(capsys):
    assert set(cli.commands) <= set(readme_commands())
    for name in ("init", "sample", "validate", "import", "dedupe", "run", "rfm", "report", "export", "dashboard"):
        assert main([name]) == 2, name          # a missing argument
    assert main(["no-such-command"]) == 2
    assert main(["run", "/no/such/workspace"]) == 2
