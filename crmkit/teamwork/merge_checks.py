"""The checks a rep's edit of an existing row passes before ``crmkit merge`` applies it.

A new row of the rep goes through the checks of an import
(:func:`crmkit.importer.plan_import`); an edited cell of a row the rep was
given is checked here, on the row as it would be after the merge:

* **scope**: the owner of a customer (a deal's or task's owner, a ticket's
  assignee: :data:`crmkit.team.PERSON_FIELD`) must stay within the owners of
  the split, and a ``customer_id`` must name one of the rep workspace's
  customers (as split, or added by this or an earlier merge of it).  A rep
  cannot give a record away or move it under another rep's customer; a
  manager or admin does that in the main workspace.  An admin's split
  (``owners`` None) sees everything and is not limited.
* **the data contract**: :func:`crmkit.validate.validate_frame`, the checks
  ``crmkit validate`` runs (required values, e-mails, phones, references to
  existing records ...).  An error is not applied; a warning (a phone that
  only lacks its ``+``, an owner not on the Team sheet) is applied, as an
  import applies it.

:func:`screen_edits` gives, for each cell that fails, the reason; the merge
lists those cells as rejected (never applied, even with ``--prefer rep``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..i18n import msg
from ..team import PERSON_FIELD
from ..validate import ERROR, validate_frame


def scope_fields(entity: str) -> set[str]:
    """The fields of ``entity`` that say whose the record is (the scope of :mod:`crmkit.team` follows them)."""
    return {"owner"} if entity == "customers" else ({PERSON_FIELD[entity]} if entity in PERSON_FIELD else set())


def screen_edits(ws, entity: str, main_rows: pd.DataFrame, rep_rows: pd.DataFrame, cand: np.ndarray,
                 fields: list[str], *, owner: str, owners: list[str] | None, allowed: dict[str, set[str]],
                 lang: str) -> dict[tuple[int, int], str]:
    """(row position, field position) -> reason, for each candidate cell that must not be applied.

    ``main_rows`` and ``rep_rows``: the main and the rep version of the same
    rows (same order, typed, columns ``fields``); ``cand``: which cells the
    merge would take from the rep; ``allowed``: for each table a reference may
    name, the IDs the rep workspace holds (main IDs).
    """
    out: dict[tuple[int, int], str] = {}
    if not cand.any():
        return out
    ent = ws.entity(entity)
    if owners is not None:
        scope = {str(x).strip() for x in owners}
        shown = tuple(sorted(scope))
        for j, f in enumerate(fields):
            if f not in scope_fields(entity):
                continue
            for i in np.flatnonzero(cand[:, j]):
                name = _text(rep_rows.iat[i, j])
                if name not in scope and (name or entity == "customers"):
                    out[(i, j)] = msg("r_merge_out_of_scope", value=name or "-", owner=owner,
                                      owners=shown).render(lang)
        for col, target in ent.references:
            if col not in fields or target not in allowed:
                continue
            j = fields.index(col)
            for i in np.flatnonzero(cand[:, j]):
                ref = _text(rep_rows.iat[i, j])
                if ref and ref not in allowed[target]:
                    out[(i, j)] = msg("r_merge_ref_out_of_scope", value=ref).render(lang)
    left = cand.copy()
    for i, j in out:
        left[i, j] = False
    cols = [j for j in range(len(fields)) if left[:, j].any()]
    if not cols:
        return out
    rows = np.flatnonzero(left.any(axis=1))
    after = main_rows.iloc[rows][[fields[j] for j in cols]].copy()
    after.index = pd.Index(rows)
    for j in cols:                        # the row as it would be after the merge
        take = rows[left[rows, j]]
        f, vals = fields[j], rep_rows.iloc[take, j].to_numpy()
        try:
            after.loc[take, f] = vals
        except (TypeError, ValueError):
            after[f] = after[f].astype(object)
            after.loc[take, f] = vals
    refs = dict(ent.references)
    existing = {"team": ws["team"], **{refs[k]: ws[refs[k]] for k in after.columns if k in refs}}
    _, issues = validate_frame(after, entity, settings=ws.settings,
                               fields=[f for f in ws.fields(entity) if f.key in after.columns and not f.derived],
                               existing=existing, lang=lang, check_unique=False)
    for rec in issues[issues["severity"] == ERROR].itertuples(index=False):
        if rec.field not in fields or pd.isna(rec.row):
            continue
        i, j = int(rec.row), fields.index(rec.field)
        if left[i, j] and (i, j) not in out:
            out[(i, j)] = str(rec.reason)
    return out


def _text(v) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip()
