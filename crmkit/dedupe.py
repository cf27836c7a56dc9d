"""Duplicate customers: find them by normalised keys, merge them by survivorship rules.

Keys (Settings ``dedupe_keys``, default ``phone; email; name+contact_name``):

* ``phone``: the number in E.164 (``138 0013 8000``, ``+86-138...``,
  ``１３８...`` are one number);
* ``email``: the address in lower case;
* ``name+contact_name``: the company name without spaces, punctuation and
  legal suffixes (有限公司, Co., Ltd., Inc. ...) together with the contact's name.
  Any ``a+b`` combination of customer fields may be configured.

Two customers sharing a key value are linked, except through a *placeholder*:
an e-mail or phone that stands for "none" (``noemail@...``, ``test@...``,
``...@example.com``, ``13800000000``, ``00000000``, ``1234567...``, one digit
repeated; :func:`placeholder_mask`), or any value that more than
``dedupe_max_shared`` records hold (Settings, default 5): a switchboard or a
made-up address is no identity.

Linked customers form a group only when they *agree*: every two members
agree on every agreement field, blanks agreeing with anything.  The agreement
fields are the company name (normalised as for matching; two names agree when
equal or when one, of two characters or more, lies inside the other:
``上海华星科技有限公司`` and ``华星科技``), the contact name (equal as text
keys), and in an import the record ID (a source row's ID and an existing
record's ID must be equal).  So A and B sharing a phone and C sharing an e-mail
with B are one group only when A, B and C name the same company and contact
(or leave them blank); a chain through one shared value never merges two
companies.  Where linked records disagree the group is cut: records are taken
in order (oldest first; in an import the existing records, then the rows in
file order) and each joins the first group it is linked to and agrees with
(a link by ID before one by another key), else starts its own.

Merging (``crmkit dedupe DIR --apply``): the oldest record (earliest
``created_at``, then first row) survives and keeps its ID and creation date.
The survivor's own non-blank values are kept; its blanks are filled from the
other members, the newest first (records ordered by ``created_at``); notes that
differ are appended (oldest first); tags are unioned.  Extra columns (added
by hand) are merged the same way.  Interactions, orders, deals, tasks,
tickets and messages of the merged customers are re-pointed to the survivor.
History records each merge (``merged_into``), every changed field of the
survivor, every value of a merged record that was not taken, and every
re-pointed record: nothing is deleted that was not moved.  Without
``--apply``, :func:`merge_plan` shows which value wins per field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np
import pandas as pd

from . import normalize as nz
from . import phones
from .i18n import current_lang, lang_is_set
from .schema import ENTITIES

DEFAULT_KEYS = ("phone", "email", "name+contact_name")
#: A phone or e-mail held by more records than this is no identity (Settings ``dedupe_max_shared``).
DEFAULT_MAX_SHARED = 5
#: Linked records form one group only when these agree (at most one distinct value in the group).
AGREE_FIELDS = ("name", "contact_name")
#: Fields merged by appending the values that differ (and by union, for tags).
APPEND_FIELDS = ("notes",)
UNION_FIELDS = ("tags",)
DUPLICATE_COLUMNS = ["group", "customer_id", "key", "match_value", "row"]

# pattern strings (not compiled, no \\s or \\d): pandas runs them with pyarrow over the whole column
_ZH_SUFFIX = r"(股份有限公司|有限责任公司|有限公司|责任公司|分公司|集团公司|集团|公司)$"
_EN_SUFFIX = (r"(?i)[ \t,.]+(co\.?,?[ \t]*ltd\.?|co\.?[ \t]*limited|company[ \t]+limited|limited|ltd\.?|"
              r"inc\.?|incorporated|llc|corp\.?|corporation|gmbh|plc|company|co\.?)$")
_QUALIFIER = r"[（(][^）)]*[）)]"
_PUNCT = r"[ \t\r\n_\-.,，。、;；:：'\"“”‘’!！?？/\\|·•&＆+()（）\[\]【】{}<>《》#@*~`^$%]+"  # no \s: keeps RE2


def normalize_name(s: pd.Series) -> pd.Series:
    """A matching form of company names: NFKC, lower case, no legal suffix, qualifier, spaces or punctuation.

    ``华星科技（北京）有限公司`` and ``华星科技`` match; so do ``Acme Co., Ltd.`` and ``ACME``.
    """
    t = nz.nfkc(s.astype("string")).str.lower()
    t = t.str.replace(_QUALIFIER, "", regex=True).str.strip()
    for _ in range(2):
        t = t.str.replace(_EN_SUFFIX, "", regex=True).str.replace(_ZH_SUFFIX, "", regex=True).str.strip()
    return t.str.replace(_PUNCT, "", regex=True).replace("", pd.NA).astype("string")


def _text_key(s: pd.Series) -> pd.Series:
    t = nz.nfkc(s.astype("string")).str.lower()
    return t.str.replace(_PUNCT, "", regex=True).replace("", pd.NA).astype("string")


# e-mails that stand for "none": local parts and domains (lower case, RE2-compatible patterns)
_PH_LOCAL = (r"(no-?e?-?mails?|none|null|nil|n/?a|na|nope|test|tests|testing|demo|noreply|no-?reply|"
             r"do-?not-?reply|unknown|nobody|anonymous|dummy|fake|sample|example|email|mail|x+|abc|asdf|qwerty|"
             r"1234?5?6?|0+|无|没有|暂无|空|未知|不详)")
_PH_DOMAIN = (r"(example\.(com|org|net|cn|edu)|([^@]*\.)?(example|invalid|test|localhost|local)|"
              r"test\.(com|cn|net|org)|domain\.com|xxx\.com|none\.com|noemail\.com|nomail\.com|email\.com\.cn)")
_PH_EMAIL = rf"{_PH_LOCAL}@.*|[^@]*@{_PH_DOMAIN}"
# phone digits that stand for "none": one digit eight times in a row, or a number (after a country code of
# up to three digits) that starts with a run such as 1234567
_PH_REPEAT = tuple(d * 8 for d in "0123456789")
_PH_RUN = r"^[0-9]{0,3}(?:1234567|2345678|3456789|9876543|8765432|7654321)"


def placeholder_mask(values: pd.Series, kind: str) -> pd.Series:
    """True where a phone number (``kind="phone"``) or e-mail (``"email"``) is a placeholder.

    E-mails: local parts such as ``noemail``, ``none``, ``test``, ``n/a``, ``无``,
    and domains such as ``example.com``, ``test.com``, ``*.invalid``.  Phones:
    one digit eight times in a row (``13800000000``, ``00000000``,
    ``13888888888``) or a number starting with a run such as ``1234567`` (after
    a country code; an extension does not count).
    Worked out once per distinct value.
    """
    s = values.astype("string")
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if not len(uniq):
        return pd.Series(False, index=values.index)
    u = pd.Series(uniq, dtype="string").str.strip().str.lower()
    if kind == "email":
        hit = u.str.fullmatch(_PH_EMAIL, na=False)
    else:
        digits = u.str.replace(r"(;ext=|ext\.?|x|转|分机|#|,).*$", "", regex=True).str.replace(r"[^0-9]", "",
                                                                                             regex=True)
        hit = digits.str.contains(_PH_RUN, regex=True, na=False)
        for run in _PH_REPEAT:
            hit |= digits.str.contains(run, regex=False, na=False)
    lookup = np.append(hit.to_numpy(dtype=bool), False)     # -1 (blank): not a placeholder
    return pd.Series(lookup[codes], index=values.index)


def parse_keys(keys: Iterable[str] | str | None) -> list[str]:
    """Key specs from Settings: ``"phone; email; name+contact_name"`` or a sequence."""
    if keys is None:
        return list(DEFAULT_KEYS)
    if isinstance(keys, str):
        keys = re.split(r"[;,，；\n]", keys)
    out = [re.sub(r"\s*\+\s*", "+", str(k).strip()) for k in keys if str(k).strip()]
    return out or list(DEFAULT_KEYS)


def key_values(customers: pd.DataFrame, key: str, region: str | None = "CN", *,
               normalized: bool = False) -> pd.Series:
    """The normalised match value of one key per customer (NA when a part is blank).

    ``normalized`` says phones and e-mails are already normalised (by validation): skip that work.
    """
    parts = key.split("+")
    ent = ENTITIES["customers"]
    vals = []
    for p in parts:
        if p not in customers.columns:
            return pd.Series(pd.NA, index=customers.index, dtype="string")
        s = customers[p]
        ftype = ent.field(p).type if ent.has(p) else "text"
        if ftype == "phone" and normalized:
            v = s.astype("string")
        elif ftype == "phone":
            v, bad = phones.to_phone(s.astype("string"), region or "CN")
            v = v.mask(bad)
        elif ftype == "email" and normalized:
            v = nz.email_key(s)
        elif ftype == "email":
            v, bad = nz.to_email(s.astype("string"))
            v = nz.email_key(v.mask(bad))
        elif p == "name":
            v = normalize_name(s)
        else:
            v = _text_key(s)
        vals.append(v.astype("string"))
    out = vals[0]
    for v in vals[1:]:
        out = out + "|" + v
    return out


def key_frame(customers: pd.DataFrame, keys: Iterable[str] | str | None = None,
              region: str | None = "CN", *, normalized: bool = False) -> pd.DataFrame:
    """One column of normalised match values per key."""
    return pd.DataFrame({k: key_values(customers, k, region, normalized=normalized) for k in parse_keys(keys)},
                        index=customers.index)


def isin(values: pd.Series, among) -> np.ndarray:
    """``values.isin(among)`` for long text columns on both sides (one factorisation, no per-value Python)."""
    a = pd.Series(values).astype("string")
    b = pd.Series(among).astype("string") if not isinstance(among, pd.Series) else among.astype("string")
    if not len(a) or not len(b):
        return np.zeros(len(a), dtype=bool)
    codes = pd.factorize(pd.concat([a, b], ignore_index=True), use_na_sentinel=True)[0]
    left, right = codes[:len(a)], codes[len(a):]
    return np.isin(left, right[right >= 0]) & (left >= 0)


def contact_keys(keys: Iterable[str]) -> list[str]:
    """The keys holding a phone or e-mail part (a value shared too widely is no identity)."""
    ent = ENTITIES["customers"]
    return [k for k in keys if any(ent.has(p) and ent.field(p).type in ("phone", "email") for p in k.split("+"))]


def mask_keys(keys: pd.DataFrame, max_shared: int | None = None) -> pd.DataFrame:
    """``keys`` without the values that are no identity: placeholder phones and e-mails, and any phone or
    e-mail value that more than ``max_shared`` records hold (default :data:`DEFAULT_MAX_SHARED`).

    Only shared values can link records, so only those are looked at.
    """
    limit = DEFAULT_MAX_SHARED if max_shared is None else int(max_shared)
    ent = ENTITIES["customers"]
    out = keys
    for c in contact_keys(keys.columns):
        col = keys[c]
        shared = col.duplicated(keep=False) & col.notna()
        if not shared.any():
            continue
        vals = col[shared]
        drop = pd.Series(False, index=vals.index)
        part = c.split("+")
        if len(part) == 1 and ent.has(c):
            drop |= placeholder_mask(vals, ent.field(c).type)
        counts = vals.value_counts()
        over = counts.index[counts > limit]
        if len(over):
            drop |= isin(vals, pd.Series(over, dtype="string"))
        if drop.any():
            if out is keys:
                out = keys.copy()
            out.loc[drop.index[drop.to_numpy()], c] = pd.NA
    return out


def agree_frame(records: pd.DataFrame, fields: Iterable[str] = AGREE_FIELDS) -> pd.DataFrame:
    """The agreement values of each record: company names normalised, other fields as text keys."""
    data = {}
    for f in fields:
        if f not in records.columns:
            continue
        data[f] = normalize_name(records[f]) if f == "name" else _text_key(records[f])
    return pd.DataFrame(data, index=records.index)


def components(keys: pd.DataFrame) -> np.ndarray:
    """Connected groups of records sharing any key value: per record, the position of its group's first record.

    Vectorised label propagation (min label per key value, then pointer
    jumping) until stable; a handful of passes even for long chains.
    """
    n = len(keys)
    label = np.arange(n)
    codes = []
    for c in keys.columns:
        cd, uniq = pd.factorize(keys[c], use_na_sentinel=True)
        if len(uniq) < (cd >= 0).sum():          # some value is shared
            codes.append((cd, len(uniq)))
    if not codes:
        return label
    while True:
        before = label.copy()
        for cd, k in codes:
            m = cd >= 0
            mins = np.full(k, n, dtype=np.int64)
            np.minimum.at(mins, cd[m], label[m])
            label[m] = np.minimum(label[m], mins[cd[m]])
        while True:                                 # pointer jumping
            nxt = label[label]
            if np.array_equal(nxt, label):
                break
            label = nxt
        if np.array_equal(label, before):
            return label


def agreeing_groups(keys: pd.DataFrame, agree=None, order: np.ndarray | None = None) -> np.ndarray:
    """Groups of records linked by a shared key value whose members agree (see the module notes).

    Like :func:`components` (per record, the position of its group's first
    record), but a connected group whose members hold two different values
    of an ``agree`` column is cut (``agree``: a frame aligned with ``keys``, or a
    function giving that frame for some positions, so that only linked records
    are worked out): its records are taken in ``order`` (positions;
    default as they stand) and each joins the first group it is linked to
    (keys in column order) and agrees with, else starts its own; groups it
    links that agree with each other become one.  Only such groups are worked
    through one by one; the rest stays vectorised.
    """
    label = components(keys)
    if agree is None or not len(label):
        return label
    n = len(label)
    multi = np.bincount(label, minlength=n)[label] > 1
    if not multi.any():
        return label
    at = np.flatnonzero(multi)
    # the agreement values of the linked records only (a function of positions, or a frame to take from)
    sub = agree(at) if callable(agree) else agree.iloc[at]
    if not len(sub.columns):
        return label
    bad_m = np.zeros(len(at), dtype=bool)
    lab_m = label[at]
    for c in sub.columns:
        codes = pd.factorize(sub[c], use_na_sentinel=True)[0]
        has = codes >= 0
        pairs = pd.DataFrame({"l": lab_m[has], "v": codes[has]}).drop_duplicates()
        counts = pairs["l"].value_counts()
        worse = counts.index[counts > 1].to_numpy()
        if len(worse):
            bad_m |= np.isin(lab_m, worse)
    if not bad_m.any():
        return label
    pos = at[bad_m]
    sub_bad = sub[bad_m]
    if order is not None:
        rank = np.empty(n, dtype=np.int64)
        rank[np.asarray(order)] = np.arange(n)
        o = np.argsort(rank[pos], kind="stable")
        pos, sub_bad = pos[o], sub_bad.iloc[o]
    label = label.copy()
    label[pos] = _split(pos, keys.iloc[pos], sub_bad)
    return label


def _plain(s: pd.Series) -> np.ndarray:
    return s.astype(object).where(s.notna(), None).to_numpy()


#: Agreement fields compared loosely: one normalised company name inside the other agrees
#: (``上海华星科技`` and ``华星科技``), when the shorter has at least two characters.
LOOSE_FIELDS = ("name",)


def _agree_one(x: str, y: str, loose: bool) -> bool:
    if x == y:
        return True
    if not loose:
        return False
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    return len(short) >= 2 and short in long_


def _split(pos: np.ndarray, keys: pd.DataFrame, agree: pd.DataFrame) -> np.ndarray:
    """The greedy cut of :func:`agreeing_groups` for the records at ``pos`` (in order; ``keys`` and
    ``agree`` aligned with ``pos``); their new labels."""
    kv = [_plain(keys[c]) for c in keys.columns]
    av = [_plain(agree[c]) for c in agree.columns]
    loose = [c in LOOSE_FIELDS for c in agree.columns]
    parent: dict[int, int] = {}
    values: dict[int, list[set]] = {}
    where: dict[tuple[int, object], list[int]] = {}

    def root(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    def fits(a: list[set], b: list[set]) -> bool:
        return all(_agree_one(x, y, lo) for xs, ys, lo in zip(a, b, loose) for x in xs for y in ys)

    def absorb(into: list[set], other: list[set]) -> None:
        for i, ys in enumerate(other):
            into[i] |= ys

    for i, p in enumerate(pos):
        p = int(p)
        rec = [set() if a[i] is None else {a[i]} for a in av]
        cands: list[int] = []
        for ci, col in enumerate(kv):
            v = col[i]
            if v is None:
                continue
            for g in where.get((ci, v), ()):
                g = root(g)
                if g not in cands:
                    cands.append(g)
        chosen = next((g for g in cands if fits(values[g], rec)), None)
        if chosen is None:
            chosen = parent[p] = p
            values[p] = rec
        else:
            absorb(values[chosen], rec)
        parent.setdefault(p, chosen)
        for g in cands:                        # groups this record links that agree with it: one group
            g = root(g)
            if g != chosen and fits(values[chosen], values[g]):
                parent[g] = chosen
                absorb(values[chosen], values[g])
        for ci, col in enumerate(kv):
            v = col[i]
            if v is not None:
                lst = where.setdefault((ci, v), [])
                if chosen not in lst:
                    lst.append(chosen)
    roots = np.array([root(int(p)) for p in pos])
    first = pd.Series(pos).groupby(roots).transform("min")
    return first.to_numpy()


def find_duplicates(customers: pd.DataFrame, keys: Iterable[str] | str | None = None, *,
                    region: str | None = "CN", normalized: bool = False,
                    max_shared: int | None = None) -> pd.DataFrame:
    """Groups of duplicate customers: ``group, customer_id, key, match_value, row``.

    One row per customer in a group of two or more; ``key`` is the first key
    (in configured order) whose value the customer shares with another member,
    ``row`` its row number in the workbook.  Groups are numbered from 1 in
    order of their first record.  ``normalized`` says phones and e-mails are
    already normalised, bad ones blank (as validation leaves them): see :func:`key_values`.
    Placeholders and values held by more than ``max_shared`` customers (default
    :data:`DEFAULT_MAX_SHARED`) match nothing; members of a group agree on
    company and contact (see the module notes).
    """
    if customers is None or len(customers) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DUPLICATE_COLUMNS})
    from .io import cache

    # the same groups on every dashboard visit until the customers change: kept by crmkit.io.cache,
    # keyed by the columns they are worked out from
    names = parse_keys(keys)
    used = ["customer_id", *dict.fromkeys(f for k in names for f in k.split("+")),
            *[f for f in AGREE_FIELDS if f in customers.columns], "created_at"]
    used = [c for c in dict.fromkeys(used) if c in customers.columns or c == "customer_id"]
    return cache.memo("duplicates", customers, used, (tuple(names), region, normalized, max_shared, 2),
                      lambda: _find_duplicates(customers, keys, region, normalized, max_shared))


def survivor_order(customers: pd.DataFrame) -> np.ndarray:
    """Positions of ``customers`` oldest first (``created_at``, blank first as before; then row order)."""
    n = len(customers)
    if "created_at" not in customers.columns:
        return np.arange(n)
    created = pd.to_datetime(customers["created_at"], errors="coerce")
    return pd.DataFrame({"c": created.to_numpy(), "p": np.arange(n)}).sort_values(
        ["c", "p"], kind="stable", na_position="first")["p"].to_numpy()


def _find_duplicates(customers: pd.DataFrame, keys, region, normalized: bool, max_shared) -> pd.DataFrame:
    kf = mask_keys(key_frame(customers, keys, region, normalized=normalized), max_shared)
    label = agreeing_groups(kf, lambda at: agree_frame(customers.iloc[at]), survivor_order(customers))
    lab = pd.Series(label, index=customers.index)
    size = lab.map(lab.value_counts())
    member = size > 1
    if not member.any():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DUPLICATE_COLUMNS})
    sub = kf[member]
    lab_m = lab[member]
    key_col = pd.Series(pd.NA, index=sub.index, dtype="string")
    match = pd.Series(pd.NA, index=sub.index, dtype="string")
    for c in sub.columns:
        pair = pd.DataFrame({"l": lab_m.to_numpy(), "v": sub[c].to_numpy()}, index=sub.index)
        shared = sub[c].notna() & pair.duplicated(keep=False) & key_col.isna()
        key_col[shared] = c
        match[shared] = sub.loc[shared, c]
    group_no = pd.Series(pd.factorize(lab_m)[0] + 1, index=sub.index)
    ids = customers.loc[member, "customer_id"] if "customer_id" in customers.columns else \
        pd.Series(pd.NA, index=sub.index)
    out = pd.DataFrame({"group": group_no.astype("int64"), "customer_id": ids.astype("string"),
                        "key": key_col, "match_value": match, "row": sub.index.astype("int64")})
    return out.sort_values(["group", "row"], kind="stable").reset_index(drop=True)


def duplicate_groups_count(customers: pd.DataFrame, keys: Iterable[str] | str | None = None, *,
                           region: str | None = "CN") -> int:
    """How many groups of duplicate customers there are."""
    d = find_duplicates(customers, keys, region=region)
    return int(d["group"].nunique()) if len(d) else 0


# --------------------------------------------------------------------------- survivorship helpers

def union_tags(values: pd.Series) -> object:
    """``a;b`` + ``b;c`` -> ``a;b;c`` (first-seen order); NA when none."""
    tags = dict.fromkeys(x for v in values.dropna().astype(str) for x in v.split(";") if x)
    return ";".join(tags) if tags else pd.NA


def union_tag_groups(values: pd.Series, labels) -> pd.Series:
    """Tags unioned per label (vectorised): values ``a;b`` / ``b;c`` of one label -> ``a;b;c``.

    ``labels`` is aligned with ``values`` by position; the result is indexed
    by label, in first-seen order, and holds only labels with some tag.
    """
    v = pd.Series(values.to_numpy(dtype=object), dtype="object")
    g = pd.Series(np.asarray(labels, dtype=object))
    keep = v.notna().to_numpy()
    v, g = v[keep], g[keep]
    if v.empty:
        return pd.Series(dtype="string")
    parts = v.astype(str).str.split(";").explode()
    parts = parts[parts.str.len() > 0]
    df = pd.DataFrame({"g": g.loc[parts.index].to_numpy(), "t": parts.to_numpy()}).drop_duplicates()
    return df.groupby("g", sort=False)["t"].agg(";".join).astype("string")


def fold(frame: pd.DataFrame, labels: pd.Series, *, first_cols: Sequence[str] = (), min_cols: Sequence[str] = (),
         union_cols: Sequence[str] = ()) -> pd.DataFrame:
    """One record per label: the last non-blank value of each column wins (order = frame order).

    ``first_cols`` keep the first non-blank value (IDs), ``min_cols`` the
    smallest (creation dates), ``union_cols`` union ``;``-separated tags.
    The result is indexed by label.
    """
    g = frame.groupby(labels, sort=False)
    out = g.last()
    for c in first_cols:
        if c in frame.columns:
            out[c] = g[c].first()
    for c in min_cols:
        if c in frame.columns:
            out[c] = g[c].min()
    for c in union_cols:
        if c in frame.columns:
            out[c] = union_tag_groups(frame[c], labels.to_numpy()).reindex(out.index).astype(frame[c].dtype)
    for c in frame.columns:            # keep dtypes (groupby.last may widen them)
        if str(out[c].dtype) != str(frame[c].dtype):
            try:
                out[c] = out[c].astype(frame[c].dtype)
            except (TypeError, ValueError):
                pass
    return out[list(frame.columns)]


def as_text(s: pd.Series) -> pd.Series:
    """Values as History text: dates ``2024-05-01`` (with time when there is one), yes/no, numbers."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
        return out.astype("string")
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "yes", False: "no"}).astype("string")
    if pd.api.types.is_float_dtype(s):
        return s.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else repr(float(v)))
                     ).astype("string")
    return s.astype("string")


