"""Settings and rule parameters are checked, and errors name their place (issue 14, item 7).

* ``language=fr``, an unknown ``timezone``, ``phone_region=XX``,
  ``backups_keep=-1`` (and other out-of-range values) are refused, naming
  rules.xlsx, sheet Settings, the row and the column ``value``.
* ``validate`` and ``run`` read ``rfm_thresholds`` with the same parser.
* A rule with ``due=99999999d`` is a located rule error (rule id and
  parameter); that rule is skipped and the others run.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.exceptions import ValidationError
from crmkit.rules.engine import run_rules
from crmkit.settings import parse_duration
from crmkit.workspace import open_workspace

AS_OF = "2026-11-20 10:00"
TODAY = pd.Timestamp(AS_OF).normalize()


def customers_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C001", "C002"], "name": ["Acme", "Beta"], "source": ["website_form", "referral"],
        "stage": ["lead", "won"], "owner": ["Sam Patel", "Sam Patel"],
        "created_at": [TODAY, TODAY - pd.Timedelta(days=500)],
    })


def settings_row(folder, key: str) -> int:
    """The Excel row of ``key`` in the Settings sheet."""
    import openpyxl

    sheet = openpyxl.load_workbook(folder / "rules.xlsx", read_only=True)["Settings"]
    for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if row and row[0] == key:
            return i
    raise AssertionError(key)


BAD = [
    ("language", "fr", "en (English) or zh"),
    ("timezone", "Mars/Olympus", "not a time zone"),
    ("phone_region", "XX", "not a country code"),
    ("backups_keep", "-1", "not be negative"),
    ("backups_keep", "2.5", "whole number"),
    ("daily_message_cap", "lots", "whole number"),
    ("target_open", "25", "between 0 and 1"),
    ("date_dayfirst", "maybe", "yes or no"),
    ("cadence_lead", "99999999d", "too long"),
    ("rfm_thresholds", "r=30,60,90", "exactly 4 thresholds"),
]


@pytest.mark.parametrize("key, value, reason", BAD, ids=[f"{k}={v}" for k, v, _ in BAD])
def test_a_bad_setting_is_refused_naming_the_file_sheet_row_and_column(make_workspace, key, value, reason):
    folder = make_workspace({"customers": customers_frame()}, settings={"as_of": AS_OF, key: value})
    with pytest.raises(ValidationError) as err:
        _ = open_workspace(folder).settings
    e = err.value
    assert reason in e.message and key in e.message
    assert e.file.endswith("rules.xlsx") and e.sheet == "Settings" and e.column == "value"
    assert e.row == settings_row(folder, key)
    assert f"row {e.row}" in str(e) and repr(value) in str(e)


@pytest.mark.parametrize("key, value, expected", [
    ("language", "中文", "中文"), ("timezone", "Europe/Berlin", "Europe/Berlin"), ("phone_region", "us", "US"),
    ("phone_region", "none", "none"), ("phone_region", "无", "无"),
    ("backups_keep", "0", 0), ("target_open", "25%", 0.25), ("date_dayfirst", "否", False),
    ("rfm_thresholds", "r=30,60,90,180; f=2,3,5,8", "r=30,60,90,180; f=2,3,5,8"),
])
def test_good_settings_are_read(make_workspace, key, value, expected):
    folder = make_workspace({"customers": customers_frame()}, settings={"as_of": AS_OF, key: value})
    assert open_workspace(folder).settings[key] == expected


@pytest.mark.parametrize("command", ["validate", "run", "rfm"])
def test_validate_run_and_rfm_refuse_the_same_rfm_thresholds_with_the_same_message(make_workspace, capsys, command):
    folder = make_workspace({"customers": customers_frame()},
                            settings={"as_of": AS_OF, "rfm_thresholds": "r=30,60,90; f=1,2,3,4"}, name="w")
    code = main([command, str(folder)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "sheet 'Settings'" in err and "rfm_thresholds" in err and "exactly 4 thresholds" in err


def test_a_duration_beyond_pandas_dates_is_a_clear_error_not_an_overflow():
    with pytest.raises(ValidationError, match="too long"):
        parse_duration("99999999d")
    assert parse_duration("36525d") == pd.Timedelta(days=36525)
    assert parse_duration("1.5h") == pd.Timedelta(minutes=90)


def test_a_rule_with_an_endless_due_is_skipped_with_its_id_and_parameter_and_the_others_run(make_workspace, capsys):
    rules = pd.DataFrame([
        {"rule_id": "LONG", "name": "endless", "enabled": True, "entity": "customers", "when": 'stage == "lead"',
         "action": "create_task", "params": 'title="call"; due=99999999d', "once": "ever", "priority": 1},
        {"rule_id": "GOOD", "name": "tag", "enabled": True, "entity": "customers", "when": 'stage == "won"',
         "action": "add_tag", "params": "tag=vip", "once": "ever", "priority": 2},
    ])
    folder = make_workspace({"customers": customers_frame(), "rules": rules}, settings={"as_of": AS_OF})
    res = run_rules(open_workspace(folder))
    errors = {e["rule_id"]: e for e in res.errors}
    assert set(errors) == {"LONG"}
    assert "due" in errors["LONG"]["message"] and "too long" in errors["LONG"]["message"]
    assert res.summary()["by_rule"].get("GOOD") == 1
    assert open_workspace(folder)["tasks"].empty
    code = main(["run", str(folder), "--as-of", "2026-11-21 10:00"])
    err = capsys.readouterr().err
    assert code == 1 and "OutOfBounds" not in err and "unexpected" not in err
