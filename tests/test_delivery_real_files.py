"""Delivery on files crmkit did not write: workbooks re-saved by LibreOffice, an export shaped like a real
sending service's event log.

``tests/data/delivery/libreoffice/`` is a Chinese workspace whose customers.xlsx and campaigns.xlsx were
re-saved by LibreOffice headless (``soffice --headless --convert-to xlsx``) after a person set C002's
已退订 to 是 — after six marketing e-mails had been queued, one of them to C002.  The SendGrid-shaped export
uses that service's event-webhook field names (email, timestamp in Unix seconds, smtp-id holding the
Message-ID header, event, sg_event_id, sg_message_id, reason, type, url) and its event words
(processed, delivered, open, click, bounce, spamreport, unsubscribe).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from local_servers import smtp_inbox
from test_cycle import set_settings

from crmkit.delivery.results import import_results
from crmkit.delivery.send import send_messages
from crmkit.validate import validate_path
from crmkit.workspace import open_workspace

FIXTURE = Path(__file__).resolve().parent / "data" / "delivery" / "libreoffice"


@pytest.fixture
def inbox():
    with smtp_inbox() as box:
        yield box


@pytest.fixture
def crm(tmp_path, inbox) -> Path:
    folder = tmp_path / "crm"
    shutil.copytree(FIXTURE, folder)
    set_settings(folder, smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_security="none",
                 smtp_from="销售部 <sales@example.com>", smtp_timeout=5, send_retry_delay=0.01)
    return folder


def test_the_fixture_really_was_saved_by_libreoffice():
    import zipfile

    for name in ("customers.xlsx", "campaigns.xlsx"):
        app = zipfile.ZipFile(FIXTURE / name).read("docProps/app.xml").decode()
        assert "LibreOffice" in app, name


def test_sending_from_libreoffice_saved_workbooks_honours_the_unsubscribe_typed_there(crm, inbox):
    res = send_messages(crm, as_of="2026-11-20 10:00").as_dict()
    msgs = open_workspace(crm)["messages"].set_index("message_id")
    to_c002 = msgs.index[msgs["customer_id"] == "C002"]
    assert len(to_c002) == 1 and msgs.loc[to_c002[0], "status"] == "suppressed"
    assert res["sent"] == 5 and len(inbox.mails) == 5
    assert "c2@example.com" not in " ".join(inbox.to())
    assert set(msgs.loc[msgs.index.difference(to_c002), "status"]) == {"sent"}
    subjects = sorted(str(m["Subject"]) for m in inbox.mails)
    assert subjects[0].startswith("会员优惠")
    assert validate_path(crm).errors == 0              # the re-written LibreOffice file is still a whole workbook


def sendgrid_export(crm: Path, path: Path) -> None:
    """Events for the sent mails, with SendGrid's field names; Message-IDs in smtp-id."""
    msgs = open_workspace(crm)["messages"]
    sent = msgs[msgs["status"] == "sent"].sort_values("message_id").reset_index(drop=True)
    assert len(sent) == 5
    epoch = int(pd.Timestamp("2026-11-20 12:00", tz="Asia/Shanghai").timestamp())
    rows = []
    for i, m in sent.iterrows():
        base = {"email": m["address"], "smtp-id": m["provider_message_id"], "sg_message_id": f"sg{i}.filter0001.0",
                "category": "cat facts", "reason": "", "type": "", "url": ""}
        rows.append({**base, "timestamp": epoch + i, "event": "processed", "sg_event_id": f"p{i}"})
        rows.append({**base, "timestamp": epoch + 60 + i, "event": "delivered", "sg_event_id": f"d{i}"})
    rows.append({**rows[0], "timestamp": epoch + 600, "event": "open", "sg_event_id": "o0"})
    rows.append({**rows[0], "timestamp": epoch + 660, "event": "click", "sg_event_id": "c0",
                 "url": "https://example.com/offer"})
    rows.append({**rows[2], "timestamp": epoch + 700, "event": "bounce", "type": "bounce", "sg_event_id": "b1",
                 "reason": "550 5.1.1 The email account that you tried to reach does not exist."})
    rows.append({**rows[4], "timestamp": epoch + 800, "event": "spamreport", "sg_event_id": "s2"})
    rows.append({**rows[6], "timestamp": epoch + 900, "event": "unsubscribe", "sg_event_id": "u3"})
    rows.append({**rows[6], "email": "nobody@example.org", "smtp-id": "<unknown@example.org>",
                 "timestamp": epoch + 950, "event": "open", "sg_event_id": "x"})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_a_sendgrid_shaped_event_export_comes_back_onto_the_messages_it_belongs_to(crm, inbox, tmp_path):
    send_messages(crm, as_of="2026-11-20 10:00")
    export = tmp_path / "sendgrid_events.csv"
    sendgrid_export(crm, export)
    res = import_results(export, crm).summary()
    assert res["source_rows"] == 16
    assert res["matched"] + res["already_known"] + res["unmatched"] + res["rejected"] == 16
    assert res["unmatched"] == 1 and res["rejected"] == 0
    ws = open_workspace(crm)
    msgs = ws["messages"].set_index("message_id").sort_index()
    sent = msgs[msgs["provider_message_id"].notna()]
    first, bounced, complained, unsubscribed = (sent.iloc[i] for i in (0, 1, 2, 3))
    assert pd.notna(first["opened_at"]) and pd.notna(first["clicked_at"])
    assert pd.notna(bounced["bounced_at"]) and bounced["status"] == "failed"
    customers = ws["customers"].set_index("customer_id")
    assert str(bounced["address"]) in str(customers.loc[bounced["customer_id"], "bounced_address"])
    for m in (complained, unsubscribed):
        assert bool(customers.loc[m["customer_id"], "unsubscribed"]) is True
    history = ws["history"]
    assert set(history["field"]) >= {"unsubscribed", "bounced_address"}
    assert history["by"].astype("string").str.contains("sendgrid_events.csv").all()