def history_frame(at: pd.Timestamp, entity: str, record_ids: pd.Series, field: str, old: pd.Series,
                  new: pd.Series, by: str) -> pd.DataFrame:
    return pd.DataFrame({"at": at, "entity": entity, "record_id": record_ids.astype("string").to_numpy(),
                         "field": field, "old": old.astype("string").to_numpy(),
                         "new": new.astype("string").to_numpy(), "by": by})


def changes(old: pd.DataFrame, new: pd.DataFrame, ids: pd.Series, entity: str, at: pd.Timestamp,
            by: str) -> pd.DataFrame:
    """History rows for every field whose text differs between aligned frames ``old`` and ``new``.

    ``ids`` (aligned) names the record of each row.
    """
    parts = []
    for c in new.columns:
        if c not in old.columns:
            o = pd.Series(pd.NA, index=new.index, dtype="string")
        else:
            o = as_text(old[c])
        n = as_text(new[c])
        diff = o.fillna("\x00") != n.fillna("\x00")
        if diff.any():
            parts.append(history_frame(at, entity, ids[diff], c, o[diff], n[diff], by))
    if not parts:
        return pd.DataFrame(columns=["at", "entity", "record_id", "field", "old", "new", "by"])
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- merging a workspace

def referencing_entities() -> list[str]:
    """Entities holding a customer_id that must follow a merge."""
    return [k for k, e in ENTITIES.items() if k != "customers" and e.has("customer_id")]


