"""Import, steps 2-4 (match, merge, history): which rows are one record, and what each does.

* match: :func:`match_rows` groups the valid rows that are one record and
  finds the existing record each group updates (by ID first, then for
  Customers by the duplicate keys of :mod:`crmkit.dedupe`);
* merge: :func:`fold_groups` folds each group into one incoming record,
  :func:`update_existing` merges those that match an existing record into it
  (``fill-blanks`` or ``overwrite``), with History rows for every change;
* history: :func:`merge_notes` lists every merge (a note on the row, and a
  ``merged_from`` History row where the workspace changed).

Nothing here touches the workspace: :func:`crmkit.importer.plan_import`
applies the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import dedupe as dd
from . import merge
from . import normalize as nz
from .i18n import t

#: Severity of the notes an import lists next to errors and warnings (merges, values kept).
INFO = "info"


# --------------------------------------------------------------------------- match

@dataclass
class Groups:
    """The valid rows grouped into records (every Series is indexed by source row)."""

    group: pd.Series          # a label per row: rows with one label are one record
    target: pd.Series         # the existing record (its index in the sheet) the row updates, NA for a new record
    link: pd.Series           # the key that joined the row to its group (``id``, a dedupe key) or NA
    link_value: pd.Series     # the value of that key
    first_row: pd.Series      # the first row of the row's group
    notes: list[pd.DataFrame]  # rows kept apart from an existing record they share a key with (info)

    @property
    def is_first(self) -> pd.Series:
        return self.first_row == self.first_row.index


def match_rows(valid: pd.DataFrame, cur: pd.DataFrame, entity: str, settings, id_col: str | None,
               lang: str) -> Groups:
    """Group the rows of ``valid`` into records and match them to the existing records ``cur``."""
    if entity == "customers":
        group, target, link, link_value, apart = _match_customers(valid, cur, settings, id_col)
    else:
        group, target, link, link_value, apart = _match_by_id(valid, cur, id_col)
    notes = []
    if apart is not None and apart[0].notna().any():
        ak, aid = apart[0].dropna(), apart[1][apart[0].notna()]
        notes.append(pd.DataFrame({
            "row": ak.index.astype("int64"), "column": "", "field": "", "value": None, "severity": INFO,
            "reason": [t("r_not_merged", lang).format(key=t("key_" + k, lang), other=o)
                       for k, o in zip(ak, aid)]}))
    first_row = pd.Series(valid.index, index=valid.index).groupby(group).transform("min")
    return Groups(group=group, target=target, link=link, link_value=link_value, first_row=first_row, notes=notes)


def _linked_by(frame: pd.DataFrame, group: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Per record, the first key column (in order) whose value it shares with another member of its group."""
    key = pd.Series(pd.NA, index=frame.index, dtype="object")
    value = pd.Series(pd.NA, index=frame.index, dtype="object")
    multi = np.bincount(group, minlength=len(group))[group] > 1 if len(group) else np.zeros(0, dtype=bool)
    if not multi.any():
        return key, value
    sub, g = frame[multi], group[multi]
    k = pd.Series(pd.NA, index=sub.index, dtype="object")
    v = pd.Series(pd.NA, index=sub.index, dtype="object")
    for c in sub.columns:
        col = sub[c]
        pair = pd.DataFrame({"g": g, "v": col.to_numpy()}, index=sub.index)
        shared = col.notna() & pair.duplicated(keep=False) & k.isna()
        k[shared] = c
        v[shared] = col[shared]
    key[multi] = k.to_numpy()
    value[multi] = v.to_numpy()
    return key, value


