"""The guards every message passes: when it is queued, and again when it is sent (DESIGN §4).

One home for the promises a customer relies on, used by the ``queue_message``
rule action, by a campaign launch and by ``crmkit send`` just before the
network call (with the data as it is then):

* a **marketing** message goes to no customer who unsubscribed or did not
  consent (service messages, e.g. a ticket update, still go).  Both fail
  closed: a message whose kind is anything but ``service`` is marketing, an
  Unsubscribed cell that is not blank and not "no" counts as unsubscribed, and
  only a "yes" counts as consent;
* a message needs an address for its channel: an e-mail for e-mail, a phone
  for SMS (a WeCom group robot needs none);
* nothing goes to an address that bounced (Customers ``bounced_address``,
  filled by ``crmkit results``): correcting the address lifts the block;
* at most ``daily_message_cap`` marketing messages per customer per day.

A block is a reason code (``unsubscribed``, ``no_consent``, ``no_email``,
``no_phone``, ``address_bounced``, ``daily_cap``); :func:`reason_label`
words it in English or Chinese.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..i18n import t
from ..schema import YES_NO, norm_token

#: the customer field that holds the address of each channel (None: the channel needs none)
CONTACT_OF = {"email": "email", "sms": "phone", "wecom": None}
#: statuses of a message that is on its way or gone (counts for the daily cap and for "already has one")
LIVE = ("queued", "sending", "sent")


def truth(s: pd.Series) -> pd.Series:
    """yes/no cells (bool, 是/否, yes/no, y/n ...) as a plain bool Series; blank is False."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(s.to_numpy(dtype=bool, na_value=False), index=s.index)
    codes = s.astype("string").map(lambda v: YES_NO.lookup.get(norm_token(v)) if isinstance(v, str) else None)
    return (codes == "yes").fillna(False).astype(bool)


def unless_no(s: pd.Series) -> pd.Series:
    """True unless the cell is blank or says no: the reading of ``unsubscribed`` that fails closed.

    An unsubscribe typed in words crmkit does not know (``已退订``, ``x``, ``TD``) still counts.
    """
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(s.to_numpy(dtype=bool, na_value=False), index=s.index)
    text = s.astype("string").str.strip()
    codes = text.map(lambda v: YES_NO.lookup.get(norm_token(v)) if isinstance(v, str) else None)
    return (text.notna() & (text != "") & (codes != "no").fillna(True)).fillna(False).astype(bool)


def _text(s: pd.Series | None, index) -> pd.Series:
    if s is None:
        return pd.Series(pd.NA, index=index, dtype="string")
    return s.astype("string").str.strip().replace("", pd.NA)


def address_of(channel: pd.Series, contacts: pd.DataFrame) -> pd.Series:
    """The address each message goes to: the e-mail for e-mail, the phone for SMS and WeCom (blank: none)."""
    email = _text(contacts.get("email"), channel.index)
    phone = _text(contacts.get("phone"), channel.index)
    out = pd.Series(pd.NA, index=channel.index, dtype="string")
    is_email = (channel == "email").to_numpy(dtype=bool, na_value=False)
    out[is_email] = email[is_email]
    out[~is_email] = phone[~is_email]
    return out


def _key(address: str) -> str:
    a = address.strip().lower()
    digits = "".join(ch for ch in a if ch.isdigit())
    return a if "@" in a else digits[-11:] if digits else a


def bounced(address: pd.Series, bounced_address: pd.Series | None) -> pd.Series:
    """True where ``address`` is among the customer's ``;``-separated bounced addresses."""
    out = np.zeros(len(address), dtype=bool)
    if bounced_address is None:
        return pd.Series(out, index=address.index)
    marks = bounced_address.astype("string").to_numpy(dtype=object, na_value=None)
    addrs = address.to_numpy(dtype=object, na_value=None)
    for i in np.flatnonzero(pd.notna(marks) & pd.notna(addrs)):
        out[i] = _key(addrs[i]) in {_key(x) for x in marks[i].replace("；", ";").split(";") if x.strip()}
    return pd.Series(out, index=address.index)