@dataclass
class DedupeResult:
    """Groups found (and, with apply, merged)."""

    groups: pd.DataFrame
    applied: bool = False
    merged: int = 0
    survivors: int = 0
    repointed: dict = dc_field(default_factory=dict)
    history_rows: int = 0
    id_map: dict = dc_field(default_factory=dict)
    names: dict = dc_field(default_factory=dict)      # customer_id -> name (for display)
    lang: str = "en"
    show_full: bool = False
    decisions: pd.DataFrame | None = None              # which value wins per field (merge_plan)

    def groups_detail(self) -> list[dict]:
        """The groups as plain data (for JSON): members with ID, name, matching key and value; the
        survivor (``keep``) and, per field whose values differ, which value wins (``fields``)."""
        out = []
        g = self.groups
        if g.empty:
            return out
        shown = g["match_value"] if self.show_full else _mask_match(g["key"], g["match_value"])
        dec = self.decisions if self.decisions is not None else pd.DataFrame(columns=DECISION_COLUMNS)
        by_group = {int(k): v for k, v in dec.groupby("group", sort=False)} if len(dec) else {}
        for no, sub in g.assign(shown=shown).groupby("group", sort=True):
            members = [{"customer_id": r.customer_id, "name": self.names.get(r.customer_id),
                        "key": r.key, "match_value": r.shown, "row": int(r.row)}
                       for r in sub.itertuples(index=False)]
            d = by_group.get(int(no))
            if self.applied:
                keep = self.id_map.get(members[-1]["customer_id"], members[0]["customer_id"])
            elif d is not None and len(d):
                keep = d["customer_id"].iloc[0]
            else:
                keep = members[0]["customer_id"]
            fields = [] if d is None else [
                {"field": r.field, "value": self._show(r.field, r.value), "from": r.from_id if isinstance(
                    r.from_id, str) else None, "rule": r.rule,
                 "not_taken": [{"customer_id": x["customer_id"], "value": self._show(r.field, x["value"])}
                               for x in r.not_taken]}
                for r in d.itertuples(index=False)]
            out.append({"group": int(no), "keep": keep, "members": members, "fields": fields})
        return out

    def _show(self, field: str, value):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        ent = ENTITIES["customers"]
        f = ent.field(field) if ent.has(field) else None
        if f is None:
            return str(value)
        if not self.show_full and f.type in ("phone", "email"):
            return str(nz.mask_contact(pd.Series([str(value)], dtype="string")).iloc[0])
        if f.enum is not None and f.type != "bool":      # codes shown as the workspace's labels
            return ";".join(f.enum.label(x, self.lang) if x in f.enum.codes else x for x in str(value).split(";"))
        return str(value)

    @property
    def group_count(self) -> int:
        return int(self.groups["group"].nunique()) if len(self.groups) else 0

    def summary(self) -> dict:
        return {"groups": self.group_count, "duplicates": int(len(self.groups)) - self.group_count,
                "applied": self.applied, "merged": self.merged, "repointed": self.repointed,
                "history_rows": self.history_rows}


