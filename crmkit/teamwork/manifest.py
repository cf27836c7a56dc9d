"""The split manifest: what a rep workspace held when ``crmkit split`` wrote it.

``REP/.crmkit/split-manifest.json`` is the base of the three-way merge
(``crmkit merge``): for every row the split wrote, the canonical text of each
cell (:func:`crmkit.merge.as_text`, the text History uses) and a fingerprint
of the row.  Comparing canonical texts, not raw cells, means a workbook
re-saved by Excel, WPS or LibreOffice (a date turned datetime, an integer
turned float) does not look edited.

``workspace_id`` names the main workspace the rep workspace came from (a
random id kept in ``MAIN/.crmkit/workspace-id``), so a rep workspace is
never merged into another team's workspace by mistake.

The manifest is a plain file in the rep's folder, which the rep can edit: the
split also records it in the main workspace, ``MAIN/.crmkit/splits/<split
id>.json`` (owner, owners, time and the sha256 of the manifest's bytes:
:func:`record_split`), and ``crmkit merge`` takes a manifest only when that
record matches it (:func:`checked_manifest`).  A rep cannot widen the base
(add another rep's customer) or the scope by editing the manifest.

>>> m = SplitManifest.read("reps/alex")
>>> m.base["customers"]["C000123"]["phone"]
'+8613800138000'
>>> m.fingerprint("customers", "C000123")
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..exceptions import UsageError
from ..i18n import msg
from ..io.safety import replace_file, state_dir
from ..merge import as_text
from ..schema import ENTITIES

MANIFEST_FILE = "split-manifest.json"
WORKSPACE_ID_FILE = "workspace-id"
SPLITS_DIR = "splits"
FORMAT = 1
#: the keys a manifest must hold (the others have defaults)
REQUIRED = ("owner", "role", "owners", "workspace_id", "main", "lang", "split_at", "split_id", "base")

Cells = dict[str, str | None]           # field -> canonical text (None: blank)


def manifest_path(rep_folder: str | os.PathLike) -> Path:
    return state_dir(rep_folder) / MANIFEST_FILE


def file_key(split_id: str) -> str:
    """``split_id`` as a safe file-name part (the manifest is the rep's file: its id is not trusted as a path)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(split_id))[:120] or "split"


def split_record_path(main: str | os.PathLike, split_id: str) -> Path:
    """Where the main workspace ``main`` records the split ``split_id``: ``.crmkit/splits/<split_id>.json``."""
    return state_dir(main) / SPLITS_DIR / f"{file_key(split_id)}.json"


def row_texts(df: pd.DataFrame, entity: str) -> dict[str, Cells]:
    """Record id -> field -> canonical text, for every row of a typed frame with an id.

    Rows without an id are left out (the caller counts them as new rows).  Blank cells and the
    derived columns (RFM scores ..., recomputed, never merged) are left out too: a field missing
    from a row's cells is blank.
    """
    id_field = ENTITIES[entity].id_field
    if df is None or df.empty or id_field not in df.columns:
        return {}
    derived = {f.key for f in ENTITIES[entity].fields if f.derived}
    # the columns with a value somewhere (a blank column adds nothing to any row), as lists of str or None
    cols = [c for c in df.columns if c not in derived and not df[c].isna().all()]
    columns = [as_text(df[c]).to_numpy(dtype=object, na_value=None).tolist() for c in cols]
    rows = zip(*columns) if columns else itertools.repeat(())
    ids = df[id_field].astype("string").str.strip().to_numpy(dtype=object, na_value=None).tolist()
    out: dict[str, Cells] = {}
    for rid, row in zip(ids, rows):
        if rid:                       # neither blank nor missing
            out[rid] = {c: v for c, v in zip(cols, row) if v is not None and v != ""}
    return out


def row_fingerprint(cells: Cells) -> str:
    """sha256 over a row's canonical texts (field order does not matter; blank fields do not count)."""
    items = sorted((k, v) for k, v in cells.items() if v not in (None, ""))
    return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode("utf-8")).hexdigest()


def workspace_id(main: str | os.PathLike, *, create: bool = False) -> str | None:
    """The id of the main workspace (``.crmkit/workspace-id``); made on first use when ``create``."""
    path = state_dir(main) / WORKSPACE_ID_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    except OSError:
        pass
    if not create:
        return None
    new = uuid.uuid4().hex
    replace_file(path, lambda tmp: Path(tmp).write_text(new + "\n", encoding="utf-8"),
                 workspace=main, keep_backups=0, verify=False)
    return new