def _match_customers(valid: pd.DataFrame, cur: pd.DataFrame, settings, id_col: str):
    """Groups of rows that are one customer, the existing record each group updates, and the link.

    Returns ``group`` (a label per row), ``target`` (the existing record's
    index, or NA for a new record), ``link`` (the key that joined the row to
    its group: ``id``, a dedupe key, or NA), ``link_value``, and ``apart``
    (key and existing ID a row shares but was kept apart from, or NA).  A row's own
    existing ID wins: it updates that record whatever its other values.  Rows
    sharing an ID are one record.  The rest are matched by the dedupe keys,
    placeholders and widely shared values excepted, and only where the members
    agree (:func:`crmkit.dedupe.agreeing_groups`): an ID that differs, or a
    company or contact that differs, keeps records apart.
    """
    keys = dd.parse_keys(settings.get("dedupe_keys"))
    region = settings.get("phone_region")
    sid = valid[id_col].astype("string") if id_col in valid.columns else pd.Series(pd.NA, index=valid.index,
                                                                                 dtype="string")
    cid = cur[id_col].astype("string") if id_col in cur.columns and len(cur) else pd.Series(dtype="string")
    cur_pos = pd.Series(np.arange(len(cid)), index=cid.to_numpy())
    cur_pos = cur_pos[~cur_pos.index.duplicated(keep="first")] if len(cur_pos) else cur_pos
    exists = pd.Series(dd.isin(sid, pd.Series(cur_pos.index, dtype="string")), index=sid.index)
    # one node per foreign ID (its first row) and per row without an ID; rows with an existing ID are fixed
    node = (sid.isna() | ~sid.duplicated()) & ~exists
    kin = dd.key_frame(valid[node], keys, region, normalized=True)   # validate_frame normalised them
    kin.insert(0, "id", sid[node])
    if len(cur):
        kcur = dd.key_frame(cur, keys, region)
        relevant = pd.Series(False, index=cur.index)
        for k in keys:
            vals = kin[k].dropna()
            if len(vals):
                relevant |= dd.isin(kcur[k], vals)
        kcur = kcur[relevant.to_numpy()]
        kcur.insert(0, "id", cid[relevant.to_numpy()].to_numpy())
        e_rows = cur.index[relevant.to_numpy()]
    else:
        kcur = pd.DataFrame(columns=["id", *keys], dtype="string")
        e_rows = cur.index[:0]
    ne = len(kcur)
    both = pd.concat([kcur.reset_index(drop=True), kin.reset_index(drop=True)], ignore_index=True)
    both = dd.mask_keys(both, settings.get("dedupe_max_shared"))
    nodes = valid[node]

    def agree(at: np.ndarray) -> pd.DataFrame:      # the agreement values of linked records only
        e, r = at[at < ne], at[at >= ne] - ne
        out = pd.concat([dd.agree_frame(cur.loc[e_rows[e]]), dd.agree_frame(nodes.iloc[r])], ignore_index=True)
        out.insert(0, "id", both["id"].iloc[at].to_numpy())
        return out

    label = dd.agreeing_groups(both, agree)
    link, link_value = _linked_by(both, label)
    # rows kept apart from an existing record they share a key value with (company or contact differ)
    apart_key = pd.Series(pd.NA, index=valid.index, dtype="object")
    apart_id = pd.Series(pd.NA, index=valid.index, dtype="object")
    if ne:
        node_idx0 = valid.index[node.to_numpy()]
        for k in keys:
            ev = both[k].iloc[:ne]
            ok = ev.notna().to_numpy()
            if not ok.any():
                continue
            lookup = pd.Series(np.flatnonzero(ok), index=ev[ok].to_numpy())
            lookup = lookup[~lookup.index.duplicated(keep="first")]
            m = both[k].iloc[ne:].map(lookup)
            hit = np.array(m.notna().to_numpy(), dtype=bool)
            if hit.any():
                mm = m.to_numpy()[hit].astype(np.int64)
                hit[hit] = label[ne:][hit] != label[mm]
            hit = hit & apart_key.reindex(node_idx0).isna().to_numpy()
            if hit.any():
                apart_key[node_idx0[hit]] = k
                apart_id[node_idx0[hit]] = both["id"].iloc[m.to_numpy()[hit].astype(np.int64)].to_numpy()
    lab_nodes = label[ne:]
    is_upd = lab_nodes < ne
    tgt_nodes = np.full(len(lab_nodes), -1, dtype=np.int64)
    tgt_nodes[is_upd] = np.asarray(e_rows, dtype=np.int64)[lab_nodes[is_upd]]
    node_group = pd.Series(tgt_nodes).astype(str).radd("t").where(
        is_upd, pd.Series(lab_nodes).astype(str).radd("c")).to_numpy()
    node_target = pd.Series(tgt_nodes)
    group = pd.Series("", index=valid.index, dtype="object")
    target = pd.Series(pd.NA, index=valid.index, dtype="object")
    lk = pd.Series(pd.NA, index=valid.index, dtype="object")
    lv = pd.Series(pd.NA, index=valid.index, dtype="object")
    node_idx = valid.index[node.to_numpy()]
    group[node_idx] = node_group
    target[node_idx] = node_target.where(node_target >= 0).astype("object").to_numpy()
    lk[node_idx] = link.iloc[ne:].to_numpy()
    lv[node_idx] = link_value.iloc[ne:].to_numpy()
    # rows with an existing ID: that record
    if exists.any():
        rows = cur.index[cur_pos.reindex(sid[exists]).to_numpy()]
        group[exists] = "t" + pd.Series(rows).astype(str).to_numpy()
        target[exists] = rows.to_numpy()
        lk[exists] = "id"
        lv[exists] = sid[exists]
    # later rows of a foreign ID: the group of its first row
    later = sid.notna() & ~exists & ~node
    if later.any():
        first_of_id = pd.Series(group[node & sid.notna()].to_numpy(), index=sid[node & sid.notna()].to_numpy())
        tgt_of_id = pd.Series(target[node & sid.notna()].to_numpy(), index=sid[node & sid.notna()].to_numpy())
        group[later] = first_of_id.reindex(sid[later]).to_numpy()
        target[later] = tgt_of_id.reindex(sid[later]).to_numpy()
        lk[later] = "id"
        lv[later] = sid[later]
    target = target.where(target.notna(), pd.NA)
    return group, target, lk, lv, (apart_key, apart_id)