def _mask_match(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Phone numbers and e-mails masked for display (138****8000); other keys as they are."""
    out = values.astype("string").copy()
    contact = keys.isin(["phone", "email"])
    if contact.any():
        out[contact] = nz.mask_contact(values[contact].astype("string"))
    return out


def groups_text(res: DedupeResult, path: object = "") -> str:
    """Human text for ``crmkit dedupe``."""
    from .i18n import t

    lang = res.lang
    from .schema import field_label

    lines = [f"{path}: {res.group_count} {t('duplicate_groups', lang)}"]
    ent = ENTITIES["customers"]
    for grp in res.groups_detail()[:200]:
        lines.append(f"  {t('group', lang)} {grp['group']}:")
        for m in grp["members"]:
            mark = f"  <- {t('dedupe_keeps', lang)}" if m["customer_id"] == grp["keep"] else ""
            lines.append(f"    {m['customer_id']}  {_printable(m['name'] or '')}  "
                         f"({t('key_' + str(m['key']), lang)}: {m['match_value']}){mark}")
        for f in grp.get("fields", []):
            how = t("rule_" + f["rule"], lang) + (f" {f['from']}" if f["rule"] == "filled" and f["from"] else "")
            text = f"      {field_label(f['field'], lang, ent)}: {_quote(f['value'])} ({how})"
            if f["not_taken"]:
                text += f"; {t('not_taken', lang)}: " + ", ".join(
                    f"{_quote(x['value'])} ({x['customer_id']})" for x in f["not_taken"])
            lines.append(text)
    if res.group_count > 200:
        lines.append("  " + t("more_issues", lang).format(n=res.group_count - 200))
    if res.applied:
        lines.append(f"  {t('merged', lang)}: {res.merged}; "
                     + ", ".join(f"{ENTITIES[k].sheet_name(lang) if k in ENTITIES else k} {v}" for k, v in res.repointed.items()))
    elif res.group_count:
        lines.append(f"  {t('dedupe_apply_hint', lang)}")
    return "\n".join(lines)


def join_notes(values: pd.Series, labels) -> pd.Series:
    """Distinct non-blank texts per label joined by new lines, first-seen order (vectorised).

    ``labels`` is aligned with ``values`` by position; the result is indexed by label.
    """
    v = pd.Series(values.to_numpy(dtype=object), dtype="object")
    g = pd.Series(np.asarray(labels, dtype=object))
    text = v.astype("string").str.strip()
    keep = (text.notna() & (text != "")).to_numpy(dtype=bool)
    if not keep.any():
        return pd.Series(dtype="string")
    df = pd.DataFrame({"g": g[keep].to_numpy(), "t": text[keep].to_numpy()}).drop_duplicates()
    several = df["g"].duplicated(keep=False)
    one = df[~several].set_index("g")["t"]
    if not several.any():
        return one.astype("string")
    more = df[several].groupby("g", sort=False)["t"].agg(_join_texts)
    return pd.concat([one, more]).astype("string")


def _join_texts(texts) -> str:
    """Texts joined by new lines, leaving out one already written (inside an earlier text)."""
    out: list[str] = []
    for x in texts:
        if not any(x in y for y in out):
            out.append(x)
    return "\n".join(out)


@dataclass
class MergePlan:
    """What merging groups of duplicate customers does, worked out without changing anything.

    ``survivors``: the merged record of each group, indexed by the survivor's
    row; ``members``: every member with ``_group``, ``_row`` and ``_survivor``;
    ``decisions``: per group and field whose values differ, which value wins
    (``group, customer_id, field, value, from_id, rule, not_taken``; rule is
    ``kept`` (the survivor's own), ``filled`` (a blank of the survivor filled),
    ``appended`` (notes), ``union`` (tags) or ``earliest`` (created_at)).
    """

    survivors: pd.DataFrame
    members: pd.DataFrame
    decisions: pd.DataFrame
    survivor_row: pd.Series                 # group -> survivor's row


DECISION_COLUMNS = ["group", "customer_id", "field", "value", "from_id", "rule", "not_taken"]


def merge_plan(customers: pd.DataFrame, groups: pd.DataFrame, *, region: str | None = "CN") -> MergePlan:
    """The merged record of each duplicate group and the per-field decisions (see the module notes)."""
    members = customers.loc[groups["row"].to_numpy()].copy()
    members.index.name = None
    members["_group"] = groups["group"].to_numpy()
    members["_row"] = members.index
    created = members["created_at"] if "created_at" in members.columns else pd.Series(pd.NaT, index=members.index)
    members["_created"] = pd.to_datetime(created, errors="coerce")
    members = members.sort_values(["_group", "_created", "_row"], kind="stable", na_position="first")
    survivor_row = members.groupby("_group", sort=False)["_row"].first()
    members["_survivor"] = members["_row"].isin(survivor_row.to_numpy())
    data_cols = list(customers.columns)
    for c in data_cols:        # phones and e-mails compared (and kept) in their normal form
        ftype = ENTITIES["customers"].field(c).type if ENTITIES["customers"].has(c) else ""
        if ftype in ("phone", "email"):
            raw = members[c].astype("string")
            v, bad = phones.to_phone(raw, region or "CN") if ftype == "phone" else nz.to_email(raw)
            members[c] = v.where(~bad & v.notna(), raw)
    ids = members["customer_id"].astype("string") if "customer_id" in members.columns else \
        members["_row"].astype("string")
    # the fill order: the survivor, then the others newest first
    fill = members.assign(_newest=-members["_created"].astype("int64").where(members["_created"].notna(), 0)) \
        .sort_values(["_group", "_survivor", "_newest", "_row"], ascending=[True, False, True, True], kind="stable")
    g_fill = fill.groupby("_group", sort=False)
    out = g_fill[data_cols].first() if data_cols else pd.DataFrame(index=survivor_row.index)
    rules: dict[str, str] = {}
    for c in data_cols:
        if c == "created_at":
            out[c] = members.groupby("_group", sort=False)[c].min()
            rules[c] = "earliest"
        elif c in UNION_FIELDS:
            out[c] = union_tag_groups(members[c], members["_group"].to_numpy()).reindex(out.index)
            rules[c] = "union"
        elif c in APPEND_FIELDS:
            out[c] = join_notes(members[c], members["_group"].to_numpy()).reindex(out.index)
            rules[c] = "appended"
    for c in data_cols:                # keep dtypes (groupby.first may widen them)
        if str(out[c].dtype) != str(customers[c].dtype):
            try:
                out[c] = out[c].astype(customers[c].dtype)
            except (TypeError, ValueError):
                pass
    for c in data_cols:        # survivors hold normalised phone numbers and e-mails
        ftype = ENTITIES["customers"].field(c).type if ENTITIES["customers"].has(c) else ""
        if ftype == "phone":
            v, bad = phones.to_phone(out[c].astype("string"), region or "CN")
            out[c] = v
        elif ftype == "email":
            out[c] = nz.to_email(out[c].astype("string"))[0]
    surv_ids = customers.loc[survivor_row.to_numpy(), "customer_id"].to_numpy() \
        if "customer_id" in customers.columns else survivor_row.astype(str).to_numpy()
    out = out.reindex(survivor_row.index)
    if "customer_id" in out.columns:
        out["customer_id"] = surv_ids
    out.index = survivor_row.to_numpy()
    out = out[data_cols]
    # per field: which value wins, where it came from, and what was not taken
    surv_id_of = pd.Series(surv_ids, index=survivor_row.index)
    final_text = {c: as_text(out[c]).set_axis(survivor_row.index) for c in data_cols}
    parts = []
    fill_ids = ids.reindex(fill.index)
    for c in data_cols:
        if c in ("customer_id", "created_at"):       # the survivor keeps its ID and (earliest) creation date
            continue
        text = as_text(fill[c])
        present = text.notna()
        if not present.any():
            continue
        pairs = pd.DataFrame({"g": fill["_group"].to_numpy(), "t": text.to_numpy()})[present.to_numpy()]
        distinct = pairs.drop_duplicates().groupby("g").size()
        surv_text = text[fill["_survivor"].to_numpy()].set_axis(fill.loc[fill["_survivor"], "_group"].to_numpy())
        filled = surv_text.isna() & pd.Series(final_text[c].reindex(surv_text.index).notna().to_numpy(),
                                              index=surv_text.index)
        interesting = set(distinct.index[distinct > 1]) | set(surv_text.index[filled.to_numpy()])
        if not interesting:
            continue
        first_present = present & (present.groupby(fill["_group"].to_numpy()).cumsum() == 1)
        src = pd.Series(fill_ids[first_present.to_numpy()].to_numpy(),
                        index=fill.loc[first_present.to_numpy(), "_group"].to_numpy())
        fin = final_text[c]
        gi = fill["_group"].to_numpy()
        not_taken_mask = present.to_numpy() & (text.fillna("").to_numpy() != fin.reindex(gi).fillna("").to_numpy())
        rule = rules.get(c)
        if rule in ("appended", "union"):
            not_taken_mask[:] = False
        nt = pd.DataFrame({"g": gi[not_taken_mask], "id": fill_ids.to_numpy()[not_taken_mask],
                           "v": text.to_numpy()[not_taken_mask]})
        nt_lists = nt.groupby("g", sort=False).apply(
            lambda d: [{"customer_id": i, "value": v} for i, v in zip(d["id"], d["v"])], include_groups=False) \
            if len(nt) else pd.Series(dtype=object)
        rows = sorted(interesting)
        per = pd.DataFrame({"group": rows, "customer_id": surv_id_of.reindex(rows).to_numpy(), "field": c,
                            "value": fin.reindex(rows).to_numpy(),
                            "from_id": src.reindex(rows).to_numpy() if rule is None else None,
                            "rule": rule or np.where(filled.reindex(rows).fillna(False).to_numpy(dtype=bool),
                                                     "filled", "kept"),
                            "not_taken": [nt_lists.get(r, []) if len(nt_lists) else [] for r in rows]})
        parts.append(per)
    decisions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=DECISION_COLUMNS)
    if len(decisions):
        order = {c: i for i, c in enumerate(data_cols)}
        decisions = decisions.assign(_o=decisions["field"].map(order)).sort_values(
            ["group", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return MergePlan(out, members, decisions, survivor_row)


def _printable(text: str) -> str:
    """Text without control characters (terminal escapes), for printing."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "", text)


def _quote(v) -> str:
    text = "" if v is None else _printable(str(v)).replace("\n", " / ")
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def merge_duplicates(ws, groups: pd.DataFrame | None = None, *, by: str = "dedupe",
                     at: pd.Timestamp | None = None) -> DedupeResult:
    """Merge duplicate customers in a loaded workspace (in memory; call ``ws.save()`` to write)."""
    st = ws.settings
    customers = ws["customers"]
    if groups is None:
        groups = find_duplicates(customers, st.get("dedupe_keys"), region=st.get("phone_region"),
                                 max_shared=st.get("dedupe_max_shared"))
    res = DedupeResult(groups=groups)
    if groups.empty:
        return res
    at = at if at is not None else pd.Timestamp.now().floor("s")
    plan = merge_plan(customers, groups, region=st.get("phone_region"))
    res.decisions = plan.decisions
    members, folded, survivor_row = plan.members, plan.survivors, plan.survivor_row
    data_cols = list(customers.columns)
    old = customers.loc[folded.index, data_cols]
    hist = [changes(old, folded, folded["customer_id"], "customers", at, by)]
    # the merged records: where they went, and their values that were not taken
    merged = members[~members["_survivor"]]
    surv_of_group = pd.Series(folded["customer_id"].to_numpy(), index=survivor_row.index)
    target = merged["_group"].map(surv_of_group)
    id_map = dict(zip(merged["customer_id"].astype(str), target.astype(str)))
    hist.append(history_frame(at, "customers", merged["customer_id"], "merged_into", merged["customer_id"],
                              target, by))
    final = folded.loc[merged["_group"].map(pd.Series(folded.index, index=survivor_row.index)).to_numpy(), data_cols]
    final.index = merged.index
    lost = changes(merged[data_cols], final, merged["customer_id"], "customers", at, by)
    if len(lost):
        skip = {"customer_id", "created_at", *UNION_FIELDS}
        kept_in = lost["field"].isin(APPEND_FIELDS) & pd.Series(
            [isinstance(o, str) and isinstance(n, str) and o.strip() in n for o, n in zip(lost["old"], lost["new"])],
            index=lost.index)
        hist.append(lost[~lost["field"].isin(skip) & lost["old"].notna() & ~kept_in])
    new_customers = customers.copy()
    for c in data_cols:        # column by column: a typed column (Int64 scores...) takes its folded values by position
        col = folded[c]
        try:
            new_customers.loc[folded.index, c] = col.to_numpy()
        except (TypeError, ValueError, KeyError):
            new_customers[c] = new_customers[c].astype(object)
            new_customers.loc[folded.index, c] = col.astype(object).to_numpy()
    new_customers = new_customers.drop(index=merged.index)
    ws.replace("customers", new_customers)
    # re-point everything that referred to a merged customer
    for key in referencing_entities():
        df = ws[key]
        if df.empty or "customer_id" not in df.columns:
            continue
        cid = df["customer_id"].astype("string")
        hit = cid.isin(list(id_map))
        if not hit.any():
            continue
        new = df.copy()
        new.loc[hit, "customer_id"] = cid[hit].map(id_map)
        idf = ENTITIES[key].id_field
        rec = new.loc[hit, idf] if idf and idf in new.columns else pd.Series(new.index[hit].astype(str),
                                                                             index=new.index[hit])
        hist.append(history_frame(at, key, rec, "customer_id", cid[hit], new.loc[hit, "customer_id"], by))
        ws.replace(key, new)
        res.repointed[key] = int(hit.sum())
    history = pd.concat([h for h in hist if len(h)], ignore_index=True)
    ws.append("history", history)
    res.applied = True
    res.merged = int(len(merged))
    res.survivors = int(len(folded))
    res.history_rows = int(len(history))
    res.id_map = id_map
    return res


def dedupe_workspace(path: str | os.PathLike, *, apply: bool = False, by: str = "dedupe") -> DedupeResult:
    """Find duplicate customers in the workspace at ``path``; with ``apply`` merge them and save."""
    from .io.safety import workspace_lock
    from .workspace import open_workspace

    ws = open_workspace(path)
    if not apply:
        st = ws.settings
        customers = ws["customers"]
        res = DedupeResult(groups=find_duplicates(customers, st.get("dedupe_keys"), region=st.get("phone_region"),
                                                  max_shared=st.get("dedupe_max_shared")))
        if len(res.groups):
            res.decisions = merge_plan(customers, res.groups, region=st.get("phone_region")).decisions
        _decorate(res, ws, customers)
        return res
    with workspace_lock(ws.path):
        ws = open_workspace(path)
        before = ws["customers"]
        res = merge_duplicates(ws, by=by)
        _decorate(res, ws, before)
        if res.applied:
            ws.save()
    return res


def _decorate(res: DedupeResult, ws, customers: pd.DataFrame) -> None:
    res.lang = current_lang() if lang_is_set() else ws.lang
    res.show_full = bool(ws.settings.get("show_full_contacts"))
    if len(res.groups) and "name" in customers.columns:
        sub = customers[customers["customer_id"].isin(res.groups["customer_id"])]
        res.names = dict(zip(sub["customer_id"].astype(str), sub["name"].astype("string").fillna("")))
