"""Merging a rep's workspace back into the main one (``crmkit merge DIR REP_FOLDER``).

A three-way merge, cell by cell, of each row of the rep's workspace against
the *base* (the row as it was split, kept in the rep folder's
``.crmkit/split-manifest.json``: :mod:`crmkit.teamwork.manifest`) and the
main workspace's row of the same ID.  Cells are compared by their canonical
text (:func:`crmkit.merge.as_text`), so a rep workbook re-saved by Excel or
LibreOffice (whole numbers as floats, dates as date-times) does not look
changed.  Per cell:

* only the rep changed it: the rep's value is **applied** (History row,
  ``by = "merge:<owner>"``);
* only the main side changed it: the main value is **kept**;
* both changed it to the same value: nothing to do;
* both changed it differently: a **conflict**, listed (record, field, base,
  main, rep) and not applied unless ``prefer`` says ``rep`` (then applied) or
  ``main`` (then kept, and the conflict counts as resolved).

A rep value that does not convert to its field's type (a date typed as
``31/02``) is never applied: it is listed as a conflict.  A rep edit the
merge would take is checked on the row as it would be after the merge
(:mod:`crmkit.teamwork.merge_checks`: the checks of ``crmkit validate``, and
the rep's scope: owners and customers of the split); one that fails is
**rejected**: not applied (not even with ``prefer="rep"``) and listed with
the new rows rejected.  The manifest is taken only when the main workspace
recorded that very split (:func:`crmkit.teamwork.manifest.checked_manifest`).

Rows of the rep whose ID is not in the base are **new**: they are imported as an import
would (:func:`crmkit.importer.plan_import`: checked, matched by ID and by the
duplicate keys of :mod:`crmkit.dedupe`, given main IDs), customers first, so
that the ``customer_id`` of a new interaction, task ... is rewritten to its
customer's main ID.  Rows of the base the rep no longer has are **deleted**
rows: never deleted here, listed for a person.  A customer whose owner the
main side changed since the split still takes the rep's edits and is listed
as **reassigned**.

Every row seen is counted once: ``rows = applied + unchanged + conflicting +
new + deleted``.  The merge is recorded in ``.crmkit/merge-<split_id>.json``
of the main workspace (:mod:`crmkit.teamwork.merge_record`), saved in the
same all-or-nothing unit as the workbooks: which main ID each new rep row
became, and each merged row's new base.  A second merge of the same rep
workspace therefore adds no row twice and applies nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import UsageError
from ..i18n import current_lang, lang_is_set, msg
from ..importer import check_sheet_rows, plan_import
from ..io.journal import workspace_lock
from ..io.outputs import check_output_path, is_crmkit_output
from ..io.sources import SourceTable
from ..io.typing import match_header
from ..merge import as_text, history_frame
from ..workspace import open_workspace
from . import manifest as mf
from . import merge_record as mr
from .merge_checks import screen_edits
from .merge_report import CONFLICT_COLUMNS, EntityCounts, RepMergeResult, write_conflict_workbook
from .split import check_no_order_source

#: The tables a rep workspace holds that merge back (reference sheets are read-only copies).
MERGED = ("customers", "interactions", "orders", "deals", "tasks", "tickets")
PREFER = ("main", "rep")
_NA = "\x00"            # stands for a blank cell when texts are compared


# --------------------------------------------------------------------------- the merge

def merge_rep(main: str | os.PathLike, rep: str | os.PathLike, *, dry_run: bool = False,
              prefer: str | None = None, conflicts_out: str | os.PathLike | None = None,
              at: pd.Timestamp | None = None) -> RepMergeResult:
    """Merge the rep workspace in folder ``rep`` back into the workspace ``main`` (see the module text).

    Holds the main workspace's lock throughout (not in a dry run) and saves
    every changed workbook and the merge record as one unit.  Writes the
    conflict workbook (:func:`conflict_workbook_path`, or ``conflicts_out``)
    when there are conflicts, deleted or rejected rows, unless ``dry_run``.
    Raises :class:`~crmkit.exceptions.UsageError` for a rep folder without a
    split manifest, split from another workspace, or whose manifest the main
    workspace has no record of or was changed since the split
    (:func:`crmkit.teamwork.manifest.checked_manifest`).
    """
    t0 = time.perf_counter()
    if prefer is not None and prefer not in PREFER:
        raise UsageError(msg("e_merge_prefer", value=prefer))
    main, rep = Path(main), Path(rep)
    ws = open_workspace(main)          # a clear message when main is no workspace
    check_no_order_source(ws, "crmkit merge")
    if rep.resolve() == main.resolve():
        raise UsageError(msg("e_merge_same"), file=str(rep))
    book = Path(conflicts_out) if conflicts_out is not None else conflict_workbook_path(rep)
    lock = contextlib.nullcontext() if dry_run else workspace_lock(main)
    with lock:
        ws = open_workspace(main)
        for k in (*MERGED, "history"):  # a broken main workbook is named before anything else
            ws[k]
        if rep.exists() and not rep.is_dir():
            raise UsageError(msg("e_ws_not_folder"), file=str(rep))
        man = mf.checked_manifest(main, rep)   # split from this workspace, recorded there, unchanged since
        if not dry_run:                # before anything is merged: never over a file someone saved since
            check_output_path(book, workspace=main, inputs=[rep], option="conflict workbook")
        rws = open_workspace(rep)
        lang = current_lang() if lang_is_set() else ws.lang
        by = f"merge:{man.owner}"
        at = pd.Timestamp.now().floor("s") if at is None else pd.Timestamp(at)
        record = mr.read(main, man.split_id)
        history_before = len(ws["history"])
        res = RepMergeResult(main=str(main), rep=str(rep), owner=str(man.owner), split_id=str(man.split_id),
                             prefer=prefer, dry_run=dry_run, lang=lang, by=by)
        state = _State(ws, rws, man, record, res, at, by)
        for entity in _order(man):
            state.merge_entity(entity)
        res.conflicts = _frame(state.conflicts, CONFLICT_COLUMNS)
        res.deletions = _frame(state.deletions, ["entity", "record_id", "customer_id", "name"])
        res.reassigned = _frame(state.reassigned, ["customer_id", "name", "base_owner", "main_owner", "rep_owner",
                                                   "cells_applied"])
        res.rejected = _frame(state.rejected, ["entity", "file", "sheet", "row", "rep_id", "column", "value",
                                               "reason"])
        res.new_ids = _frame(state.new_ids, ["entity", "rep_id", "record_id", "outcome"])
        if state.history:
            ws.append("history", pd.concat(state.history, ignore_index=True))
        res.history_rows = int(len(ws["history"])) - history_before
        new_record, changed = mr.updated(record, man, state.record_rows, res, at)
        if not dry_run and (ws.dirty or changed):
            res.written = [str(p) for p in ws.save(extra={mr.path(main, man.split_id): mr.dumps(new_record)})]
    if not dry_run and (len(res.conflicts) or len(res.deletions) or len(res.rejected)):
        res.conflict_workbook = str(write_conflict_workbook(book, res, workspace=main, inputs=[rep]))
    elif not dry_run and book.is_file() and is_crmkit_output(book, main):
        book.unlink()                  # an earlier merge's list, all settled now (nobody saved it since)
    res.seconds = round(time.perf_counter() - t0, 3)
    return res


def conflict_workbook_path(rep: str | os.PathLike) -> Path:
    """Where the conflict workbook of merging ``rep`` goes: next to the rep folder, ``<folder>-conflicts.xlsx``."""
    rep = Path(rep).resolve()
    return rep.parent / f"{rep.name}-conflicts.xlsx"


def _order(man) -> list[str]:
    """The tables to merge, customers first (the others refer to them)."""
    return [k for k in MERGED if k in man.base]


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def texts(df: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """The canonical text of every cell of ``fields`` (blank: NA), as History writes values."""
    out = {}
    for c in fields:
        s = as_text(df[c]) if c in df.columns else pd.Series(pd.NA, index=df.index, dtype="string")
        s = s.astype("string")
        out[c] = s.where(s != "", pd.NA)
    return pd.DataFrame(out, index=df.index)


def base_frame(rows: dict, fields: list[str]) -> pd.DataFrame:
    """A base (record id -> field -> text) as a frame indexed by record id, blank as NA."""
    keys = list(rows)
    data = {f: pd.array([rows[k].get(f) for k in keys], dtype="string") for f in fields}
    df = pd.DataFrame(data, index=pd.Index([str(k) for k in keys], dtype=object), columns=fields)
    return df.where(df.notna() & (df != ""), pd.NA)


def row_keys(df: pd.DataFrame, id_field: str | None, fields: list[str]) -> pd.Series:
    """The key of each rep row: its ID; a row typed without one is keyed by its content (``#`` + hash, and the
    occurrence number, so that two equal rows stay two)."""
    ids = df[id_field].astype("string").str.strip() if id_field and id_field in df.columns else \
        pd.Series(pd.NA, index=df.index, dtype="string")
    ids = ids.where(ids != "", pd.NA)
    blank = ids.isna()
    if blank.any():
        t = texts(df[blank], [f for f in fields if f != id_field]).fillna(_NA)
        h = pd.util.hash_pandas_object(t, index=False).astype("uint64").map(lambda v: f"{v:016x}")
        n = h.groupby(h).cumcount()
        ids[blank] = ("#" + h + "-" + n.astype(str)).to_numpy()
    return ids


class _State:
    """The work of one merge: the tables as they change, the lists, and what the record keeps."""

    def __init__(self, ws, rws, man, record, res: RepMergeResult, at: pd.Timestamp, by: str):
        self.ws, self.rws, self.man, self.record, self.res, self.at, self.by = ws, rws, man, record, res, at, by
        self.keymap: dict[str, dict[str, str]] = {}        # entity -> rep key -> main ID
        self.rejected_keys: dict[str, set[str]] = {}
        self.history: list[pd.DataFrame] = []
        self.conflicts: list[dict] = []
        self.deletions: list[dict] = []
        self.reassigned: list[dict] = []
        self.rejected: list[dict] = []
        self.new_ids: list[dict] = []
        self.record_rows: dict[str, dict[str, dict]] = {}  # entity -> rep key -> {"id", "base"}
        self.names: dict[str, str] = {}                    # customer main ID -> name (for the lists)

    # ---------------------------------------------------------------- one table

    def merge_entity(self, entity: str) -> None:
        ent = self.ws.entity(entity)
        idf = ent.id_field
        counts = self.res.counts.setdefault(entity, EntityCounts())
        fields = [f.key for f in ent.fields if not f.derived and f.key != idf]
        rep = self.rws[entity]
        bad = _bad_cells(rep, ent)
        rep = self._rep_in_main_ids(rep, ent)
        keys = row_keys(rep, idf, fields)
        dup_rows = keys.duplicated()             # a key twice: the first row is that record, the others new
        dups = rep[dup_rows.to_numpy()]
        rep, keys = rep[~dup_rows.to_numpy()], keys[~dup_rows]
        # the base: as split, then as the previous merges of this rep workspace left it
        base_rows = dict(self.man.base.get(entity, {}))
        id_of = {k: k for k in base_rows}
        for key, item in self.record.get("entities", {}).get(entity, {}).items():
            base_rows[key] = item.get("base") or {}
            id_of[key] = item["id"]
        fields = [f for f in fields if f in rep.columns]
        base = base_frame(base_rows, fields)
        orig = base if not self.record.get("entities", {}).get(entity) else \
            base_frame(dict(self.man.base.get(entity, {})), fields)
        self.keymap[entity] = dict(id_of)
        rkeys = pd.Index(keys.to_numpy(dtype=object), dtype=object)
        common = rkeys.intersection(base.index)
        new_mask = ~pd.Series(rkeys.isin(base.index), index=rep.index)
        gone = base.index.difference(rkeys)
        main = self.ws[entity]
        if entity == "customers":
            self.names.update(zip(main["customer_id"].astype(str), main["name"].astype("string").fillna("")))
        self._merge_common(entity, ent, rep, keys, common, base, orig, main, fields, id_of, bad, counts)
        self._deleted(entity, ent, gone, id_of, base, counts)
        new_rows = rep[new_mask.to_numpy()]
        new_keys = keys[new_mask.to_numpy()]
        if len(dups):
            new_rows = pd.concat([new_rows, dups])
            new_keys = pd.concat([new_keys, "#" + pd.Series(dups.index.astype(str), index=dups.index)])
        self._merge_new(entity, ent, new_rows, new_keys, fields, bad, counts)

    def _rep_in_main_ids(self, rep: pd.DataFrame, ent) -> pd.DataFrame:
        """The rep's rows with references to records the rep added rewritten to their main IDs."""
        out = None
        for col, target in ent.references:
            kmap = self.keymap.get(target)
            if not kmap or col not in rep.columns:
                continue
            ref = rep[col].astype("string")
            moved = ref.map(lambda v, m=kmap: m.get(v, v) if isinstance(v, str) else v).astype("string")
            if (moved.fillna(_NA) != ref.fillna(_NA)).any():
                out = rep.copy() if out is None else out
                out[col] = moved
        if out is not None:
            out.attrs = dict(rep.attrs)
        return rep if out is None else out

    def _merge_common(self, entity, ent, rep, keys, common, base, orig, main, fields, id_of, bad, counts) -> None:
        if not len(common):
            return
        idf = ent.id_field
        rpos = pd.Series(rep.index, index=keys.to_numpy())
        rrows = rpos.reindex(common).to_numpy()
        mids = pd.Index([id_of[k] for k in common], dtype=object)
        mid_col = main[idf].astype("string") if len(main) else pd.Series(dtype="string")
        mpos = pd.Series(main.index, index=pd.Index(mid_col.to_numpy(dtype=object), dtype=object))
        mpos = mpos[~mpos.index.duplicated()]
        there = mids.isin(mpos.index)
        R = texts(rep.loc[rrows], fields).set_axis(common)
        B = base.loc[common, fields]
        M = texts(main.loc[mpos.reindex(mids[there]).to_numpy()], fields).set_axis(common[there])
        M = M.reindex(common)
        r, b, m = R.fillna(_NA), B.fillna(_NA), M.fillna(_NA)
        rep_changed = (r != b).to_numpy(dtype=bool)
        main_changed = (m != b).to_numpy(dtype=bool)
        same = (r == m).to_numpy(dtype=bool)
        invalid = np.zeros_like(rep_changed)
        if bad:
            pos = {row: i for i, row in enumerate(rrows)}
            for row, f in bad:
                if row in pos and f in fields:
                    invalid[pos[row], fields.index(f)] = True
        missing = ~np.asarray(there)
        rep_changed |= invalid
        # an edit the merge would take that is out of the rep's scope or breaks the data contract: rejected
        rejected = self._screen(entity, rep, rrows, main, mpos, mids, fields,
                                rep_changed & ~same & ~invalid & ~missing[:, None], R)
        conflict = rep_changed & main_changed & ~same & ~rejected
        conflict[missing, :] = rep_changed[missing, :]
        conflict |= invalid & rep_changed
        apply = rep_changed & ~main_changed & ~invalid & ~rejected
        apply[missing, :] = False
        kept = main_changed & ~rep_changed
        kept[missing, :] = False
        resolution = np.full(conflict.shape, "", dtype=object)
        resolution[conflict] = "open"
        if self.res.prefer is not None:
            resolvable = conflict & ~invalid & ~missing[:, None]
            resolution[resolvable] = self.res.prefer
            if self.res.prefer == "rep":
                apply |= resolvable
        resolution[invalid & rep_changed] = "invalid"
        resolution[conflict & missing[:, None]] = "missing_in_main"
        # counts per row
        has_conf = conflict.any(axis=1) | rejected.any(axis=1)      # a person looks at the row
        has_apply = apply.any(axis=1)
        counts.conflicting += int(has_conf.sum())
        counts.applied += int((has_apply & ~has_conf).sum())
        counts.unchanged += int((~has_apply & ~has_conf).sum())
        counts.cells_applied += int(apply.sum())
        counts.cells_rejected += int(rejected.sum())
        counts.conflicts += int(conflict.sum())
        counts.kept_main += int(kept.sum())
        # apply the rep's values, with History
        if apply.any():
            new_main = main.copy()
            for j, f in enumerate(fields):
                rows = apply[:, j]
                if not rows.any():
                    continue
                at_main = mpos.reindex(mids[rows]).to_numpy()
                vals = rep.loc[rrows[rows], f].to_numpy()
                try:
                    new_main.loc[at_main, f] = vals
                except (TypeError, ValueError):
                    new_main[f] = new_main[f].astype(object)
                    new_main.loc[at_main, f] = vals
                self.history.append(history_frame(self.at, entity, pd.Series(mids[rows]), f,
                                                  M[f][rows], R[f][rows], self.by))
            self.ws.replace(entity, new_main)
        # the conflicts listed
        if conflict.any():
            ii, jj = np.nonzero(conflict)
            cust = self._customer_of(entity, main, mpos, mids)
            for i, j in zip(ii, jj):
                f = fields[j]
                rep_text = R.iat[i, j]
                if invalid[i, j]:
                    rep_text = bad.get((rrows[i], f), rep_text)
                self.conflicts.append({"entity": entity, "record_id": mids[i], "name": cust[i], "field": f,
                                       "base": B.iat[i, j], "main": M.iat[i, j], "rep": rep_text,
                                       "resolution": resolution[i, j]})
        # reassigned since the split (main changed the owner): the rep's edits are applied all the same
        if entity == "customers" and "owner" in fields:
            j = fields.index("owner")
            moved = main_changed[:, j] & ~missing
            for i in np.flatnonzero(moved):
                self.reassigned.append({"customer_id": mids[i], "name": self.names.get(mids[i], ""),
                                        "base_owner": B.iat[i, j], "main_owner": M.iat[i, j],
                                        "rep_owner": R.iat[i, j], "cells_applied": int(apply[i].sum())})
        # what the record keeps: the new base of every row the rep changed (open conflicts keep the old base)
        new_base = np.where(conflict & (resolution == "open") | invalid | rejected | missing[:, None], b.to_numpy(),
                            r.to_numpy())
        orig = orig.reindex(common).fillna(_NA).to_numpy()
        before = self.record.get("entities", {}).get(entity, {})
        differs = (new_base != orig).any(axis=1) | np.asarray(common.isin(list(before)))
        keep = self.record_rows.setdefault(entity, {})
        for i in np.flatnonzero(differs):
            keep[common[i]] = {"id": mids[i], "base": {f: (None if v == _NA else v)
                                                       for f, v in zip(fields, new_base[i])}}

    def _screen(self, entity, rep, rrows, main, mpos, mids, fields, cand, R) -> np.ndarray:
        """Which of the cells ``cand`` the merge must not take (:mod:`.merge_checks`); each one is listed as
        rejected."""
        out = np.zeros_like(cand)
        rows = np.flatnonzero(cand.any(axis=1))
        if not len(rows):
            return out
        ent = self.ws.entity(entity)
        allowed = {t: set(self.keymap.get(t, {}).values()) for _, t in ent.references if t in self.keymap}
        found = screen_edits(self.ws, entity, main.loc[mpos.reindex(mids[rows]).to_numpy()].reindex(columns=fields),
                             rep.loc[rrows[rows], fields], cand[rows], fields, owner=str(self.man.owner),
                             owners=self.man.owners, allowed=allowed, lang=self.res.lang)
        file, sheet = str(self.rws.file(ent.workbook)), ent.sheet_name(self.rws.lang)
        heads = {f.key: f.header(self.rws.lang) for f in self.ws.fields(entity)}
        for (k, j), reason in sorted(found.items()):
            i = rows[k]
            out[i, j] = True
            self._reject(entity, file, sheet, rrows[i], R.index[i], heads.get(fields[j], fields[j]), R.iat[i, j],
                         reason, None)
        return out

    def _customer_of(self, entity, main, mpos, mids) -> list[str]:
        """The customer name of each record (for the lists)."""
        if entity == "customers":
            return [self.names.get(x, "") for x in mids]
        if "customer_id" not in main.columns:
            return [""] * len(mids)
        cid = main["customer_id"].astype("string")
        at = mpos.reindex(mids)
        return [self.names.get(str(cid.loc[p]), "") if not pd.isna(p) and not pd.isna(cid.loc[p]) else ""
                for p in at.to_numpy()]

    def _deleted(self, entity, ent, gone, id_of, base, counts) -> None:
        counts.deleted += int(len(gone))
        cust = base["customer_id"] if "customer_id" in base.columns else pd.Series(pd.NA, index=base.index)
        label = base["name"] if "name" in base.columns else (
            base["title"] if "title" in base.columns else pd.Series(pd.NA, index=base.index))
        for key in gone:
            rid = id_of.get(key, key)
            c = None if pd.isna(cust.get(key)) else str(cust.get(key))
            name = self.names.get(rid if entity == "customers" else (c or ""), "")
            if entity != "customers" and not pd.isna(label.get(key)):
                name = f"{name}: {label.get(key)}" if name else str(label.get(key))
            self.deletions.append({"entity": entity, "record_id": rid, "customer_id": c, "name": name})

    # ---------------------------------------------------------------- new rows: as an import

    def _merge_new(self, entity, ent, new_rows: pd.DataFrame, keys: pd.Series, fields, bad, counts) -> None:
        if new_rows.empty:
            return
        counts.new += int(len(new_rows))
        idf = ent.id_field
        data = texts(new_rows, fields)
        for (row, f), raw in bad.items():       # a value that did not convert goes to the check as typed
            if row in data.index and f in data.columns:
                data.loc[row, f] = str(raw)
        # a row whose customer the merge rejected is rejected with it
        lost = pd.Series(False, index=data.index)
        for col, target in ent.references:
            gone = self.rejected_keys.get(target)
            if gone and col in new_rows.columns:
                lost |= new_rows[col].astype("string").isin(list(gone)).fillna(False).to_numpy()
        rep_ids = new_rows[idf].astype("string") if idf in new_rows.columns else \
            pd.Series(pd.NA, index=new_rows.index, dtype="string")
        file, sheet = str(self.rws.file(ent.workbook)), ent.sheet_name(self.rws.lang)
        for row in data.index[lost.to_numpy()]:
            ref = next(str(new_rows.at[row, c]) for c, _ in ent.references if c in new_rows.columns)
            self._reject(entity, file, sheet, row, rep_ids.get(row), "", ref,
                         msg("r_merge_parent_rejected", id=ref).render(self.res.lang), keys.get(row))
        counts.new_rejected += int(lost.sum())
        data = data[~lost.to_numpy()]
        if data.empty:
            return
        src = SourceTable(file=file, sheet=sheet, header_row=1, headers=list(data.columns), data=data,
                          matched={c: c for c in data.columns})
        before = {k: len(self.ws[k]) for k in (entity, "history")}
        result, _ = plan_import(self.ws, src, entity, by=self.by, at=self.at)
        check_sheet_rows(self.ws, before)
        out = result.outcome
        for row, oc in out.iterrows():
            key = keys.get(row)
            if oc["outcome"] == "rejected":
                counts.new_rejected += 1
                why = result.issues[(result.issues["row"] == row) & (result.issues["severity"] == "error")]
                for rec in (why.to_dict("records") or [{"column": "", "value": None, "reason": ""}]):
                    self._reject(entity, file, sheet, row, rep_ids.get(row), rec.get("column"), rec.get("value"),
                                 rec.get("reason"), key)
                continue
            mid = str(oc["record_id"])
            if oc["outcome"] == "imported":
                counts.new_added += 1
            else:
                counts.new_matched += 1
            self.keymap[entity][key] = mid
            rid = rep_ids.get(row)
            self.new_ids.append({"entity": entity, "rep_id": None if pd.isna(rid) else str(rid), "record_id": mid,
                                 "outcome": oc["outcome"]})
            self.record_rows.setdefault(entity, {})[key] = {
                "id": mid, "base": {f: (None if pd.isna(v) else str(v)) for f, v in data.loc[row].items()}}
        added = out[out["outcome"] == "imported"]
        if idf and len(added):
            self.history.append(history_frame(
                self.at, entity, added["record_id"], idf,
                rep_ids.reindex(added.index).astype("string").where(
                    ~rep_ids.reindex(added.index).isna(), pd.NA), added["record_id"], self.by))
        if entity == "customers":
            cur = self.ws["customers"]
            self.names.update(zip(cur["customer_id"].astype(str), cur["name"].astype("string").fillna("")))

    def _reject(self, entity, file, sheet, row, rep_id, column, value, reason, key) -> None:
        if key is not None:
            self.rejected_keys.setdefault(entity, set()).add(str(key))
            if rep_id is not None and not pd.isna(rep_id):
                self.rejected_keys[entity].add(str(rep_id))
        self.rejected.append({"entity": entity, "file": file, "sheet": sheet, "row": int(row),
                              "rep_id": None if rep_id is None or pd.isna(rep_id) else str(rep_id),
                              "column": column, "value": None if value is None or pd.isna(value) else str(value),
                              "reason": reason})


def _bad_cells(df: pd.DataFrame, ent) -> dict[tuple[int, str], object]:
    """(row, field) -> value as typed, for every rep value that did not convert to its field's type."""
    out = {}
    for p in df.attrs.get("problems", []):
        key = match_header(ent, p.column)
        if key:
            out[(int(p.row), key)] = p.value
    return out
