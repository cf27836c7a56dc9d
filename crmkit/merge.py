"""Merging duplicate customers by survivorship rules (``crmkit dedupe DIR --apply``).

The oldest record (earliest
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

The groups come from :func:`crmkit.dedupe.find_duplicates`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np
import pandas as pd

from . import normalize as nz
from . import phones
from .dedupe import APPEND_FIELDS, UNION_FIELDS, find_duplicates
from .i18n import current_lang, lang_is_set
from .schema import ENTITIES

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
    """Values as History text: dates ``2024-05-01`` (with time when there is one), yes/no, numbers.

    A number is written to the 15 significant digits a spreadsheet keeps
    (Excel and LibreOffice save no more), so the text of a value is the same
    before and after a workbook was saved by one of them (``crmkit merge``
    compares such texts); ``0.1 + 0.2`` is ``0.3``.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
        return out.astype("string")
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "yes", False: "no"}).astype("string")
    if pd.api.types.is_float_dtype(s):
        return s.map(_number_text).astype("string")
    return s.astype("string")


def _number_text(v: float) -> str | None:
    """``v`` to 15 significant digits: ``12`` for a whole number, else the shortest text of that value."""
    if pd.isna(v):
        return None
    v = float(f"{float(v):.15g}")
    return str(int(v)) if v.is_integer() else repr(v)


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
    """Find duplicate customers in the workspace at ``path``; with ``apply`` merge them and save.

    >>> dedupe_workspace("my-crm").groups               # look first: nothing written
    >>> dedupe_workspace("my-crm", apply=True).merged   # merge, under the workspace lock
    """
    from .io.journal import workspace_lock
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