def _match_by_id(valid: pd.DataFrame, cur: pd.DataFrame, id_col: str | None):
    """Rows of other entities: a row with an existing ID updates that record, rows sharing an ID are one
    record, and every row without an ID is a record of its own (two identical purchases are two)."""
    sid = valid[id_col].astype("string") if id_col and id_col in valid.columns else \
        pd.Series(pd.NA, index=valid.index, dtype="string")
    group = pd.Series("r" + pd.Series(valid.index).astype(str).to_numpy(), index=valid.index, dtype="object")
    target = pd.Series(pd.NA, index=valid.index, dtype="object")
    has = sid.notna()
    group[has] = "i" + sid[has]
    if id_col and id_col in cur.columns and len(cur) and has.any():
        cid = cur[id_col].astype("string")
        lookup = pd.Series(cur.index[cid.notna()], index=cid[cid.notna()].to_numpy())
        lookup = lookup[~lookup.index.duplicated(keep="first")]
        hit = sid.map(lookup)
        target = target.where(hit.isna(), hit.astype("object"))
    link = pd.Series(np.where(has & sid.duplicated(keep=False), "id", None), index=valid.index, dtype="object")
    link[target.notna()] = "id"
    return group, target, link, sid.astype("object"), None


# --------------------------------------------------------------------------- merge

def fold_groups(valid: pd.DataFrame, groups: Groups, update: str, *, id_col: str | None,
                union: list[str]) -> pd.DataFrame:
    """One incoming record per group (indexed by group label), in the order of their first rows.

    ``_first`` is the group's first row, ``_target`` the existing record it updates (NA: a new record).
    """
    group, first_row, target = groups.group, groups.first_row, groups.target
    size = group.map(group.value_counts())
    multi = size > 1
    mins = [c for c in ("created_at",) if c in valid.columns]
    firsts = [id_col] if id_col in valid.columns else []
    singles = valid[~multi].copy()
    singles.index = group[~multi].to_numpy()
    if multi.any():
        folded = _fold_rows(valid[multi], group[multi], update, firsts=firsts, mins=mins, union=union)
        incoming = pd.concat([singles, folded])
    else:
        incoming = singles
    group_first = first_row.groupby(group).first()
    tgt_of_group = target.groupby(group).first()
    incoming["_first"] = group_first.reindex(incoming.index).to_numpy()
    incoming["_target"] = tgt_of_group.reindex(incoming.index).to_numpy()
    return incoming.sort_values("_first", kind="stable")


