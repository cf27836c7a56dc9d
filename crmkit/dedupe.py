"""Duplicate customers: find them by normalised keys, merge them by survivorship rules.

Keys (Settings ``dedupe_keys``, default ``phone; email; name+contact_name``):

* ``phone``: the number in E.164 (``138 0013 8000``, ``+86-138...``,
  ``１３８...`` are one number);
* ``email``: the address in lower case;
* ``name+contact_name``: the company name without spaces, punctuation and
  legal suffixes (有限公司, Co., Ltd., Inc. ...) together with the contact's name.
  Any ``a+b`` combination of customer fields may be configured.

Two customers sharing any key value are duplicates; groups are closed
transitively (A shares a phone with B, B an e-mail with C: one group).

Merging (``crmkit dedupe DIR --apply``): the oldest record (earliest
``created_at``, then first row) survives and keeps its ID and creation date;
for every other field the newest non-blank value wins (records ordered by
``created_at``); tags are unioned.  Interactions, orders, deals, tasks,
tickets and messages of the merged customers are re-pointed to the survivor.
History records each merge (``merged_into``), every changed field of the
survivor, every value of a merged record that did not survive, and every
re-pointed record: nothing is deleted that was not moved.
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
from .i18n import current_lang, lang_is_set
from .schema import ENTITIES

DEFAULT_KEYS = ("phone", "email", "name+contact_name")
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
            v, bad = nz.to_phone(s.astype("string"), region or "CN")
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


def find_duplicates(customers: pd.DataFrame, keys: Iterable[str] | str | None = None, *,
                    region: str | None = "CN", normalized: bool = False) -> pd.DataFrame:
    """Groups of duplicate customers: ``group, customer_id, key, match_value, row``.

    One row per customer in a group of two or more; ``key`` is the first key
    (in configured order) whose value the customer shares with another member,
    ``row`` its row number in the workbook.  Groups are numbered from 1 in
    order of their first record.  ``normalized`` says phones and e-mails are
    already normalised, bad ones blank (as validation leaves them): see :func:`key_values`.
    """
    if customers is None or len(customers) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DUPLICATE_COLUMNS})
    from . import cache

    # the same groups on every dashboard visit until the customers change: kept by crmkit.cache,
    # keyed by the columns they are worked out from
    names = parse_keys(keys)
    used = ["customer_id", *dict.fromkeys(f for k in names for f in k.split("+"))]
    return cache.memo("duplicates", customers, used, (tuple(names), region, normalized),
                      lambda: _find_duplicates(customers, keys, region, normalized))


def _find_duplicates(customers: pd.DataFrame, keys, region, normalized: bool) -> pd.DataFrame:
    kf = key_frame(customers, keys, region, normalized=normalized)
    label = components(kf)
    lab = pd.Series(label, index=customers.index)
    size = lab.map(lab.value_counts())
    member = size > 1
    if not member.any():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DUPLICATE_COLUMNS})
    sub = kf[member]
    key_col = pd.Series(pd.NA, index=sub.index, dtype="string")
    match = pd.Series(pd.NA, index=sub.index, dtype="string")
    for c in sub.columns:
        shared = sub[c].notna() & sub[c].duplicated(keep=False) & key_col.isna()
        key_col[shared] = c
        match[shared] = sub.loc[shared, c]
    group_no = pd.Series(pd.factorize(lab[member])[0] + 1, index=sub.index)
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

    def groups_detail(self) -> list[dict]:
        """The groups as plain data (for JSON): members with ID, name, matching key and value."""
        out = []
        g = self.groups
        if g.empty:
            return out
        shown = g["match_value"] if self.show_full else _mask_match(g["key"], g["match_value"])
        for no, sub in g.assign(shown=shown).groupby("group", sort=True):
            members = [{"customer_id": r.customer_id, "name": self.names.get(r.customer_id),
                        "key": r.key, "match_value": r.shown, "row": int(r.row)}
                       for r in sub.itertuples(index=False)]
            out.append({"group": int(no), "keep": members[0]["customer_id"] if not self.applied
                        else self.id_map.get(members[-1]["customer_id"], members[0]["customer_id"]),
                        "members": members})
        return out

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
    lines = [f"{path}: {res.group_count} {t('duplicate_groups', lang)}"]
    for grp in res.groups_detail()[:200]:
        lines.append(f"  {t('group', lang)} {grp['group']}:")
        for m in grp["members"]:
            lines.append(f"    {m['customer_id']}  {m['name'] or ''}  ({t('key_' + str(m['key']), lang)}: "
                         f"{m['match_value']})")
    if res.group_count > 200:
        lines.append("  " + t("more_issues", lang).format(n=res.group_count - 200))
    if res.applied:
        lines.append(f"  {t('merged', lang)}: {res.merged}; "
                     + ", ".join(f"{ENTITIES[k].sheet_name(lang) if k in ENTITIES else k} {v}" for k, v in res.repointed.items()))
    elif res.group_count:
        lines.append(f"  {t('dedupe_apply_hint', lang)}")
    return "\n".join(lines)


def merge_duplicates(ws, groups: pd.DataFrame | None = None, *, by: str = "dedupe",
                     at: pd.Timestamp | None = None) -> DedupeResult:
    """Merge duplicate customers in a loaded workspace (in memory; call ``ws.save()`` to write)."""
    st = ws.settings
    customers = ws["customers"]
    if groups is None:
        groups = find_duplicates(customers, st.get("dedupe_keys"), region=st.get("phone_region"))
    res = DedupeResult(groups=groups)
    if groups.empty:
        return res
    at = at if at is not None else pd.Timestamp.now().floor("s")
    members = customers.loc[groups["row"].to_numpy()].copy()
    members.index.name = None
    members["_group"] = groups["group"].to_numpy()
    members["_row"] = members.index
    created = members["created_at"] if "created_at" in members.columns else pd.Series(pd.NaT, index=members.index)
    members["_created"] = created
    members = members.sort_values(["_group", "_created", "_row"], kind="stable", na_position="first")
    survivor_row = members.groupby("_group", sort=False)["_row"].first()
    data_cols = [c for c in customers.columns]
    union = [c for c in ("tags",) if c in data_cols]
    folded = fold(members[data_cols], members["_group"], min_cols=["created_at"] if "created_at" in data_cols else [],
                  union_cols=union)
    for c in data_cols:        # survivors hold normalised phone numbers and e-mails
        ftype = ENTITIES["customers"].field(c).type if ENTITIES["customers"].has(c) else ""
        if ftype == "phone":
            v, bad = nz.to_phone(folded[c].astype("string"), st.get("phone_region") or "CN")
            folded[c] = v
        elif ftype == "email":
            folded[c] = nz.to_email(folded[c].astype("string"))[0]
    # the survivor keeps its own ID
    surv_ids = customers.loc[survivor_row.to_numpy(), "customer_id"].to_numpy()
    folded["customer_id"] = surv_ids
    folded.index = survivor_row.to_numpy()
    old = customers.loc[folded.index, data_cols]
    hist = [changes(old, folded, folded["customer_id"], "customers", at, by)]
    # the merged records: where they went, and their values that did not survive
    merged = members[~members["_row"].isin(survivor_row.to_numpy())]
    surv_of_group = pd.Series(surv_ids, index=survivor_row.index)
    target = merged["_group"].map(surv_of_group)
    id_map = dict(zip(merged["customer_id"].astype(str), target.astype(str)))
    hist.append(history_frame(at, "customers", merged["customer_id"], "merged_into", merged["customer_id"],
                              target, by))
    final = folded.loc[merged["_group"].map(pd.Series(folded.index, index=survivor_row.index)).to_numpy(), data_cols]
    final.index = merged.index
    lost = changes(merged[data_cols], final, merged["customer_id"], "customers", at, by)
    if len(lost):
        skip = {"customer_id", "created_at", *union}
        hist.append(lost[~lost["field"].isin(skip) & lost["old"].notna()])
    new_customers = customers.copy()
    new_customers.loc[folded.index, data_cols] = folded[data_cols]
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
    from .safety import workspace_lock
    from .workspace import open_workspace

    ws = open_workspace(path)
    if not apply:
        st = ws.settings
        res = DedupeResult(groups=find_duplicates(ws["customers"], st.get("dedupe_keys"),
                                                  region=st.get("phone_region")))
        _decorate(res, ws, ws["customers"])
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
