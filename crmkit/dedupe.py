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

Merging the groups found here is :mod:`crmkit.merge`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from . import normalize as nz
from . import phones
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

    >>> customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["Acme", "Acme Co., Ltd.", "Beta"],
    ...     "contact_name": ["Ann", None, "Bo"], "phone": ["138 0013 8001", "+86-13800138001", "13900139000"]})
    >>> find_duplicates(customers)[["group", "customer_id", "key", "match_value"]]
       group customer_id    key     match_value
    0      1          C1  phone  +8613800138001
    1      1          C2  phone  +8613800138001
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
