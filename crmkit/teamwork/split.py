"""``crmkit split``: one workspace per team member, holding only that member's records.

>>> res = split_workspace("main", "reps")                    # every active rep and manager with records
>>> res = split_workspace("main", "reps", owners=["Alex Chen"])
>>> print(res.text("en")); res.as_dict()

Each member's folder (``OUT/<name>/``) is a complete crmkit workspace, the
same five workbooks written by the same writer as the main workspace (so the
Owner dropdowns, enumeration lists, date formats and README sheets are the
same), holding what the team scope of :mod:`crmkit.team` lets that member see:
their customers and those customers' interactions, orders, deals, tasks,
tickets and messages (a manager: the team's), with the History and RuleLog
rows of those records.  The configuration (Rules, Routing, Team, Settings,
Fields, Forms, ImportMap) and Campaigns go along whole, as reference sheets
protected without a password: Excel and WPS refuse an edit there, and
``crmkit merge`` never takes them back.

``OUT/<name>/.crmkit/split-manifest.json`` (:mod:`crmkit.teamwork.manifest`)
records the text of every record row as it was split: the base of the
three-way merge.  The workbooks and the manifest of one member are written as
one unit (:func:`crmkit.io.journal.save_files`): all of them or none.  Just
before, the split is recorded in the main workspace
(``MAIN/.crmkit/splits/<split id>.json``, :func:`crmkit.teamwork.manifest.record_split`):
``crmkit merge`` takes only a manifest that record matches byte for byte.

A folder that already holds a split is refused when it is another member's,
and, when it is the same member's, unless ``force`` (the rep's edits may not
be merged yet; the replaced workbooks are kept in ``.crmkit/backups``).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..exceptions import UsageError
from ..i18n import msg, t
from ..io.journal import Item, save_files, workspace_lock
from ..io.safety import write_failed
from ..io.writer import write_workbook
from ..orderstore import sheet_is_source
from ..schema import ENTITIES, WORKBOOKS, workbook_file
from ..team import REFERENCE, member, members, scope_for, scoped_tables
from ..workspace import open_workspace, team_names
from .manifest import SplitManifest, manifest_path, record_split, row_texts, workspace_id

#: the record tables of a member's workspace, as counted and kept in the manifest's base
RECORDS = ("customers", "interactions", "orders", "deals", "tasks", "tickets", "messages")
#: the tables shown in the per-member table (messages are in the JSON only)
SHOWN = ("customers", "interactions", "orders", "deals", "tasks", "tickets")
#: members a split is made for by default
SPLIT_ROLES = ("rep", "manager")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


@dataclass
class MemberSplit:
    """One member's workspace: where it went and how many rows of each table it holds."""

    name: str
    role: str
    folder: Path
    counts: dict[str, int]
    owners: list[str] | None         # the owners whose records it holds (None: everything, an admin)
    split_id: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "role": self.role, **self.counts, "folder": str(self.folder),
                "owners": self.owners, "split_id": self.split_id}


@dataclass
class SplitResult:
    """What :func:`split_workspace` wrote."""

    main: Path
    out: Path
    lang: str
    members: list[MemberSplit] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)     # rows of each record table in the main workspace
    no_owner: list[str] = field(default_factory=list)        # customers without an owner: in no workspace
    not_split: list[str] = field(default_factory=list)       # customers whose owner got no workspace here
    unreadable: list[dict] = field(default_factory=list)     # cells of split rows that did not read as their type
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"main": str(self.main), "out": str(self.out), "lang": self.lang,
                "members": [m.as_dict() for m in self.members], "main_totals": self.totals,
                "customers_without_owner": len(self.no_owner), "customers_without_owner_ids": self.no_owner,
                "customers_not_split": len(self.not_split), "customers_not_split_ids": self.not_split,
                "unreadable_cells": self.unreadable,
                "seconds": round(self.seconds, 2)}

    def text(self, lang: str) -> str:
        role = ENTITIES["team"].field("role").enum
        head = [ENTITIES["team"].field("name").header(lang), ENTITIES["team"].field("role").header(lang),
                *(ENTITIES[k].sheet_name(lang) for k in SHOWN), t("split_folder", lang)]
        rows = [[m.name, role.label(m.role, lang) if m.role in role.codes else m.role,
                 *(str(m.counts.get(k, 0)) for k in SHOWN), str(m.folder)] for m in self.members]
        lines = [t("split_title", lang).format(main=self.main, out=self.out, n=len(self.members)), ""]
        lines += _aligned([head, *rows], numeric=range(2, 2 + len(SHOWN)))
        lines.append("")
        if self.no_owner:
            lines.append(t("split_no_owner", lang).format(n=len(self.no_owner), ids=_some(self.no_owner)))
        if self.not_split:
            lines.append(t("split_not_split", lang).format(n=len(self.not_split), ids=_some(self.not_split)))
        if self.unreadable:
            first = self.unreadable[0]
            lines.append(t("split_unreadable", lang).format(n=len(self.unreadable), **first))
        lines.append(t("split_reference_note", lang))
        return "\n".join(lines)


