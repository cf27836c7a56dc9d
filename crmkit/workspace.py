"""A loaded workspace: the folder of workbooks, read lazily into typed frames.

>>> ws = open_workspace("sample_data")
>>> ws["customers"].head()          # canonical keys, canonical enumeration codes
>>> ws.settings["daily_message_cap"]
>>> ws.as_of()                        # Settings' as_of, or now

Frames are read on first use, a whole workbook at a time, with fastexcel.
Changes are made on the frames (``ws.replace`` / ``ws.append``) and written
back with :meth:`Workspace.save`, which rewrites only the workbooks whose
frames changed, through the safe write path (:mod:`crmkit.io.safety`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from .exceptions import UsageError, WorkbookError, WorkspaceNotFound
from .i18n import msg
from .ids import next_ids
from .io import cache
from .io.reading import find_sheet, open_reader, read_raw
from .io.typing import NORMAL_FORM, coerce_frame, convert, empty_frame
from .io.writer import write_workbook
from .schema import ENTITIES, WORKBOOKS, Entity, Field, workbook_file
from .settings import check_lang, parse_settings
from .team import BY_CUSTOMER, BY_RECORD, REFERENCE, Scope, scope_for, scoped_tables


class Workspace:
    """A crmkit workspace folder and its lazily loaded tables."""

    def __init__(self, path: str | os.PathLike, *, as_user: str | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise WorkspaceNotFound(msg("e_ws_not_found"), file=str(self.path))
        if not self.path.is_dir():
            raise WorkspaceNotFound(msg("e_ws_not_folder"), file=str(self.path))
        if not any((self.path / workbook_file(w)).exists() for w in WORKBOOKS):
            raise WorkspaceNotFound(
                msg("e_ws_not_workspace"), file=str(self.path))
        from .io.journal import pending, recover_or_warn

        if pending(self.path):       # a save was interrupted: finish or undo it first (or warn while it runs)
            recover_or_warn(self.path)
        self._frames: dict[str, pd.DataFrame] = {}
        self._loaded: set[str] = set()
        self._dirty: set[str] = set()
        self._settings: dict | None = None
        self._custom: dict[str, tuple[Field, ...]] | None = None   # Fields sheet, parsed on first use
        self._pending: dict[str, dict[str, Future]] = {}   # sheets being read ahead (_reading_ahead)
        self.scope: Scope | None = None                      # as_user: what that member may see
        self._scoped: dict[str, pd.DataFrame] = {}
        if as_user is not None:
            self.scope = scope_for(self.table("team"), as_user)

    @property
    def user(self) -> str | None:
        """The member this workspace was opened as (``open_workspace(DIR, as_user=...)``), else None."""
        return None if self.scope is None else self.scope.user

    def unscoped(self) -> Workspace:
        """This workspace as a whole (a new, writable handle on the same folder)."""
        return Workspace(self.path)

    def _scoped_table(self, entity: str) -> pd.DataFrame:
        """``entity`` as the member of :attr:`scope` sees it (:func:`crmkit.team.scoped_tables`)."""
        if entity in REFERENCE:
            return self._frames[entity]
        if entity not in self._scoped:
            needed = ("customers", *BY_CUSTOMER) + ((entity,) if entity in BY_RECORD else ())
            frames = {k: self._raw_table(k) for k in dict.fromkeys(needed)}
            self._scoped.update(scoped_tables(self.scope, frames))
        return self._scoped[entity]

    def _read_only(self) -> None:
        if self.scope is not None:
            raise UsageError(msg("e_scoped_read_only", user=self.scope.user))

    # ------------------------------------------------------------------ reading

    def file(self, workbook: str) -> Path:
        return self.path / workbook_file(workbook)

    @property
    def settings(self) -> dict:
        if self._settings is None:
            self._settings = parse_settings(self._read_entity("settings"))
        return self._settings

    @property
    def lang(self) -> str:
        try:
            return check_lang(self.settings.get("language"))
        except Exception:
            return "en"

    def fields(self, entity: str) -> list[Field]:
        """The fields of ``entity``: schema fields, then the custom fields of the Fields sheet."""
        return list(self.entity(entity).fields)

    def entity(self, key: str) -> Entity:
        """The entity ``key`` with this workspace's custom fields (Fields sheet of rules.xlsx) appended."""
        ent = ENTITIES[key]
        if ent.workbook in ("rules", "log"):      # configuration and log sheets take no custom fields
            return ent
        if self._custom is None:
            from .fields import custom_fields

            frame = self.table("fields")
            found, problems = custom_fields(frame)
            frame.attrs.setdefault("problems", []).extend(problems)
            self._custom = {k: tuple(v) for k, v in found.items()}
        from .fields import extend_entity

        return extend_entity(ent, self._custom.get(key, ()))

    def _read_entity(self, key: str) -> pd.DataFrame:
        ent = self.entity(key)
        path = self.file(ent.workbook)
        if not path.exists():
            # a workbook the team has not created (yet): its tables are empty, as in a blank template
            self._frames.setdefault(key, empty_frame(ent))
            return self._frames[key]
        self._load_workbook(ent.workbook)
        return self._frames[key]

    def _load_workbook(self, workbook: str) -> None:
        for _ in self._loading(workbook):
            pass

    def _loading(self, workbook: str) -> Iterator[tuple[str, pd.DataFrame]]:
        """Load ``workbook``, yielding ``(entity, frame)`` for each of its tables as soon as it is typed.

        The workbook counts as loaded (and is cached) once the last table is
        typed; a caller that stops early leaves it to be read again in full.
        """
        held = ((k, self._frames[k]) for k in WORKBOOKS[workbook] if k in self._frames)
        if workbook in self._loaded:
            yield from held
            return
        path = self.file(workbook)
        dayfirst = bool(self._settings.get("date_dayfirst")) if self._settings else False
        ents = {key: self.entity(key) for key in WORKBOOKS[workbook]}
        content = cache.content_digest(path) if cache.enabled() else None
        key = self._cache_key(workbook, ents, dayfirst, content)
        hit = cache.load(self.path, workbook, key, str(path)) if key is not None else None
        if hit is not None and set(hit) == set(ents):
            for k, df in hit.items():
                self._frames.setdefault(k, df)
            self._loaded.add(workbook)
            yield from held
            return
        fresh: dict[str, pd.DataFrame] = {}
        for k, df in self._read_workbook(workbook, path, ents, dayfirst, self._pending.pop(workbook, None)):
            if df is not None:
                fresh[k] = self._frames.setdefault(k, df)
            yield k, self._frames[k]
        self._loaded.add(workbook)
        if key is not None and set(fresh) == set(ents):
            cache.store(self.path, workbook, key, fresh, content)

    def _cache_key(self, workbook: str, ents: dict[str, Entity], dayfirst: bool,
                   content: str | None) -> str | None:
        """The cache key of ``workbook`` (see :mod:`crmkit.io.cache`); None when it is not worth caching."""
        if not cache.enabled() or content is None:
            return None
        try:
            if self.file(workbook).stat().st_size < cache.MIN_BYTES:
                return None
        except OSError:
            return None
        return cache.workbook_key(self.file(workbook), [e.fields for e in ents.values()], dayfirst, content)

    def _read_workbook(self, workbook: str, path: Path, ents: dict[str, Entity], dayfirst: bool,
                       pending: dict[str, Future] | None = None
                       ) -> Iterator[tuple[str, pd.DataFrame | None]]:
        """Parse and type every sheet of ``workbook`` that is not in memory yet.

        fastexcel parses a sheet without holding the GIL, so the sheets are
        read in a helper thread, in order, while the main thread types the
        ones already read (pandas): on two cores the reading is mostly hidden.
        ``pending`` holds reads already under way (:meth:`_reading_ahead`).
        """
        if pending is not None:
            yield from self._type_sheets(path, ents, dayfirst, pending)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crmkit-read") as pool:
            futures = self._submit_reads(pool, workbook)
            try:
                yield from self._type_sheets(path, ents, dayfirst, futures)
            finally:
                for fut in futures.values():
                    fut.cancel()

    def _type_sheets(self, path: Path, ents: dict[str, Entity], dayfirst: bool,
                     futures: dict[str, Future]) -> Iterator[tuple[str, pd.DataFrame | None]]:
        """``(entity, typed frame)`` per sheet, in order; the frame is None for a table already in memory."""
        for key, ent in ents.items():
            name, raw = futures[key].result()
            if key in self._frames:
                yield key, None
            elif raw is None:
                # a sheet the workbook lacks (see missing_sheet): empty, marked as the cache marks it
                df = empty_frame(ent)
                df.attrs.update(sheet="", file=str(path), **{NORMAL_FORM: True})
                yield key, df
            else:
                _require_id_column(raw, ent, path, name)
                yield key, convert(raw, ent, file=str(path), sheet=name, dayfirst=dayfirst)

    def _submit_reads(self, pool: ThreadPoolExecutor, workbook: str) -> dict[str, Future]:
        """Queue the text read of every sheet of ``workbook`` (entity -> future of (sheet, frame or None))."""
        path = self.file(workbook)
        opened = pool.submit(open_reader, path)

        def read(i: int, key: str):
            reader = opened.result()           # the pool has one thread: opened before any sheet
            ent = ENTITIES[key]
            name = find_sheet(reader.sheet_names, ent)
            if name is None:
                missing_sheet(reader, path, workbook, key, main=i == 0)
                return None, None
            return name, read_raw(path, name, reader)

        return {key: pool.submit(read, i, key) for i, key in enumerate(WORKBOOKS[workbook])}

    @contextlib.contextmanager
    def _reading_ahead(self, workbooks: Iterable[str]):
        """Read the sheets of every workbook that will be parsed ahead of typing them.

        One helper thread reads all of them in order, rules.xlsx first (its
        Settings and Fields say how the others are typed), while the main
        thread types, so the next workbook is being read while this one is
        typed.  A workbook whose content matches the cached version is not
        read (the settings are not known yet, so a cached copy typed under
        other settings is read in line when it turns out to be a miss).
        """
        todo = []
        for wb in sorted(workbooks, key=lambda w: w != "rules"):
            if wb in self._loaded or wb in self._pending or not self.file(wb).exists():
                continue
            if cache.enabled():
                content = cache.content_digest(self.file(wb))
                if content is not None and content == cache.kept_content(self.path, wb):
                    continue
            todo.append(wb)
        if not todo:
            yield
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crmkit-read") as pool:
            for wb in todo:
                self._pending[wb] = self._submit_reads(pool, wb)
            try:
                yield
            finally:
                for wb in todo:
                    for fut in self._pending.pop(wb, {}).values():
                        fut.cancel()

    @contextlib.contextmanager
    def reading_ahead(self, entities: Iterable[str] | None = None):
        """Within this block, the workbooks of ``entities`` (default all) are read in a helper thread, in order.

        rules.xlsx always comes first: its Settings and Fields say how the
        others are typed.
        """
        with self._reading_ahead(_workbooks_of(entities)):
            yield self

    def tables_as_read(self, entities: Iterable[str]) -> Iterator[tuple[str, pd.DataFrame]]:
        """``(entity, frame)`` for each of ``entities``, each as soon as it is typed.

        The order is the order of reading (rules.xlsx first, then customers,
        tasks, campaigns and log), with the next sheets read ahead in a helper
        thread: a caller that works on each table as it comes (validation)
        does that work while the sheets after it are being read.
        """
        want = set(entities)
        books = _workbooks_of(want)
        with self._reading_ahead(books):
            _ = self.settings
            for wb in books:
                found = self._loading(wb) if self.file(wb).exists() else \
                    ((k, self.table(k)) for k in WORKBOOKS[wb])
                for k, df in found:
                    if k in want:
                        yield k, (df if self.scope is None else self._scoped_table(k))

    def check(self) -> Workspace:
        """Read every workbook now, so that a broken one is reported at once (file, sheet, column)."""
        with self._reading_ahead(WORKBOOKS):
            _ = self.settings
            for wb in WORKBOOKS:
                if self.file(wb).exists():
                    self._load_all_of(wb)
        return self

    def table(self, entity: str) -> pd.DataFrame:
        """The typed frame of ``entity`` (e.g. "customers"); empty when the sheet is absent.

        In a workspace opened ``as_user``, only the rows that member may see."""
        frame = self._raw_table(entity)
        return frame if self.scope is None else self._scoped_table(entity)

    def _raw_table(self, entity: str) -> pd.DataFrame:
        if entity not in ENTITIES:
            raise KeyError(f"unknown entity {entity!r}; one of {', '.join(ENTITIES)}")
        if entity not in self._frames:
            if entity == "settings" or self._settings is not None:
                self._read_entity(entity)
            else:
                _ = self.settings
                self._read_entity(entity)
        return self._frames[entity]

    __getitem__ = table

    def load_all(self) -> dict[str, pd.DataFrame]:
        with self._reading_ahead(WORKBOOKS):
            _ = self.settings
            return {k: self.table(k) for k in ENTITIES}

    def problems(self) -> list:
        """Values that did not convert to their field's type, over the tables read so far."""
        out = []
        for key, df in self._frames.items():
            found = df.attrs.get("problems", [])
            if self.scope is not None and found and key not in REFERENCE:
                rows = set(self._scoped_table(key).index)     # only the rows this member sees
                found = [p for p in found if p.row in rows]
            out.extend(found)
        return out

    def as_of(self, override: object = None) -> pd.Timestamp:
        """The run's 'now': ``override``, else Settings' as_of, else the current time."""
        if override is not None and str(override).strip():
            from .normalize import to_datetime

            out, bad = to_datetime(pd.Series([str(override)]))
            if bad.iloc[0] or pd.isna(out.iloc[0]):
                from .exceptions import UsageError

                raise UsageError(msg("e_as_of", value=repr(override)))
            return pd.Timestamp(out.iloc[0])
        fixed = self.settings.get("as_of")
        if fixed is not None and not pd.isna(fixed):
            return pd.Timestamp(fixed)
        return pd.Timestamp.now().floor("s")

    # ------------------------------------------------------------------ changing

    def replace(self, entity: str, df: pd.DataFrame) -> None:
        """Put a changed frame in place; it is written by the next :meth:`save`."""
        self._read_only()
        ent = self.entity(entity)
        self._load_all_of(ent.workbook)
        attrs = dict(self._frames.get(entity, pd.DataFrame()).attrs)
        new = coerce_frame(df, ent)
        new.attrs.update({k: v for k, v in attrs.items() if k not in ("problems", NORMAL_FORM)})
        new.attrs.pop(NORMAL_FORM, None)      # values put in by code are converted again when checked
        new.attrs["problems"] = []
        self._frames[entity] = new
        self._dirty.add(ent.workbook)
        if entity == "settings":
            self._settings = None
        if entity == "fields":
            self._custom = None

    def set_settings(self, values: Mapping[str, object]) -> None:
        """Put ``key = value`` rows into the Settings sheet, as a person would type them (written by :meth:`save`).

        >>> ws.set_settings({"smtp_host": "smtp.example.com", "smtp_port": 587}); ws.save(["rules"])
        """
        s = self.table("settings").copy()
        add = []
        for key, value in values.items():
            text = None if value is None else str(value)
            hit = (s["key"].astype("string") == key).fillna(False).to_numpy()
            if hit.any():
                s.loc[hit, "value"] = text
            else:
                add.append({"key": key, "value": text})
        if add:
            s = pd.concat([s, pd.DataFrame(add)], ignore_index=True)
        self.replace("settings", s)

    def append(self, entity: str, rows: pd.DataFrame) -> None:
        """Append new rows (canonical keys) to ``entity``."""
        self._read_only()
        if rows is None or rows.empty:
            return
        cur = self.table(entity)
        ent = self.entity(entity)
        rows = coerce_frame(rows, ent)
        start = (int(cur.index.max()) + 1) if len(cur) else 2
        rows.index = pd.RangeIndex(start, start + len(rows), name="_row")
        combined = pd.concat([cur, rows[[c for c in rows.columns if c in cur.columns or True]]])
        self.replace(entity, combined)

    def _load_all_of(self, workbook: str) -> None:
        if self.file(workbook).exists():
            self._load_workbook(workbook)
        for key in WORKBOOKS[workbook]:
            self._frames.setdefault(key, empty_frame(self.entity(key)))

    @property
    def dirty(self) -> set[str]:
        return set(self._dirty)

    def save(self, workbooks: Iterable[str] | None = None, *,
             extra: Mapping[str | os.PathLike, bytes] | None = None) -> list[Path]:
        """Write the changed workbooks (or those named), all of them or none.

        Every workbook is checked first (open in Excel, read-only, content
        crmkit would refuse to rewrite), then written whole to a staging
        folder, then the set is renamed into place under a journal
        (:mod:`crmkit.io.journal`): an error, Ctrl-C or a kill leaves either
        all of the new versions or none.  ``extra`` maps other files of the
        workspace (e.g. the rule state) to bytes written in the same unit.
        Rows typed with a blank ID get one first (:meth:`assign_blank_ids`).
        """
        self._read_only()
        from .io.journal import Item, save_files

        todo = sorted(self._dirty if workbooks is None else set(workbooks))
        if self.assign_blank_ids(todo) and "log" not in todo:
            todo.append("log")
        items = []
        for wb in todo:
            self._load_all_of(wb)
            frames = {k: self._frames[k] for k in WORKBOOKS[wb]}
            items.append(Item(self.file(wb), write=self._writer(wb, frames)))
        for target, data in (extra or {}).items():
            items.append(Item(Path(target), data=data, workbook=False))
        if not items:
            return []
        save_files(self.path, items, keep_backups=self._backups_keep())
        for wb in todo:
            self._dirty.discard(wb)
        return [self.file(wb) for wb in todo]

    def _writer(self, wb: str, frames: dict[str, pd.DataFrame]):
        """Writes workbook ``wb`` to a staging path (its current version is already there, linked)."""
        def write(stage: Path) -> None:
            # the staging folder stands in for the workspace: no backup there (the journal keeps one)
            write_workbook(stage, frames, self.lang, workbook_key=wb, workspace=stage.parent,
                           fields_of=self._fields_of, keep_backups=0,
                           team_names=None if "team" in frames else self._team_names())
        return write

    def assign_blank_ids(self, workbooks: Iterable[str] | None = None) -> int:
        """Give an ID to each row typed without one (the template allows it), in ``workbooks``' tables.

        Uses the one allocator (:func:`crmkit.ids.next_ids`); each new ID is recorded in History
        (field = the ID field, old blank, by ``crmkit``).  Returns the number
        of IDs given.
        """
        books = WORKBOOKS if workbooks is None else list(workbooks)
        given = []
        for wb in books:
            if wb in ("rules", "log"):
                continue
            if workbooks is not None:
                self._load_all_of(wb)
            for key in WORKBOOKS[wb]:
                df = self._frames.get(key)
                ent = ENTITIES[key]
                if df is None or df.empty or not ent.id_field or ent.id_field not in df.columns:
                    continue
                ids = df[ent.id_field]
                blank = ids.isna() | (ids.astype("string").str.strip() == "").fillna(False)
                if not blank.any():
                    continue
                new = next_ids(key, ids[~blank], int(blank.sum()))
                col = ids.astype("object").copy()
                col[blank.to_numpy()] = new
                out = df.copy()
                out[ent.id_field] = col.astype(ids.dtype) if str(ids.dtype) != "object" else col
                out.attrs = dict(df.attrs)
                self._frames[key] = out
                self._dirty.add(wb)
                given.append(pd.DataFrame({"at": pd.Timestamp.now().floor("s"), "entity": key,
                                           "record_id": new, "field": ent.id_field, "old": None,
                                           "new": new, "by": "crmkit"}))
        if given:
            self.append("history", pd.concat(given, ignore_index=True))
        return sum(len(g) for g in given)

    def _team_names(self) -> list[str]:
        """Team names for the Owner dropdowns of a workbook without the Team sheet ([] when unreadable)."""
        try:
            return team_names(self["team"])
        except Exception:  # noqa: BLE001 - a dropdown must never stop a save
            return []

    def _backups_keep(self) -> int:
        """Settings' ``backups_keep`` (previous versions kept per workbook), default 10."""
        try:
            return max(0, int(self.settings.get("backups_keep", 10)))
        except Exception:  # noqa: BLE001 - unreadable settings must not stop a save
            return 10

    def _fields_of(self, ent: Entity) -> list[Field]:
        return [f for f in self.fields(ent.key) if not f.derived]

    def __repr__(self) -> str:
        who = "" if self.scope is None else f" as_user={self.scope.user!r}"
        return f"<Workspace {str(self.path)!r} lang={self.lang}{who}>"