def add_bounced(current: object, address: str) -> str:
    """``current`` (the bounced_address cell) with ``address`` added once."""
    parts = [] if current is None or (not isinstance(current, str) and pd.isna(current)) else \
        [x.strip() for x in str(current).replace("；", ";").split(";") if x.strip()]
    if _key(address) not in {_key(x) for x in parts}:
        parts.append(address.strip())
    return "; ".join(parts)


def blocked(channel: pd.Series, kind: pd.Series | str, contacts: pd.DataFrame) -> pd.Series:
    """The first reason each message may not go (a code, or NA), from the customer's current data.

    ``contacts`` is aligned with ``channel`` and may hold unsubscribed,
    marketing_consent, email, phone and bounced_address (a missing column
    counts as blank).  The daily cap is separate: :func:`over_cap`.
    """
    idx = channel.index
    reason = pd.Series(pd.NA, index=idx, dtype="object")
    kind = pd.Series(kind, index=idx) if isinstance(kind, str) else kind.reindex(idx)
    # fail closed: anything but "service" (a typo, a word crmkit does not know) is held to the marketing guards
    marketing = (kind.astype("string").str.strip().str.lower().fillna("marketing") != "service").to_numpy(dtype=bool)

    def block(mask, code: str) -> None:
        m = np.asarray(mask, dtype=bool) & reason.isna().to_numpy()
        reason[m] = code

    def flag(col: str, read=truth) -> np.ndarray:
        s = contacts.get(col)
        return np.zeros(len(idx), dtype=bool) if s is None else read(s).to_numpy()

    block(marketing & flag("unsubscribed", unless_no), "unsubscribed")
    block(marketing & ~flag("marketing_consent"), "no_consent")
    address = address_of(channel, contacts)
    for chan, contact in CONTACT_OF.items():
        if contact is not None:
            block((channel == chan).to_numpy(dtype=bool, na_value=False) & address.isna().to_numpy(), "no_" + contact)
    block(bounced(address, contacts.get("bounced_address")).to_numpy(), "address_bounced")
    return reason


def is_marketing(messages: pd.DataFrame, marketing_rules: Iterable[str] = ()) -> pd.Series:
    """Marketing messages: every kind but ``service``; rows without a kind count by origin (a campaign, or a
    marketing rule)."""
    kind = messages["kind"].astype("string") if "kind" in messages.columns else \
        pd.Series(pd.NA, index=messages.index, dtype="string")
    by_origin = messages["campaign_id"].notna() | messages["rule_id"].isin(list(marketing_rules)).fillna(False)
    kind = kind.str.strip().str.lower().replace("", pd.NA)
    return (kind != "service").fillna(by_origin).astype(bool)


def marketing_count(messages: pd.DataFrame, customer_ids: pd.Series, day: object,
                    marketing_rules: Iterable[str] = ()) -> pd.Series:
    """Marketing messages queued, being sent or sent to each customer on ``day`` (aligned with ``customer_ids``)."""
    if messages.empty:
        return pd.Series(0, index=customer_ids.index)
    day = pd.Timestamp(day).normalize()
    when = messages["sent_at"].fillna(messages["scheduled_at"]).fillna(messages["queued_at"]).dt.normalize()
    live = messages["status"].isin(list(LIVE)).fillna(False)
    hit = messages[(when == day).fillna(False) & live & is_marketing(messages, marketing_rules)]
    counts = hit["customer_id"].value_counts()
    out = counts.reindex(customer_ids.to_numpy()).fillna(0).astype(int)
    out.index = customer_ids.index
    return out


def over_cap(customer_ids: pd.Series, already: pd.Series, cap: int) -> pd.Series:
    """True for the messages beyond the cap: ``already`` sent that day plus the earlier ones in this batch."""
    order = customer_ids.groupby(customer_ids.to_numpy()).cumcount()
    return (already.reindex(customer_ids.index).fillna(0) + order) >= cap


def reason_label(code: str, lang: str, *, cap: int | None = None) -> str:
    """A block's reason in words (``daily_cap`` with the cap in brackets)."""
    text = t("reason_" + code, lang)
    if code == "daily_cap" and cap is not None:
        text += f" ({cap})"
    return text