def member_folder(name: str) -> str:
    """A folder name for member ``name`` that every file system takes (``Alex Chen`` -> ``Alex_Chen``)."""
    s = unicodedata.normalize("NFC", str(name)).strip()
    s = re.sub(r'[<>:"/\\|?*\x00-\x1f\x7f]', "_", s)
    s = re.sub(r"\s+", "_", s).strip("._") or "member"
    if s.split(".")[0].upper() in _RESERVED:
        s = "_" + s
    return s[:80]


def default_members(team: pd.DataFrame, tables: dict[str, pd.DataFrame],
                    seen: dict[str, dict[str, pd.DataFrame]] | None = None) -> list[str]:
    """Every active rep and manager of ``team`` who owns a record or leads someone, in Team order.

    ``seen``, when given, receives each member's scoped tables (the split reuses them).
    """
    out = []
    for name, m in members(team).items():
        if not m.active or m.role not in SPLIT_ROLES:
            continue
        scope = scope_for(team, name)
        leads = scope.owners is not None and len(scope.owners - {name}) > 0
        scoped = scoped_tables(scope, tables)
        if seen is not None:
            seen[name] = scoped
        if leads or any(len(scoped[k]) for k in RECORDS if k in scoped):
            out.append(name)
    return out


def split_workspace(main: str | os.PathLike, out: str | os.PathLike, owners: Iterable[str] | None = None, *,
                    force: bool = False) -> SplitResult:
    """Write one workspace per member into ``out/<member>/`` (see the module text); returns the counts.

    ``owners``: the members to split for (default :func:`default_members`); an
    unknown name is a :class:`~crmkit.exceptions.UsageError` naming it.
    Every target folder is checked before anything is written.
    """
    started = time.perf_counter()
    ws = open_workspace(main)
    main_path = ws.path
    check_no_order_source(ws, "crmkit split")
    with workspace_lock(main_path):       # one consistent reading of the main workspace: the base
        tables = ws.load_all()
    lang = ws.lang
    team = tables["team"]
    seen: dict[str, dict[str, pd.DataFrame]] = {}
    if owners:      # each named member (an unknown name: UsageError naming it), as the Team sheet spells it
        names = list(dict.fromkeys(_member_name(team, n, ws.file("rules"), lang) for n in owners))
    else:
        names = default_members(team, tables, seen)
    out = Path(out)
    if out.resolve() == main_path.resolve() or main_path.resolve() in out.resolve().parents:
        raise UsageError(msg("e_split_inside"), file=str(out))
    if out.exists() and not out.is_dir():
        raise UsageError(msg("e_split_not_folder"), file=str(out))
    folders = _folders(out, names)
    for name in names:
        check_target(folders[name], name, force=force)
    res = SplitResult(main=main_path, out=out, lang=lang,
                      totals={k: len(tables[k]) for k in RECORDS})
    wid = workspace_id(main_path, create=True)
    fields_of = _fields_of(ws)
    reference = _reference_bytes(tables, lang, fields_of)
    names_of_team = team_names(team)
    covered: set[str] = set()
    covered_rows: dict[str, set] = {k: set() for k in RECORDS}
    for name in names:
        scope = scope_for(team, name)
        scoped = seen.pop(name, None) or scoped_tables(scope, tables)
        folder = folders[name]
        manifest = SplitManifest(
            owner=name, role=scope.role, owners=None if scope.owners is None else sorted(scope.owners),
            workspace_id=wid, main=str(main_path.resolve()), lang=lang,
            split_at=pd.Timestamp.now().floor("s").isoformat(),
            base={k: row_texts(scoped[k], k) for k in RECORDS})
        data = manifest.data()
        # recorded in main first (a record without its folder is harmless; a folder without one is refused)
        record_split(main_path, manifest=manifest, data=data)
        _write_member(folder, scoped, lang, fields_of, names_of_team, reference, data)
        covered.update(scoped["customers"]["customer_id"].dropna().astype(str))
        for k in RECORDS:
            covered_rows[k].update(scoped[k].index)
        res.members.append(MemberSplit(name, scope.role, folder, {k: len(scoped[k]) for k in RECORDS},
                                       manifest.owners, manifest.split_id))
    cust = tables["customers"]
    blank = cust["owner"].isna() | (cust["owner"].astype("string").str.strip() == "").fillna(True)
    ids = cust["customer_id"].astype("string")
    res.no_owner = [str(x) for x in ids[blank.to_numpy()].dropna()]
    res.not_split = [str(x) for x in ids[~blank.to_numpy()].dropna() if str(x) not in covered]
    res.unreadable = _unreadable(tables, covered_rows)
    res.seconds = time.perf_counter() - started
    return res


