"""A typed copy of each workbook's tables, so that an unchanged workbook is parsed once.

Reading a workbook means unzipping its XML, parsing every cell and typing it
by the schema: about 7 s of CPU for the 1.35 million rows of a 100,000-customer
workspace.  Most reads are of workbooks that have not changed since the last
one (every dashboard visit, ``crmkit validate`` after ``crmkit import``, a
report after a run), so the typed tables of each workbook are kept in
``.crmkit/cache/`` (one uncompressed Arrow IPC file per table, and a small
JSON per workbook).  They are memory-mapped when read, so the frames use the
file's pages directly: 1.35 million rows come back in a few hundredths of a
second (LZ4 would make the files about 2.5x smaller and the read 20x slower),
with the same values, dtypes, row numbers, unknown columns and conversion
problems as a read of the workbook.

The cache is keyed by the workbook's *content*, not its date: the name,
CRC-32 and size of every part of the zip (read from its central directory,
a few kilobytes), plus the fields the tables were typed with (custom fields
included), the date order setting, the source of crmkit's reading code and
the pandas/pyarrow versions.  Any change to any of these is a miss, and a
miss reads the workbook itself.  Arrow files hold data only (no code runs
when one is read), so a file planted in a shared folder cannot execute.

The cache never stands in the way: a cache that cannot be read, written or
trusted is ignored (and rewritten), and ``CRMKIT_CACHE=0`` turns it off.
The copy holds customer data, like the backups next to it in ``.crmkit/``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from ..schema import WORKBOOKS, workbook_file
from .safety import STATE_DIR
from .typing import NORMAL_FORM, Problem

FORMAT = 1
CACHE_DIR = "cache"
ENV_VAR = "CRMKIT_CACHE"
#: workbooks smaller than this are read directly; every workbook pays off (the six small
#: configuration sheets of rules.xlsx take 90 ms to parse and 12 ms from the cache)
MIN_BYTES = 0
#: the code that types a workbook, relative to the crmkit package: a change to any of it is a miss
_CODE_FILES = ("schema.py", "normalize.py", "logsheets.py", "fields.py", "io/reading.py", "io/typing.py",
               "io/cache.py")


def enabled() -> bool:
    """Whether the cache is on (``CRMKIT_CACHE=0``, ``off``, ``no`` or ``false`` turns it off)."""
    return os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "off", "no", "false")


def cache_dir(workspace: str | os.PathLike) -> Path:
    return Path(workspace) / STATE_DIR / CACHE_DIR


@functools.lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """The source of the code that types a workbook, and the library versions it depends on."""
    import pyarrow

    h = hashlib.sha256(f"{FORMAT}|{pd.__version__}|{pyarrow.__version__}".encode())
    here = Path(__file__).resolve().parent.parent
    for name in _CODE_FILES:
        with contextlib.suppress(OSError):
            h.update((here / name).read_bytes())
    return h.hexdigest()


def content_digest(path: str | os.PathLike) -> str | None:
    """A digest of the workbook's content: name, CRC-32 and size of every part of the zip.

    Read from the zip's central directory (a few kB); None when the file is not a readable zip.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            parts = sorted((i.filename, i.CRC, i.file_size) for i in zf.infolist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def workbook_key(path: str | os.PathLike, fields: Iterable[object], dayfirst: bool,
                 content: str | None = None) -> str | None:
    """The key of ``path`` typed with ``fields`` (``content``: its :func:`content_digest`, when known)."""
    content = content or content_digest(path)
    if content is None:
        return None
    h = hashlib.sha256(_code_fingerprint().encode())
    h.update(content.encode())
    h.update(repr(tuple(fields)).encode())
    h.update(b"dayfirst" if dayfirst else b"monthfirst")
    return h.hexdigest()


