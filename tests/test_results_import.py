"""crmkit results: a sending service's event export comes back into Messages (issue 16, part 3).

A sample workspace whose sent messages get provider ids, and messy exports
written here: wrong-case and Chinese headers, unknown ids, duplicate events, a
GBK CSV, an xlsx with a title row, an address + time match, a bounce, an
unsubscribe and a complaint, a conversion with revenue.  Every row is
accounted for; a dry run and a second import write nothing.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from crmkit import analytics as an
from crmkit.cli import main
from crmkit.delivery.events import EXPORT, RESULT_EVENT
from crmkit.delivery.results import MATCH_WINDOW_DAYS, OUTCOMES, import_results, parse_times
from crmkit.io.journal import workspace_lock
from crmkit.schema import match_header
from crmkit.workspace import open_workspace

WORKBOOKS = ("customers.xlsx", "campaigns.xlsx", "log.xlsx", "tasks.xlsx", "rules.xlsx")


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory) -> Path:
    """A sample workspace; ten sent e-mails of campaigns, to ten customers who got no other e-mail, get
    provider ids prov-0 ... prov-9 (as the sender writes them, in <...>) and no results yet."""
    folder = tmp_path_factory.mktemp("results") / "crm"
    assert main(["init", str(folder), "--sample"]) == 0
    with workspace_lock(folder):
        ws = open_workspace(folder)
        m = ws["messages"].copy()
        c = ws["customers"].set_index("customer_id")
        ok = ((m["status"] == "sent") & (m["channel"] == "email") & m["campaign_id"].notna()
              & m["bounced_at"].isna() & m["unsubscribed_at"].isna()).fillna(False)
        ok &= m["customer_id"].map(c["unsubscribed"]).fillna(False).eq(False).to_numpy()
        ok &= m["customer_id"].map(c["email"]).notna().to_numpy()
        emails = m.loc[(m["channel"] == "email").fillna(False) & m["sent_at"].notna(), "customer_id"]
        ok &= m["customer_id"].map(emails.value_counts()).eq(1).to_numpy()   # their one e-mail sent
        picked = m[ok.to_numpy(dtype=bool)].drop_duplicates("customer_id").index[:10]
        assert len(picked) == 10
        m.loc[picked, "provider_message_id"] = [f"<prov-{i}@mail.example>" for i in range(10)]
        for col in ("opened_at", "clicked_at", "converted_at", "revenue", "failure_reason"):
            m.loc[picked, col] = None     # no results yet: each import below brings them
        ws.replace("messages", m)
        ws.save()
    return folder


@pytest.fixture
def ws_dir(sample_ws, tmp_path) -> Path:
    return Path(shutil.copytree(sample_ws, tmp_path / "crm"))


def message(ws_dir: Path, provider: int) -> pd.Series:
    m = open_workspace(ws_dir)["messages"]
    return m[m["provider_message_id"] == f"<prov-{provider}@mail.example>"].iloc[0]


def customer(ws_dir: Path, customer_id: str) -> pd.Series:
    c = open_workspace(ws_dir)["customers"]
    return c[c["customer_id"] == customer_id].iloc[0]


def stamp(ts: pd.Timestamp, minutes: int = 0) -> str:
    return (pd.Timestamp(ts) + pd.Timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in WORKBOOKS}


def messy_export(ws_dir: Path, path: Path) -> dict:
    """A CSV with wrong-case headers and every kind of row; returns what each row should come to."""
    m = {i: message(ws_dir, i) for i in range(10)}
    email6 = customer(ws_dir, m[6]["customer_id"])["email"]
    rows = [
        # id (with the provider's own <...>) , event, recipient, time, amount, reason
        ("prov-0@mail.example", "OPEN", "", stamp(m[0]["sent_at"], 30), "", ""),            # matched
        ("prov-0@mail.example", "open", "", stamp(m[0]["sent_at"], 30), "", ""),            # duplicate: known
        ("prov-1@mail.example", "Clicked", "", stamp(m[1]["sent_at"], 40), "", ""),         # matched (+open)
        ("nope-77@mail.example", "opened", "", stamp(m[1]["sent_at"], 40), "", ""),         # unmatched
        ("prov-2@mail.example", "purchase", "", stamp(m[2]["sent_at"], 90), "1,200.50", ""),  # matched
        ("prov-2@mail.example", "purchase", "", stamp(m[2]["sent_at"], 90), "1,200.50", ""),  # same: known
        ("prov-2@mail.example", "converted", "", stamp(m[2]["sent_at"], 300), "99.5", ""),  # second: matched
        ("prov-3@mail.example", "bounced", "", stamp(m[3]["sent_at"], 1), "",
         "550 5.1.1 mailbox unavailable"),                                                     # matched
        ("prov-4@mail.example", "Unsubscribed", "", stamp(m[4]["sent_at"], 60), "", ""),     # matched
        ("prov-5@mail.example", "SpamReport", "", stamp(m[5]["sent_at"], 60), "", ""),       # matched
        ("", "open", f"  {email6.upper()} ", stamp(m[6]["sent_at"], 5), "", ""),            # address: matched
        ("", "open", "nobody@nowhere.example", stamp(m[6]["sent_at"], 5), "", ""),          # unmatched
        ("prov-7@mail.example", "exploded", "", stamp(m[7]["sent_at"], 5), "", ""),         # rejected
        ("prov-7@mail.example", "open", "", "last tuesday", "", ""),                        # rejected
        ("", "open", "", stamp(m[7]["sent_at"], 5), "", ""),                                # rejected
        ("prov-8@mail.example", "soft_bounce", "", stamp(m[8]["sent_at"], 2), "", "mailbox full"),  # matched
    ]
    df = pd.DataFrame(rows, columns=["MESSAGE-ID", " Event Type ", "E-Mail", "TimeStamp", "Order_Amount", "REASON"])
    df.to_csv(path, index=False, encoding="utf-8-sig")
    return {"rows": len(rows), "matched": 9, "already_known": 2, "unmatched": 2, "rejected": 3, "m": m}


def test_a_messy_export_is_accounted_for_row_by_row(ws_dir, tmp_path):
    src = tmp_path / "Events Export.csv"
    want = messy_export(ws_dir, src)
    m = want["m"]
    res = import_results(src, ws_dir)
    got = res.summary()
    assert got["source_rows"] == want["rows"]
    assert {k: got[k] for k in OUTCOMES} == {k: want[k] for k in OUTCOMES}
    assert sum(got[k] for k in OUTCOMES) == got["source_rows"]
    assert got["events"] == {"open": 5, "click": 1, "conversion": 3, "hard_bounce": 1, "soft_bounce": 1,
                             "unsubscribe": 1, "complaint": 1}
    assert got["applied"] == {"open": 2, "click": 1, "conversion": 2, "hard_bounce": 1, "soft_bounce": 1,
                              "unsubscribe": 1, "complaint": 1}
    assert [(r["row"], r["value"]) for r in got["unmatched_rows"]] == [(5, "nope-77@mail.example"),
                                                                       (13, "nobody@nowhere.example")]
    rejected = {r["row"]: r for r in got["rejected_rows"]}
    assert sorted(rejected) == [14, 15, 16]
    assert rejected[14]["column"] == " Event Type ".strip() and rejected[14]["value"] == "exploded"
    assert rejected[15]["column"] == "TimeStamp" and "date" in rejected[15]["reason"]
    assert rejected[16]["column"] is None and "no message ID" in rejected[16]["reason"]
    assert all(r["file"] == "Events Export.csv" for r in got["rejected_rows"])
    assert res.exit_code == 1

    # opens, clicks (a click implies an open), conversions with revenue adding up once each
    after = {i: message(ws_dir, i) for i in range(10)}
    assert after[0]["opened_at"] == pd.Timestamp(stamp(m[0]["sent_at"], 30))
    assert after[1]["clicked_at"] == after[1]["opened_at"] == pd.Timestamp(stamp(m[1]["sent_at"], 40))
    assert after[2]["converted_at"] == pd.Timestamp(stamp(m[2]["sent_at"], 90))
    before_revenue = 0.0 if pd.isna(m[2]["revenue"]) else float(m[2]["revenue"])
    assert float(after[2]["revenue"]) == pytest.approx(before_revenue + 1200.50 + 99.5)
    assert after[6]["opened_at"] == pd.Timestamp(stamp(m[6]["sent_at"], 5))
    # a hard bounce fails the message and marks the address
    assert after[3]["status"] == "failed" and after[3]["failure_reason"] == "550 5.1.1 mailbox unavailable"
    assert after[3]["bounced_at"] == pd.Timestamp(stamp(m[3]["sent_at"], 1))
    c3 = customer(ws_dir, m[3]["customer_id"])
    assert c3["email"].lower() in str(c3["bounced_address"]).lower().split(";")
    # a soft bounce leaves status and address alone, and says so in the failure reason
    assert after[8]["status"] == "sent" and pd.isna(after[8]["bounced_at"])
    assert after[8]["failure_reason"] == "soft bounce: mailbox full"
    assert pd.isna(customer(ws_dir, m[8]["customer_id"])["bounced_address"])
    # an unsubscribe and a complaint set the customer's flag, with History
    for i in (4, 5):
        assert after[i]["unsubscribed_at"] == pd.Timestamp(stamp(m[i]["sent_at"], 60))
        assert bool(customer(ws_dir, m[i]["customer_id"])["unsubscribed"]) is True
    hist = open_workspace(ws_dir)["history"]
    ours = hist[hist["by"] == "results:Events Export.csv"]
    assert set(zip(ours["record_id"], ours["field"], ours["new"])) == {
        (m[4]["customer_id"], "unsubscribed", "yes"), (m[5]["customer_id"], "unsubscribed", "yes"),
        (m[3]["customer_id"], "bounced_address", c3["bounced_address"])}
    assert set(ours.loc[ours["field"] == "unsubscribed", "old"]) == {"no"}


def test_a_dry_run_writes_nothing_and_counts_the_same(ws_dir, tmp_path):
    src = tmp_path / "events.csv"
    messy_export(ws_dir, src)
    before = snapshot(ws_dir)
    dry = import_results(src, ws_dir, dry_run=True).summary()
    assert snapshot(ws_dir) == before
    assert not (ws_dir / ".crmkit" / "results_state.json").exists()
    assert dry["written"] == []
    real = import_results(src, ws_dir).summary()
    assert {k: dry[k] for k in (*OUTCOMES, "events", "applied", "source_rows")} == \
        {k: real[k] for k in (*OUTCOMES, "events", "applied", "source_rows")}
    assert snapshot(ws_dir) != before


def test_a_second_import_of_the_same_file_changes_nothing(ws_dir, tmp_path):
    src = tmp_path / "events.csv"
    want = messy_export(ws_dir, src)
    first = import_results(src, ws_dir).summary()
    after_first = snapshot(ws_dir)
    again = import_results(src, ws_dir).summary()
    assert snapshot(ws_dir) == after_first
    assert again["written"] == []
    assert again["matched"] == 0
    assert again["already_known"] == first["matched"] + first["already_known"]
    assert (again["unmatched"], again["rejected"]) == (want["unmatched"], want["rejected"])


def test_a_gbk_csv_with_chinese_headers_and_events(ws_dir, tmp_path, capsys):
    m = {i: message(ws_dir, i) for i in range(10)}
    src = tmp_path / "短信回执.csv"
    lines = ["服务商消息编号,事件类型,发生时间,金额,原因",
             f"prov-0@mail.example,打开,{stamp(m[0]['sent_at'], 10)},,",
             f"prov-1@mail.example,点击,{stamp(m[1]['sent_at'], 11)},,",
             f"prov-2@mail.example,成交,{stamp(m[2]['sent_at'], 12)},￥88.00,",
             f"prov-3@mail.example,退信,{stamp(m[3]['sent_at'], 13)},,号码不存在",
             f"prov-4@mail.example,退订,{stamp(m[4]['sent_at'], 14)},,",
             f"prov-5@mail.example,举报,{stamp(m[5]['sent_at'], 15)},,",
             f"prov-6@mail.example,送达,{stamp(m[6]['sent_at'], 1)},,"]
    src.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    code = main(["results", str(src), "--into", str(ws_dir), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["source_rows"], out["matched"], out["already_known"], out["unmatched"], out["rejected"]) == \
        (7, 6, 1, 0, 0)      # delivered tells nothing new about a message already sent
    assert out["events"] == {"delivered": 1, "open": 1, "click": 1, "conversion": 1, "hard_bounce": 1,
                             "unsubscribe": 1, "complaint": 1}
    assert message(ws_dir, 3)["failure_reason"] == "号码不存在"
    assert float(message(ws_dir, 2)["revenue"]) == pytest.approx(
        (0.0 if pd.isna(m[2]["revenue"]) else float(m[2]["revenue"])) + 88.0)


def test_an_xlsx_export_with_a_title_row_matches_our_message_ids(ws_dir, tmp_path, capsys):
    m = {i: message(ws_dir, i) for i in range(10)}
    src = tmp_path / "export.xlsx"
    body = pd.DataFrame({"消息编号": [m[0]["message_id"], m[1]["message_id"], "M999999"],
                         "状态": ["已打开", "点击", "打开"],
                         "时间": [pd.Timestamp(stamp(m[0]["sent_at"], 20)), pd.Timestamp(stamp(m[1]["sent_at"], 20)),
                                pd.Timestamp(stamp(m[1]["sent_at"], 20))]})
    with pd.ExcelWriter(src, engine="xlsxwriter") as xl:
        body.to_excel(xl, sheet_name="明细", index=False, startrow=2)
        xl.sheets["明细"].write(0, 0, "2026年11月 邮件事件导出")
    code = main(["--lang", "zh", "results", str(src), "--into", str(ws_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "已匹配 2" in out and "未匹配 1" in out and "已拒绝 0" in out
    assert message(ws_dir, 0)["opened_at"] == pd.Timestamp(stamp(m[0]["sent_at"], 20))
    assert message(ws_dir, 1)["clicked_at"] == pd.Timestamp(stamp(m[1]["sent_at"], 20))


def test_an_address_match_takes_the_latest_message_sent_before_within_the_window(ws_dir, tmp_path):
    m6 = message(ws_dir, 6)
    email = customer(ws_dir, m6["customer_id"])["email"]
    late = pd.Timestamp(m6["sent_at"]) + pd.Timedelta(days=MATCH_WINDOW_DAYS + 1)
    early = pd.Timestamp(m6["sent_at"]) - pd.Timedelta(minutes=1)
    src = tmp_path / "by-address.csv"
    pd.DataFrame({"recipient": [email, email, email],
                  "event": ["open", "open", "click"],
                  "time": [stamp(late), stamp(early), stamp(m6["sent_at"], 3)]}).to_csv(src, index=False)
    got = import_results(src, ws_dir).summary()
    assert (got["matched"], got["unmatched"]) == (1, 2)
    assert [r["row"] for r in got["unmatched_rows"]] == [2, 3]
    after = message(ws_dir, 6)
    assert after["clicked_at"] == pd.Timestamp(stamp(m6["sent_at"], 3))


def test_campaign_metrics_show_the_imported_results(ws_dir, tmp_path):
    m = {i: message(ws_dir, i) for i in range(10)}
    ws = open_workspace(ws_dir)
    before = an.campaign_kpis(ws["campaigns"], ws["messages"], ws.settings).set_index("campaign_id")
    src = tmp_path / "events.csv"
    messy_export(ws_dir, src)
    import_results(src, ws_dir)
    ws = open_workspace(ws_dir)
    after = an.campaign_kpis(ws["campaigns"], ws["messages"], ws.settings).set_index("campaign_id")
    delta = (after[["opened", "clicked", "converted", "bounced", "unsubscribed", "revenue"]]
             - before[["opened", "clicked", "converted", "bounced", "unsubscribed", "revenue"]])
    expected = pd.DataFrame(0.0, index=delta.index, columns=delta.columns)
    for i, col, n in ((3, "bounced", 1), (4, "unsubscribed", 1), (5, "unsubscribed", 1), (2, "revenue", 1300.0)):
        expected.loc[m[i]["campaign_id"], col] += n
    for i in (0, 1, 6):
        if pd.isna(m[i]["opened_at"]):
            expected.loc[m[i]["campaign_id"], "opened"] += 1
    if pd.isna(m[1]["clicked_at"]):
        expected.loc[m[1]["campaign_id"], "clicked"] += 1
    if pd.isna(m[2]["converted_at"]):
        expected.loc[m[2]["campaign_id"], "converted"] += 1
    pd.testing.assert_frame_equal(delta.astype("float64"), expected, check_names=False)
    totals = an.campaign_totals(after)
    assert totals["bounced"] == after["bounced"].sum() >= 1
    assert totals["unsubscribed"] == after["unsubscribed"].sum() >= 2


def test_the_campaign_table_and_the_report_label_bounces_and_unsubscribes_in_both_languages():
    from crmkit.dashboard.formatting import column_label

    assert column_label("bounced", "zh") == "已退信" and column_label("unsubscribed", "zh") == "已退订"
    assert column_label("bounced", "en") == "Bounced" and column_label("converted", "zh") == "已转化"


@pytest.mark.parametrize("content, name", [
    (b"\x00\x01\x02\x03 binary junk \xff\xfe\x00", "junk.csv"),
    (bytes(range(256)) * 8, "junk.xlsx"),
    (b"just a sentence, and another\nnothing here names an event\n", "notes.csv"),
    (b"customer,city\nAcme,Shanghai\n", "not-events.csv"),
])
def test_a_hostile_file_exits_2_with_one_line_and_no_traceback(ws_dir, tmp_path, capsys, content, name):
    src = tmp_path / name
    src.write_bytes(content)
    before = snapshot(ws_dir)
    code = main(["results", str(src), "--into", str(ws_dir)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and name in lines[0]
    assert snapshot(ws_dir) == before


def test_an_export_without_an_id_or_recipient_column_is_refused(ws_dir, tmp_path, capsys):
    src = tmp_path / "only-events.csv"
    src.write_text("event,time\nopen,2026-11-01 10:00\n", encoding="utf-8")
    assert main(["results", str(src), "--into", str(ws_dir)]) == 2
    assert "recipient" in capsys.readouterr().err


def test_json_lists_are_capped_but_counts_cover_every_row(ws_dir, tmp_path, capsys):
    src = tmp_path / "many.csv"
    pd.DataFrame({"msg_id": [f"unknown-{i}" for i in range(250)], "type": "open",
                  "date": "2026-11-01 10:00"}).to_csv(src, index=False)
    assert main(["results", str(src), "--into", str(ws_dir), "--json", "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["unmatched"] == 250 and len(out["unmatched_rows"]) == 200
    assert out["unmatched_rows_truncated"] == 50


@pytest.mark.parametrize("header, key", [
    ("Message-ID", "message_id"), ("msg_id", "message_id"), ("消息ID", "message_id"), ("消息编号", "message_id"),
    ("服务商消息编号", "provider_message_id"), ("sg_message_id", "provider_message_id"),
    ("EVENT", "event"), ("Type", "event"), ("status", "event"), ("事件", "event"), ("事件类型", "event"),
    ("状态", "event"), ("email", "address"), ("Recipient", "address"), ("TO", "address"), ("phone", "address"),
    ("Mobile", "address"), ("收件人", "address"), ("邮箱", "address"), ("手机号", "address"),
    ("timestamp", "at"), ("Event_Time", "at"), ("date", "at"), ("时间", "at"), ("发生时间", "at"),
    ("Revenue", "revenue"), ("order amount", "revenue"), ("金额", "revenue"), ("收入", "revenue"),
    ("reason", "detail"), ("原因", "detail"), ("colour", None),
])
def test_export_headers_in_either_language_and_any_case(header, key):
    assert match_header(EXPORT, header) == key


@pytest.mark.parametrize("word, code", [
    ("delivered", "delivered"), ("送达", "delivered"), ("open", "open"), ("Opened", "open"), ("打开", "open"),
    ("click", "click"), ("CLICKED", "click"), ("点击", "click"), ("conversion", "conversion"),
    ("converted", "conversion"), ("purchase", "conversion"), ("转化", "conversion"), ("成交", "conversion"),
    ("bounce", "hard_bounce"), ("bounced", "hard_bounce"), ("hard_bounce", "hard_bounce"), ("退信", "hard_bounce"),
    ("soft_bounce", "soft_bounce"), ("Soft Bounce", "soft_bounce"), ("unsubscribe", "unsubscribe"),
    ("unsubscribed", "unsubscribe"), ("退订", "unsubscribe"), ("complaint", "complaint"), ("spam", "complaint"),
    ("spamreport", "complaint"), ("投诉", "complaint"), ("举报", "complaint"),
])
def test_event_words_in_either_language(word, code):
    from crmkit.schema import norm_token

    assert RESULT_EVENT.lookup[norm_token(word)] == code


def test_times_with_a_zone_or_as_unix_seconds_are_read_as_the_team_s_wall_clock():
    got = parse_times(pd.Series(["2026-11-01 10:00", "2026-11-01T02:00:00Z", "1793498400", "2026年11月1日 10:00",
                                 "soon"], dtype="string"), "Asia/Shanghai")
    assert list(got[:4]) == [pd.Timestamp("2026-11-01 10:00")] * 4
    assert pd.isna(got.iloc[4])


def test_delivered_settles_a_message_left_sending_and_a_queued_message_is_never_matched(ws_dir, tmp_path):
    with workspace_lock(ws_dir):
        ws = open_workspace(ws_dir)
        m = ws["messages"].copy()
        hit = m["provider_message_id"] == "<prov-9@mail.example>"
        m.loc[hit, ["status", "sent_at"]] = ["sending", None]
        queued = m.index[(m["status"] == "queued").fillna(False)][0]
        ws.replace("messages", m)
        ws.save()
    queued_id = m.loc[queued, "message_id"]
    src = tmp_path / "delivered.csv"
    pd.DataFrame({"provider id": ["prov-9@mail.example", ""], "message_id": ["", queued_id],
                  "event": ["delivered", "opened"],
                  "time": ["2026-11-02 09:30", "2026-11-02 09:30"]}).to_csv(src, index=False)
    got = import_results(src, ws_dir).summary()
    assert (got["matched"], got["unmatched"]) == (1, 1)
    assert "never sent" in got["unmatched_rows"][0]["reason"]
    after = message(ws_dir, 9)
    assert after["status"] == "sent" and after["sent_at"] == pd.Timestamp("2026-11-02 09:30")


def test_a_chinese_workspace_reports_in_chinese(tmp_path, capsys):
    folder = tmp_path / "zh"
    assert main(["init", str(folder), "--lang", "zh", "--sample"]) == 0
    m = open_workspace(folder)["messages"]
    sent = m[(m["status"] == "sent").fillna(False)].iloc[0]
    src = tmp_path / "回执.csv"
    pd.DataFrame({"消息编号": [sent["message_id"], "M999999", sent["message_id"]], "事件": ["打开", "打开", "爆炸"],
                  "时间": [stamp(sent["sent_at"], 1)] * 3}).to_csv(src, index=False, encoding="utf-8-sig")
    capsys.readouterr()
    code = main(["results", str(src), "--into", str(folder)])
    out = capsys.readouterr().out
    assert code == 1
    assert "未匹配 1" in out and "已拒绝 1" in out and "无法识别的事件" in out and "没有该编号的消息" in out
    assert sum(int(n) for n in re.findall(r"(?:已匹配|已有记录|未匹配|已拒绝) (\d+)", out)) == 3


def test_the_column_named_event_wins_over_a_status_column_of_smtp_codes(ws_dir, tmp_path):
    m0 = message(ws_dir, 0)
    src = tmp_path / "sendgrid.csv"
    pd.DataFrame({"status": ["2.0.0"], "sg_message_id": ["prov-0@mail.example"], "event": ["open"],
                  "timestamp": [stamp(m0["sent_at"], 7)]}).to_csv(src, index=False)
    got = import_results(src, ws_dir).summary()
    assert (got["matched"], got["rejected"]) == (1, 0)


def test_a_gateway_saying_failed_marks_no_address_a_bounce_does(ws_dir, tmp_path):
    """失败 / failed may be the gateway's own trouble (rate limit, balance): never a mark on the address."""
    from crmkit.delivery.results import import_results
    from crmkit.schema import norm_token

    assert RESULT_EVENT.lookup[norm_token("失败")] == RESULT_EVENT.lookup[norm_token("failed")] == "soft_bounce"
    failed, bounced = message(ws_dir, 0), message(ws_dir, 1)
    path = tmp_path / "gateway.csv"
    pd.DataFrame({"服务商消息编号": [failed["provider_message_id"], bounced["provider_message_id"]],
                  "事件": ["失败", "空号"],
                  "时间": [stamp(failed["sent_at"], 5), stamp(bounced["sent_at"], 5)]}).to_csv(path, index=False)
    import_results(path, ws_dir)
    assert pd.isna(customer(ws_dir, failed["customer_id"])["bounced_address"])
    assert message(ws_dir, 0)["status"] == "sent" and pd.isna(message(ws_dir, 0)["bounced_at"])
    assert pd.notna(customer(ws_dir, bounced["customer_id"])["bounced_address"])
    assert message(ws_dir, 1)["status"] == "failed"