def check_no_order_source(ws, what: str) -> None:
    """A :class:`UsageError` when Settings name an order source: a member's workspace would read every order
    of the store (an absolute path) or none (a relative one), so split and merge need the Orders sheet."""
    if not sheet_is_source(ws):
        raise UsageError(msg("e_split_order_source", source=str(ws.settings.get("order_source")).strip(),
                             what=what), file=str(ws.file("rules")))


def check_target(folder: Path, name: str, *, force: bool = False) -> None:
    """Refuse ``folder`` for ``name``'s split unless it is new, empty, or ``name``'s own split and ``force``."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(msg("e_split_not_folder"), file=str(folder))
    if not manifest_path(folder).exists():
        if folder.exists() and any(p.name not in (".crmkit", "reports") for p in folder.iterdir()):
            raise UsageError(msg("e_split_not_empty"), file=str(folder))
        return
    found = SplitManifest.read(folder)
    if found.owner != name:
        raise UsageError(msg("e_split_other_owner", owner=found.owner, name=name), file=str(folder))
    if not force:
        raise UsageError(msg("e_split_exists", name=name, at=found.split_at), file=str(folder))


# --------------------------------------------------------------------------- writing

def _write_member(folder: Path, scoped: dict[str, pd.DataFrame], lang: str, fields_of, names_of_team: list[str],
                  reference: bytes, manifest: bytes) -> None:
    """The five workbooks and the manifest of one member, as one unit."""
    try:
        (folder / "reports").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failed(exc, folder, "cannot create the folder", kept=False) from None
    items = []
    for wb, keys in WORKBOOKS.items():
        target = folder / workbook_file(wb)
        if wb == "rules":
            items.append(Item(target, data=reference))
            continue
        frames = {k: scoped[k] for k in keys}
        items.append(Item(target, write=_writer(wb, frames, lang, fields_of, names_of_team)))
    items.append(Item(manifest_path(folder), data=manifest, workbook=False))
    save_files(folder, items)


def _writer(wb: str, frames: dict[str, pd.DataFrame], lang: str, fields_of, names_of_team: list[str]):
    """Writes workbook ``wb`` of a member's workspace to a staging path, as :meth:`Workspace.save` does."""
    def write(stage: Path) -> None:
        write_workbook(stage, frames, lang, workbook_key=wb, workspace=stage.parent, fields_of=fields_of,
                       keep_backups=0, preserve=False, team_names=names_of_team,
                       protect=[k for k in frames if k in REFERENCE])
    return write


def _reference_bytes(tables: dict[str, pd.DataFrame], lang: str, fields_of) -> bytes:
    """rules.xlsx of every member's workspace (the same for all): written once, protected."""
    frames = {k: tables[k] for k in WORKBOOKS["rules"]}
    with tempfile.TemporaryDirectory(prefix="crmkit-split-") as tmp:
        path = Path(tmp) / workbook_file("rules")
        write_workbook(path, frames, lang, workbook_key="rules", fields_of=fields_of, safe=False,
                       protect=[k for k in frames if k in REFERENCE])
        return path.read_bytes()


def _unreadable(tables: dict[str, pd.DataFrame], rows: dict[str, set]) -> list[dict]:
    """The cells of the split rows that did not read as their field's type (blank in the members' copies)."""
    out = []
    for k in RECORDS:
        for p in tables[k].attrs.get("problems") or []:
            if p.row in rows[k]:
                out.append({"file": p.file, "sheet": p.sheet, "row": p.row, "column": p.column,
                            "value": None if p.value is None else str(p.value), "reason": p.reason})
    return out


def _member_name(team: pd.DataFrame, name: str, rules: Path, lang: str) -> str:
    """The Team sheet's spelling of member ``name``; a :class:`UsageError` naming it when there is none."""
    try:
        return member(team, str(name)).name
    except UsageError as exc:
        exc.file, exc.sheet = str(rules), ENTITIES["team"].sheet_name(lang)
        raise


def _fields_of(ws):
    """The writer's columns of each entity: the workspace's fields (custom ones included), none derived."""
    return lambda ent: [f for f in ws.fields(ent.key) if not f.derived]


def _folders(out: Path, names: list[str]) -> dict[str, Path]:
    """Each member's folder under ``out``; two names giving the same folder name get ``-2``, ``-3``..."""
    taken: dict[str, int] = {}
    found = {}
    for name in names:
        base = member_folder(name)
        key = base.casefold()
        taken[key] = taken.get(key, 0) + 1
        found[name] = out / (base if taken[key] == 1 else f"{base}-{taken[key]}")
    return found


def _some(ids: list[str], n: int = 10) -> str:
    return ", ".join(ids[:n]) + (" ..." if len(ids) > n else "")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _aligned(rows: list[list[str]], numeric: Iterable[int] = ()) -> list[str]:
    """Rows as lines of columns padded to a common width (CJK characters count double); numbers right-aligned."""
    numeric = set(numeric)
    widths = [max(_width(r[j]) for r in rows) for j in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [(" " * (widths[j] - _width(c)) + c) if j in numeric else (c + " " * (widths[j] - _width(c)))
                 for j, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
    return out