@dataclass
class Updates:
    """What the incoming records that match existing ones change."""

    records: pd.DataFrame | None    # the whole sheet with those records updated (None: nothing changed)
    ids: pd.Series                  # record ID per updated group (index: group label)
    history: pd.DataFrame | None    # History rows of every changed field (None: no record matched)
    changed_ids: set                # IDs of the records that changed
    unchanged: int                  # records matched but left as they were
    notes: list[pd.DataFrame]       # values of the file not taken (info)


def update_existing(cur: pd.DataFrame, upd: pd.DataFrame, update: str, *, id_col: str | None, union: list[str],
                    labels: dict, by_key: dict, lang: str, entity: str, at, by: str) -> Updates:
    """Merge the incoming records ``upd`` (``_first``, ``_target`` as :func:`fold_groups` gives them)
    into the existing records ``cur`` they match."""
    upd_ids = pd.Series(dtype="string")
    changed_rows: set = set()
    history = None
    unchanged = 0
    notes: list[pd.DataFrame] = []
    new_cur = None
    if len(upd):
        tgt_rows = upd["_target"].astype("int64").to_numpy()
        old = cur.loc[tgt_rows].copy()
        inc = upd.drop(columns=["_first", "_target"])
        inc.index = old.index
        merged_rec, kept = _update_records(old, inc, update, id_col=id_col, union=union)
        ids = old[id_col] if id_col else pd.Series(old.index.astype(str), index=old.index)
        if len(kept):
            first_of = pd.Series(upd["_first"].to_numpy(), index=old.index)
            notes.append(pd.DataFrame({
                "row": first_of.loc[kept["at"]].astype("int64").to_numpy(),
                "column": [labels.get(c, c) for c in kept["field"]], "field": kept["field"].to_numpy(),
                "value": kept["new"].to_numpy(), "severity": INFO,
                "reason": [t("r_kept_existing", lang).format(old=repr(_label(by_key.get(c), o, lang)))
                           for c, o in zip(kept["field"], kept["old"])]}))
        history = merge.changes(old, merged_rec[[c for c in merged_rec.columns]], ids, entity, at, by)
        changed_rows = set(history["record_id"]) if len(history) else set()
        unchanged = int((~ids.astype(str).isin(changed_rows)).sum())
        upd_ids = pd.Series(ids.to_numpy(), index=upd.index)
        if len(history):
            new_cur = cur.copy()
            for c in merged_rec.columns:
                if c not in new_cur.columns:
                    new_cur[c] = pd.Series(pd.NA, index=new_cur.index, dtype="string")
            new_cur.loc[merged_rec.index, list(merged_rec.columns)] = merged_rec
    return Updates(records=new_cur, ids=upd_ids, history=history, changed_ids=changed_rows, unchanged=unchanged,
                   notes=notes)


def _label(f, text: str, lang: str) -> str:
    """A stored value as the user reads it: an enumeration's code as its label in ``lang``."""
    if f is None or f.enum is None or f.type == "bool" or not isinstance(text, str):
        return text
    return ";".join(f.enum.label(x, lang) for x in text.split(";"))


def count_identical_without_id(valid: pd.DataFrame, id_col: str | None) -> int:
    """Rows without an ID whose values repeat an earlier such row (kept: two equal purchases are two)."""
    blank = valid[id_col].isna() if id_col and id_col in valid.columns else pd.Series(True, index=valid.index)
    if blank.sum() < 2:
        return 0
    cols = [c for c in valid.columns if c != id_col]
    return int(valid.loc[blank, cols].duplicated().sum()) if cols else 0


def _fold_rows(rows: pd.DataFrame, labels: pd.Series, update: str, *, firsts, mins, union) -> pd.DataFrame:
    """One incoming record per group of rows: with ``fill-blanks`` the first row's values stay and later
    rows fill its blanks (notes appended); with ``overwrite`` the last non-blank value wins."""
    if update == "overwrite":
        return merge.fold(rows, labels, first_cols=firsts, min_cols=mins, union_cols=union)
    out = merge.fold(rows, labels, first_cols=firsts, min_cols=mins, union_cols=union)
    g = rows.groupby(labels, sort=False)
    for c in rows.columns:
        if c in firsts or c in mins or c in union:
            continue
        if c in dd.APPEND_FIELDS:
            v = merge.join_notes(rows[c], labels.to_numpy()).reindex(out.index)
        else:
            v = g[c].first().reindex(out.index)
        try:
            out[c] = v.astype(rows[c].dtype)
        except (TypeError, ValueError):
            out[c] = v
    return out