@dataclass
class SplitManifest:
    """A rep workspace's record of its split (see the module text)."""

    owner: str
    role: str
    owners: list[str] | None                     # None: everything (an admin's copy)
    workspace_id: str
    main: str                                    # the main folder at split time (informative)
    lang: str
    split_at: str                                # ISO time of the split
    split_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    base: dict[str, dict[str, Cells]] = field(default_factory=dict)   # entity -> id -> cells
    format: int = FORMAT

    def fingerprint(self, entity: str, record_id: str) -> str | None:
        cells = self.base.get(entity, {}).get(record_id)
        return None if cells is None else row_fingerprint(cells)

    def add_table(self, entity: str, df: pd.DataFrame) -> None:
        """Record every row of ``df`` (typed, as written to the rep workspace) as the base of ``entity``."""
        self.base[entity] = row_texts(df, entity)

    def data(self) -> bytes:
        """The manifest file's content (``crmkit split`` writes it in one unit with the rep's workbooks)."""
        # shallow: the base is plain dicts of text, which asdict() would deep-copy (seconds for 100k rows)
        fields_ = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return json.dumps(fields_, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def write(self, rep_folder: str | os.PathLike) -> Path:
        """Write the manifest into ``rep_folder/.crmkit/`` atomically."""
        data = self.data().decode("utf-8")
        target = manifest_path(rep_folder)
        return replace_file(target, lambda tmp: Path(tmp).write_text(data, encoding="utf-8"),
                            workspace=rep_folder, keep_backups=0, verify=False)

    @classmethod
    def read(cls, rep_folder: str | os.PathLike) -> SplitManifest:
        """The manifest of ``rep_folder``; :class:`UsageError` when it is missing or unreadable."""
        return cls.parse(read_bytes(rep_folder), manifest_path(rep_folder))

    @classmethod
    def parse(cls, data: bytes, path: str | os.PathLike) -> SplitManifest:
        """The manifest of the bytes ``data`` (read from ``path``); :class:`UsageError` when they are not one."""
        try:
            raw = json.loads(data.decode("utf-8"))
            _check_shape(raw)
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise UsageError(msg("e_manifest_bad", path=str(path), detail=str(exc)), file=str(path)) from None


def read_bytes(rep_folder: str | os.PathLike) -> bytes:
    """The manifest file's bytes; :class:`UsageError` when the folder holds none."""
    path = manifest_path(rep_folder)
    if not path.is_file():
        raise UsageError(msg("e_manifest_missing", path=str(path)), file=str(path))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(msg("e_manifest_bad", path=str(path), detail=exc.strerror or str(exc)),
                         file=str(path)) from None


def _check_shape(raw) -> None:
    """A ValueError saying what is wrong when ``raw`` (parsed JSON) is not a manifest's shape."""
    if not isinstance(raw, dict):
        raise ValueError(f"a JSON object was expected, not {type(raw).__name__}")
    if raw.get("format") != FORMAT:
        raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT}")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ValueError("missing " + ", ".join(missing))
    texts = ("owner", "role", "workspace_id", "split_at", "split_id")
    bad = [k for k in texts if not isinstance(raw[k], str) or not raw[k].strip()]
    if raw["owners"] is not None and not (isinstance(raw["owners"], list)
                                          and all(isinstance(x, str) for x in raw["owners"])):
        bad.append("owners")
    base = raw["base"]
    if not (isinstance(base, dict) and all(isinstance(rows, dict) and all(
            isinstance(cells, dict) and all(isinstance(v, str) or v is None for v in cells.values())
            for cells in rows.values()) for rows in base.values())):
        bad.append("base")
    if bad:
        raise ValueError("wrong shape: " + ", ".join(bad))


def record_split(main: str | os.PathLike, rep_folder: str | os.PathLike | None = None, *,
                 manifest: SplitManifest | None = None, data: bytes | None = None) -> Path:
    """Record a split in the main workspace ``main`` (``.crmkit/splits/<split_id>.json``), atomically.

    Either ``rep_folder`` (its manifest file as written) or ``manifest`` and
    ``data`` (the bytes :meth:`SplitManifest.data` gave, before they are
    written: ``crmkit split``).  The record holds the owner, owners, time of
    the split and the sha256 of the manifest's bytes, which
    :func:`checked_manifest` compares at merge time.
    """
    if data is None:
        data = read_bytes(rep_folder)
    if manifest is None:
        manifest = SplitManifest.parse(data, manifest_path(rep_folder))
    record = {"split_id": manifest.split_id, "owner": manifest.owner, "owners": manifest.owners,
              "role": manifest.role, "split_at": manifest.split_at, "workspace_id": manifest.workspace_id,
              "sha256": hashlib.sha256(data).hexdigest()}
    text = json.dumps(record, ensure_ascii=False, indent=1)
    return replace_file(split_record_path(main, manifest.split_id),
                        lambda tmp: Path(tmp).write_text(text, encoding="utf-8"),
                        workspace=main, keep_backups=0, verify=False)


def checked_manifest(main: str | os.PathLike, rep_folder: str | os.PathLike) -> SplitManifest:
    """The manifest of ``rep_folder`` when the main workspace ``main`` recorded that very split (see the
    module text); a :class:`UsageError` when it did not, or when the manifest was changed since."""
    data = read_bytes(rep_folder)
    path = manifest_path(rep_folder)
    man = SplitManifest.parse(data, path)
    if not man.workspace_id or man.workspace_id != workspace_id(main):
        raise UsageError(msg("e_merge_foreign", main=str(main)), file=str(rep_folder))
    rec_path = split_record_path(main, man.split_id)
    try:
        rec = json.loads(rec_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(msg("e_split_unrecorded", main=str(main)), file=str(path)) from None
    except (OSError, ValueError):
        rec = None
    if not isinstance(rec, dict) or rec.get("split_id") != man.split_id:
        raise UsageError(msg("e_split_record_bad", record=str(rec_path)), file=str(path))
    if rec.get("sha256") != hashlib.sha256(data).hexdigest():
        raise UsageError(msg("e_split_changed"), file=str(path))
    return man