def kept_content(workspace: str | os.PathLike, workbook: str) -> str | None:
    """The content digest of the version of ``workbook`` whose tables are kept (None: none kept)."""
    try:
        meta = json.loads(_meta_path(Path(workspace), workbook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("content") if isinstance(meta, dict) and meta.get("format") == FORMAT else None


def _meta_path(workspace: Path, workbook: str) -> Path:
    return cache_dir(workspace) / f"{workbook}.json"


def _data_path(workspace: Path, workbook: str, entity: str) -> Path:
    return cache_dir(workspace) / f"{workbook}.{entity}.arrow"


def load(workspace: str | os.PathLike, workbook: str, key: str, file: str) -> dict[str, pd.DataFrame] | None:
    """The cached frames of ``workbook`` when they were stored under ``key``; None otherwise.

    ``file`` is the workbook's path as the caller names it (it goes into the
    frames' ``attrs`` and their problems, as a fresh read would put it).
    """
    import pyarrow as pa
    import pyarrow.feather as feather

    workspace = Path(workspace)
    try:
        meta = json.loads(_meta_path(workspace, workbook).read_text(encoding="utf-8"))
        if meta.get("key") != key or meta.get("format") != FORMAT:
            return None
        out = {}
        for entry in meta["tables"]:
            table = feather.read_table(str(_data_path(workspace, workbook, entry["entity"])), memory_map=True)
            if (table.schema.metadata or {}).get(b"crmkit_key") != key.encode():
                return None             # a table of another version (a store was interrupted)
            df = table.to_pandas()
            df.attrs["problems"] = [Problem(file, p[0], p[1], p[2], p[3], p[4]) for p in entry["problems"]]
            df.attrs["extra_columns"] = list(entry["extra_columns"])
            df.attrs["sheet"] = entry["sheet"]
            df.attrs["file"] = file
            df.attrs[NORMAL_FORM] = True          # stored as the reader typed it
            out[entry["entity"]] = df
        return out
    except (OSError, ValueError, KeyError, TypeError, IndexError, pa.ArrowException):
        return None


def store(workspace: str | os.PathLike, workbook: str, key: str, frames: Mapping[str, pd.DataFrame],
          content: str | None = None) -> bool:
    """Keep ``frames`` (entity -> typed frame as read) for ``workbook`` under ``key``.

    Each table goes to a temporary file renamed into place, the JSON that
    holds the key last; every table also carries the key, so a reader sees a
    complete set or a miss.  Returns False (and keeps nothing) when a frame
    cannot be stored as Arrow (e.g. an unknown column holding mixed types) or
    the folder is not writable.
    """
    import pyarrow as pa
    import pyarrow.feather as feather

    workspace = Path(workspace)
    tables, entries = {}, []
    try:
        for entity, df in frames.items():
            plain = df.copy(deep=False)
            plain.attrs = {}
            table = pa.Table.from_pandas(plain, preserve_index=None)   # a RangeIndex stays one
            tables[entity] = table.replace_schema_metadata(
                {**(table.schema.metadata or {}), b"crmkit_key": key.encode()})
            entries.append({
                "entity": entity, "sheet": df.attrs.get("sheet", ""),
                "extra_columns": list(df.attrs.get("extra_columns", [])),
                "problems": [[p.sheet, int(p.row), str(p.column), _jsonable(p.value), p.reason]
                             for p in df.attrs.get("problems", [])],
            })
    except (pa.ArrowException, ValueError, TypeError):
        return False
    meta_path = _meta_path(workspace, workbook)
    try:
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        _clear(meta_path, *_stale_temps(meta_path.parent, workbook))
        for entity, table in tables.items():
            _atomic(_data_path(workspace, workbook, entity),
                    lambda fh, table=table: feather.write_feather(table, fh, compression="uncompressed"))
        _atomic(meta_path, lambda fh: fh.write(json.dumps(
            {"format": FORMAT, "key": key, "content": content, "tables": entries},
            ensure_ascii=False).encode("utf-8")))
        return True
    except (OSError, pa.ArrowException):
        _clear(meta_path)
        return False


def _stale_temps(folder: Path, workbook: str, age: float = 600.0) -> list[Path]:
    """Temporary files of ``workbook`` left by a store that was killed (older than ``age`` seconds)."""
    import time

    now = time.time()
    out = []
    for p in folder.glob(f".{workbook}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > age:
                out.append(p)
    return out


def _jsonable(v: object) -> object:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _clear(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def clear(workspace: str | os.PathLike) -> None:
    """Remove every cached table of ``workspace`` (the next reads parse the workbooks)."""
    d = cache_dir(workspace)
    if d.is_dir():
        for p in d.iterdir():
            with contextlib.suppress(OSError):
                p.unlink()


# --------------------------------------------------------------------------- results worked out from tables

#: results over fewer rows than this are worked out again each time (cheap enough)
MEMO_MIN_ROWS = 20_000
MEMO_KEEP = 8


def fingerprint(df: pd.DataFrame, columns: Iterable[str], *parts: object) -> str:
    """A digest of ``df[columns]`` (values, blanks, row numbers) and ``parts``.

    Arrow-backed columns are digested from their buffers (with their offset and
    length, which together fix every value), so 100,000 rows take a few
    milliseconds; other columns go through ``pandas.util.hash_pandas_object``.
    """
    import pyarrow as pa

    h = hashlib.blake2b(digest_size=20)
    h.update(_code_fingerprint().encode())
    h.update(repr(parts).encode())
    idx = df.index
    if isinstance(idx, pd.RangeIndex):
        h.update(repr(("range", idx.start, idx.stop, idx.step)).encode())
    else:
        h.update(pd.util.hash_pandas_object(pd.Series(idx), index=False).to_numpy().tobytes())
    for col in columns:
        h.update(f"|{col}|".encode())
        if col not in df.columns:
            h.update(b"absent")
            continue
        s = df[col]
        h.update(str(s.dtype).encode())
        data = getattr(s.array, "_pa_array", None)
        if data is not None:
            arr = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
            h.update(repr((arr.offset, len(arr), arr.null_count)).encode())
            for buf in arr.buffers():
                h.update(b"-" if buf is None else memoryview(buf))
        else:
            h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _memo_folder(df: pd.DataFrame) -> Path | None:
    """The cache folder of the workspace ``df`` was read from (``attrs["file"]``), if any.

    Only a crmkit workbook in a folder crmkit already keeps state in counts:
    a source file being imported from, say, a downloads folder gets nothing
    written next to it.
    """
    file = df.attrs.get("file") if hasattr(df, "attrs") else None
    if not file:
        return None
    path = Path(file)
    if path.name not in {workbook_file(w) for w in WORKBOOKS}:
        return None
    return cache_dir(path.parent) if (path.parent / STATE_DIR).is_dir() else None


def memo(name: str, df: pd.DataFrame, columns: Iterable[str], parts: tuple, compute):
    """``compute()`` (a DataFrame worked out from ``df[columns]`` and ``parts``), kept in the cache.

    Used for results that are slow to work out and the same on every visit
    until the data changes (e.g. the groups of duplicate customers).  The key
    is the digest of the very columns the result comes from, so a frame
    changed in memory, filtered, or read from an edited workbook is a miss.
    Small frames, frames not read from a workspace, and ``CRMKIT_CACHE=0``
    are worked out every time.
    """
    folder = _memo_folder(df) if enabled() and len(df) >= MEMO_MIN_ROWS else None
    if folder is None:
        return compute()
    import pyarrow as pa
    import pyarrow.feather as feather

    key = fingerprint(df, list(columns), name, *parts)
    path = folder / f"memo.{name}.{key[:16]}.arrow"
    try:
        table = feather.read_table(str(path), memory_map=True)
        if (table.schema.metadata or {}).get(b"crmkit_key") == key.encode():
            return table.to_pandas()
    except (OSError, ValueError, pa.ArrowException):
        pass
    out = compute()
    try:
        table = pa.Table.from_pandas(out, preserve_index=None)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"crmkit_key": key.encode()})
        folder.mkdir(parents=True, exist_ok=True)
        _atomic(path, lambda fh: feather.write_feather(table, fh, compression="lz4"))
        old = sorted(folder.glob(f"memo.{name}.*.arrow"), key=lambda p: p.stat().st_mtime, reverse=True)
        _clear(*old[MEMO_KEEP:])
    except (OSError, ValueError, TypeError, pa.ArrowException):
        pass
    return out