def team_names(team: pd.DataFrame | None) -> list[str]:
    """The names of a Team frame (the Owner dropdowns of the other workbooks)."""
    if team is None or "name" not in team.columns:
        return []
    return [str(v) for v in team["name"].dropna().tolist() if str(v).strip()]


def _workbooks_of(entities: Iterable[str] | None) -> list[str]:
    """The workbooks holding ``entities`` (all when None), rules.xlsx first, then in the usual order."""
    want = None if entities is None else {ENTITIES[k].workbook for k in entities}
    return [wb for wb in sorted(WORKBOOKS, key=lambda w: w != "rules") if wb == "rules" or want is None or wb in want]


#: Sheets a crmkit-written workbook must have (sheets added in later versions, such as Deals, Tickets, Fields,
#: Forms and ImportMap, may be missing from an older workspace: they read as empty).
REQUIRED_SHEETS = frozenset({"customers", "interactions", "orders", "tasks", "campaigns", "messages", "rules",
                             "routing", "team", "settings", "rule_log", "history"})


def _looks_like(reader, names: list[str], ent: Entity) -> str | None:
    """The sheet among ``names`` whose header row names the fields of ``ent`` (a renamed sheet), if any."""
    from .io.typing import map_columns

    need = {f.key for f in ent.fields if f.required} or {f.key for f in ent.input_fields}
    best, best_n = None, 0
    for name in names:
        try:
            cols = [c.name for c in reader.load_sheet(name, n_rows=0).available_columns()]
        except Exception:  # noqa: BLE001 - an unreadable extra sheet is no candidate
            continue
        found = set(map_columns(cols, ent).values())
        n = len(found & need)
        if n > best_n and n >= max(2, (len(need) + 1) // 2) and len(found) * 2 >= len(cols):
            best, best_n = name, n
    return best


def missing_sheet(reader, path: Path, workbook: str, key: str, *, main: bool) -> None:
    """Raise when the sheet of ``key`` is missing from ``workbook`` and must be there.

    It must when it is the workbook's main sheet, when the workbook was
    written by crmkit (it has the README sheet) and the sheet is one every
    version wrote, or whenever another sheet has its columns (a renamed
    sheet: "Orders 2024"), which the message names.  Otherwise (a hand-made
    workbook, a sheet added by a later version) the table reads as empty.
    """
    from .i18n import t
    from .io.reading import find_sheet

    ent = ENTITIES[key]
    names = list(reader.sheet_names)
    readme = {t("readme", "en"), t("readme", "zh")}
    claimed = {find_sheet(names, ENTITIES[k]) for k in WORKBOOKS[workbook]}
    others = [n for n in names if n not in claimed and n not in readme]
    like = _looks_like(reader, others, ent) if others else None
    where = f"no sheet '{ent.en}' / '{ent.zh}' (sheets: {', '.join(names)})"
    if like is not None:
        raise WorkbookError(f"{where}; sheet '{like}' has its columns: rename it back to '{ent.en}' or "
                            f"'{ent.zh}' (crmkit finds a sheet by its name)", file=str(path), sheet=like)
    if main or (key in REQUIRED_SHEETS and readme & set(names)):
        raise WorkbookError(f"{where}; rename the sheet back, or restore the workbook from .crmkit/backups",
                            file=str(path))


def _require_id_column(raw: pd.DataFrame, ent: Entity, path: Path, sheet: str) -> None:
    """A sheet holding rows must have its ID column: records are found by it."""
    from .io.typing import map_columns

    if not ent.id_field or raw.empty or ent.id_field in map_columns(raw.columns, ent).values():
        return
    f = ent.field(ent.id_field)
    raise WorkbookError(msg("e_required_column", en=f.en, zh=f.zh),
                        file=str(path), sheet=sheet, column=f.en)


def open_workspace(path: str | os.PathLike, *, as_user: str | None = None) -> Workspace:
    """Open the workspace folder at ``path`` (nothing is read until a table is used).

    With ``as_user``, a read-only view of what that Team member may see
    (:mod:`crmkit.team`): a rep's own customers and their records, a
    manager's team, an admin everything.

    >>> mine = open_workspace("sample_data", as_user="Alex Chen")
    >>> mine["customers"]["owner"].unique()
    """
    return Workspace(path, as_user=as_user)


def read_workbook_file(path: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Every crmkit entity found in one workbook file, keyed by entity."""
    reader = open_reader(path)
    out = {}
    for key, ent in ENTITIES.items():
        name = find_sheet(reader.sheet_names, ent)
        if name is not None:
            out[key] = convert(read_raw(path, name, reader), ent, file=str(path), sheet=name)
    if not out:
        raise WorkbookError(msg("e_no_crmkit_sheet", sheets=", ".join(reader.sheet_names)),
                            file=str(path))
    return out