def _update_records(old: pd.DataFrame, inc: pd.DataFrame, update: str, *, id_col: str | None,
                    union) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Existing records ``old`` updated from the aligned incoming records ``inc``.

    ``fill-blanks``: the existing non-blank values stay, blanks are filled,
    notes that differ are appended; ``overwrite``: a non-blank incoming value
    replaces the existing one.  Tags are unioned and ``created_at`` keeps the
    existing date either way.  Returns the records and, for ``fill-blanks``,
    the incoming values not taken (``at, field, old, new``: ``at`` is the index).
    """
    merged_rec = old.copy()
    kept = []
    for c in inc.columns:
        if c not in merged_rec.columns:
            merged_rec[c] = pd.Series(pd.NA, index=merged_rec.index, dtype="string")
        if c == id_col:
            continue
        if c == "created_at":
            merged_rec[c] = merged_rec[c].where(merged_rec[c].notna(), inc[c])
            continue
        if c in union:
            both = pd.concat([merged_rec[c], inc[c]])
            joined = merge.union_tag_groups(both, both.index.to_numpy())
            merged_rec[c] = joined.reindex(merged_rec.index).astype(merged_rec[c].dtype)
            continue
        if update == "overwrite":
            v = inc[c].where(inc[c].notna(), merged_rec[c])
        elif c in dd.APPEND_FIELDS:
            both = pd.concat([merged_rec[c], inc[c]])
            v = merge.join_notes(both, both.index.to_numpy()).reindex(merged_rec.index)
        else:
            v = merged_rec[c].where(merged_rec[c].notna(), inc[c])
            o_text, n_text = merge.as_text(merged_rec[c]), merge.as_text(inc[c])
            differ = o_text.notna() & n_text.notna() & (o_text != n_text)
            if differ.any():
                kept.append(pd.DataFrame({"at": merged_rec.index[differ.to_numpy()], "field": c,
                                          "old": o_text[differ].to_numpy(), "new": n_text[differ].to_numpy()}))
        try:
            merged_rec[c] = v.astype(old[c].dtype) if c in old.columns else v
        except (TypeError, ValueError):
            merged_rec[c] = v
    kept_df = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=["at", "field", "old", "new"])
    return merged_rec, kept_df


# --------------------------------------------------------------------------- history

def merge_notes(outcome: pd.DataFrame, first_row: pd.Series, link: pd.Series, link_value: pd.Series,
                 updates: pd.Series, lang: str, source: str, entity: str, at, by: str, *,
                 changed_ids: set) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Notes (severity ``info``) for rows merged into another row's record or matched to an existing
    record by a duplicate key, and History rows (``merged_from``) for those whose record changed."""
    later = outcome["outcome"] == "merged"
    fuzzy = (outcome["outcome"] == "updated") & link.notna() & (link != "id")
    listed = later | fuzzy
    if not listed.any():
        return [], pd.DataFrame()
    key = link[listed].fillna("id").astype(str)
    value = link_value[listed].astype("string")
    contact = key.isin(["phone", "email"]).to_numpy()
    if contact.any():
        value[contact] = nz.mask_contact(value[contact])
    key_text = [t("key_" + k, lang) for k in key]
    rec = outcome.loc[listed, "record_id"].astype("string")
    reasons = [t("r_merged_into_row", lang).format(other=int(f), key=k, value=v) if m else
               t("r_matched_existing", lang).format(other=r, key=k, value=v)
               for m, f, k, v, r in zip(later[listed], first_row[listed], key_text, value.fillna(""), rec.fillna(""))]
    notes = [pd.DataFrame({"row": listed.index[listed].astype("int64"), "column": "", "field": "",
                           "value": None, "severity": INFO, "reason": reasons})]
    hit = dd.isin(rec, pd.Series(list(changed_ids), dtype="string"))
    rows = listed.index[listed][hit]
    hist = merge.history_frame(at, entity, rec[hit], "merged_from",
                            pd.Series([f"{source} row {int(r)}" for r in rows], dtype="string"), rec[hit], by) \
        if hit.any() else pd.DataFrame()
    return notes, hist
