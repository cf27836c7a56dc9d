"""Phone numbers are read in the workspace's country, never rewritten into another, extensions kept (issue 14 #5)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pandas as pd
import phonenumbers
import pytest

from crmkit import normalize as nz
from crmkit import phones
from crmkit.cli import main
from crmkit.importer import import_file
from crmkit.templates import init_workspace
from crmkit.validate import validate_frame
from crmkit.workspace import open_workspace

ATOMIC = Path(__file__).resolve().parent / "data" / "public" / "atomic-crm" / "contacts.csv"


def _phones(values, region):
    out, bad = phones.to_phone(pd.Series(values, dtype=object), region)
    return out.tolist(), bad.tolist()


@pytest.mark.parametrize("typed, region, stored", [
    ("510.863.7227 x152", "US", "+15108637227 ext. 152"),
    ("(484) 491-4638 x417", "US", "+14844914638 ext. 417"),
    ("1-787-299-9241 x198", "US", "+17872999241 ext. 198"),
    ("+1 650 253 0000 ext. 12", "CN", "+16502530000 ext. 12"),
    ("138 0013 8000 转 123", "CN", "+8613800138000 ext. 123"),
    ("010-6552 9988 分机 8", "CN", "+861065529988 ext. 8"),
    ("(415) 293-3313", "US", "+14152933313"),
])
def test_extensions_are_kept_after_the_e164_number(typed, region, stored):
    assert _phones([typed], region) == ([stored], [False])


def test_the_stored_form_reads_back_to_itself():
    stored = ["+15108637227 ext. 152", "+8613800138000 ext. 123", "+14152933313"]
    for region in ("US", "CN", "none"):
        assert _phones(stored, region) == (stored, [False] * 3)


def test_every_valid_atomic_crm_number_with_an_extension_keeps_it():
    d = pd.read_csv(ATOMIC, dtype=str)
    typed = pd.concat([d["phone_number1.number"], d["phone_number2.number"]], ignore_index=True).dropna()
    out, bad = phones.to_phone(typed, "US")
    want = 0
    for v in typed[typed.str.contains("x")]:
        n = phonenumbers.parse(v, "US")
        want += bool(phonenumbers.is_valid_number(n) and n.extension)
    assert want > 100
    kept = ~bad & out.str.contains(" ext. ", regex=False)
    assert int(kept.sum()) == want
    # each kept extension is the one typed
    assert (out[kept].str.extract(r"ext\. (\d+)$")[0] == typed[kept].str.extract(r"x(\d+)$")[0]).all()


def test_a_number_of_another_country_without_its_plus_is_kept_as_typed_with_a_warning():
    df = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["A", "B"], "phone": ["14152933313", "12345"],
                       "source": ["referral", "referral"], "created_at": ["2024-01-01", "2024-01-01"]},
                      index=[2, 3])
    out, issues = validate_frame(df, "customers", settings={"phone_region": "CN"})
    assert out.loc[2, "phone"] == "14152933313"                  # never rewritten into +8614152933313
    got = issues.set_index("row")[["field", "severity"]]
    assert got.loc[2].tolist() == ["phone", "warning"] and got.loc[3].tolist() == ["phone", "error"]
    assert "+" in issues.set_index("row").loc[2, "reason"]


def test_without_a_region_national_numbers_are_kept_as_typed_and_flagged_not_read_as_chinese():
    df = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["A", "B"],
                       "phone": ["(415) 293-3313", "+1 415 293 3313"],
                       "source": ["referral", "referral"], "created_at": ["2024-01-01", "2024-01-01"]},
                      index=[2, 3])
    out, issues = validate_frame(df, "customers", settings={"phone_region": "none"})
    assert out["phone"].tolist() == ["(415) 293-3313", "+14152933313"]
    assert issues["row"].tolist() == [2] and issues["severity"].tolist() == ["warning"]


def _settings(ws):
    return open_workspace(ws).settings


def test_init_en_with_region_reads_us_numbers_as_us_numbers(tmp_path):
    ws = tmp_path / "crm"
    assert main(["init", str(ws), "--lang", "en", "--region", "us"]) == 0
    assert _settings(ws)["phone_region"] == "US"
    src = tmp_path / "leads.csv"
    src.write_text("name,phone,source,created_at\nAcme,(415) 293-3313,referral,2024-05-01\n"
                   "Beta,510.863.7227 x152,referral,2024-05-01\n", encoding="utf-8")
    res = import_file(src, ws)
    assert res.imported == 2
    assert open_workspace(ws)["customers"]["phone"].tolist() == ["+14152933313", "+15108637227 ext. 152"]


def test_init_en_without_region_off_a_terminal_guesses_no_country(tmp_path, capsys):
    ws = tmp_path / "crm"
    assert main(["init", str(ws), "--lang", "en"]) == 0
    assert "phone_region = none" in capsys.readouterr().out
    assert _settings(ws)["phone_region"] == "none"
    df = pd.DataFrame({"customer_id": ["C1"], "name": ["A"], "phone": ["(415) 293-3313"], "source": ["referral"],
                       "created_at": ["2024-01-01"]})
    out, issues = validate_frame(df, "customers", settings=_settings(ws))
    assert out["phone"].tolist() == ["(415) 293-3313"] and issues["severity"].tolist() == ["warning"]


def test_init_zh_keeps_china_and_a_bad_region_is_usage_error(tmp_path, capsys):
    init_workspace(tmp_path / "zh", "zh")
    assert _settings(tmp_path / "zh")["phone_region"] == "CN"
    assert main(["init", str(tmp_path / "x"), "--lang", "en", "--region", "XX"]) == 2
    assert "--region" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_init_en_on_a_terminal_asks_for_the_region(tmp_path):
    ws = tmp_path / "crm"
    primary, secondary = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen([sys.executable, "-m", "crmkit", "init", str(ws), "--lang", "en"], stdin=secondary,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    os.close(secondary)
    os.write(primary, b"GB\n")
    out, err = proc.communicate(timeout=120)
    os.close(primary)
    assert proc.returncode == 0, err.decode()
    assert "Country of phone numbers" in out.decode()
    assert _settings(ws)["phone_region"] == "GB"


def test_templates_say_none_for_english_and_cn_for_chinese():
    root = Path(__file__).resolve().parent.parent / "templates"
    for lang, want in (("en", "none"), ("zh", "CN")):
        st = pd.read_excel(root / lang / "rules.xlsx", sheet_name=None, engine="openpyxl")
        frame = next(f for f in st.values() if "phone_region" in f.astype(str).to_numpy())
        row = frame[frame.iloc[:, 0] == "phone_region"]
        assert row.iloc[0, 1] == want


def test_dedupe_keys_masking_and_validation_agree_on_extensions():
    from crmkit.dedupe import find_duplicates

    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"], "name": ["Acme"] * 4,     # agreeing names: the phones decide
        "contact_name": ["a"] * 4,
        "phone": ["510.863.7227 x152", "+1 510 863 7227 ext. 152", "(510) 863-7227 x417", "510-863-7227"],
        "email": [None] * 4})
    groups = find_duplicates(customers, keys=["phone"], region="US")
    assert sorted(groups["customer_id"]) == ["C1", "C2"]           # another extension is another person
    assert set(groups["match_value"]) == {"+15108637227 ext. 152"}
    validated, issues = validate_frame(customers.assign(source="referral", created_at="2024-01-01"), "customers",
                                       settings={"phone_region": "US"})
    assert issues.empty
    stored = validated["phone"]
    assert stored.tolist() == ["+15108637227 ext. 152", "+15108637227 ext. 152", "+15108637227 ext. 417",
                               "+15108637227"]
    assert phones.to_phone(stored, "US")[0].tolist() == stored.tolist()
    assert nz.mask_contact(stored).tolist() == ["+151****7227 ext. 152", "+151****7227 ext. 152",
                                                "+151****7227 ext. 417", "+151****7227"]
