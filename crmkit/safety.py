"""The one write path for users' files (DESIGN §8).

* :func:`replace_file` writes a new file next to the old one, fsyncs it,
  checks it, keeps the previous version as a backup and atomically replaces
  the old file; an interrupted write leaves the old file untouched (a later
  write removes the temporary file it left behind).
* :func:`check_not_open` refuses while Excel or LibreOffice holds the
  workbook open (their lock files ``~$name.xlsx`` / ``.~lock.name.xlsx#``);
  it can wait a while for the lock to go away.
* :func:`workspace_lock` serialises crmkit runs on one workspace (a
  ``filelock`` in ``.crmkit/lock``); it is re-entrant within one thread, and
  while held, office lock files are waited for as long as the workspace lock
  was (``--wait``).
* :func:`neutralise_csv_cell` / :func:`neutralise_csv` defuse text that a
  spreadsheet would run as a formula when a CSV export is opened.

Waiting: every wait defaults to 0 seconds (refuse at once) unless the
command line says ``crmkit --wait SECONDS <command>``, the environment
variable ``CRMKIT_WAIT`` holds a number of seconds, or a caller passes
``wait=``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import os
import re
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from .exceptions import FileLockedError, WorkbookError

STATE_DIR = ".crmkit"
BACKUP_DIR = "backups"
DEFAULT_BACKUPS = 10
WAIT_ENV = "CRMKIT_WAIT"
_POLL = 0.2

#: The wait (seconds) for office lock files inside ``workspace_lock(wait=...)``.
_office_wait: contextvars.ContextVar[float | None] = contextvars.ContextVar("crmkit_office_wait", default=None)


def state_dir(workspace: str | os.PathLike) -> Path:
    """The hidden folder of a workspace: backups, lock, rule state."""
    return Path(workspace) / STATE_DIR


_wait_override: float | None = None


def set_default_wait(seconds: float | None) -> None:
    """Set the wait of this process (``crmkit --wait SECONDS``); None goes back to ``$CRMKIT_WAIT``."""
    global _wait_override
    _wait_override = None if seconds is None else max(0.0, float(seconds))


def default_wait() -> float:
    """Seconds to wait for a lock when the caller does not say: ``crmkit --wait``, ``$CRMKIT_WAIT``, or 0."""
    if _wait_override is not None:
        return _wait_override
    try:
        return max(0.0, float(os.environ.get(WAIT_ENV, "") or 0))
    except ValueError:
        return 0.0


def _resolve_wait(wait: float | None) -> float:
    if wait is not None:
        return max(0.0, float(wait))
    inherited = _office_wait.get()
    return inherited if inherited is not None else default_wait()


# --------------------------------------------------------------------------- office lock files

def office_lock_files(path: Path) -> list[Path]:
    """The lock files Excel (``~$name.xlsx``) and LibreOffice (``.~lock.name.xlsx#``) create."""
    path = Path(path)
    return [path.with_name("~$" + path.name), path.with_name(".~lock." + path.name + "#")]


def open_by(path: str | os.PathLike) -> Path | None:
    """The office lock file that says ``path`` is open, or None."""
    for lock in office_lock_files(Path(path)):
        if lock.exists():
            return lock
    return None


def check_not_open(path: str | os.PathLike, *, wait: float | None = None) -> None:
    """Raise :class:`FileLockedError` when the workbook is open in Excel/LibreOffice.

    With ``wait`` (seconds; default: the enclosing ``workspace_lock``'s wait,
    else ``$CRMKIT_WAIT``, else 0) the check polls until the lock file goes.
    """
    p = Path(path)
    deadline = time.monotonic() + _resolve_wait(wait)
    while True:
        lock = open_by(p)
        if lock is None:
            return
        if time.monotonic() >= deadline:
            raise FileLockedError(
                f"the workbook is open in Excel or another program ({lock.name} exists); "
                "close it and try again (or wait for it with --wait SECONDS)", file=str(p))
        time.sleep(_POLL)


# --------------------------------------------------------------------------- temporary files

_TMP_RE = re.compile(r"^\.(?P<stem>.+)\.tmp-(?P<pid>\d+)(?P<suffix>\.[^.]*)?$")


def temp_path(path: Path) -> Path:
    """The temporary file a write of ``path`` goes to: ``.<stem>.tmp-<pid><suffix>`` next to it."""
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove temporary files of interrupted writes in ``folder`` (their process is gone).

    Returns the files removed.  Files of writes still running (their pid is
    alive) are left alone.
    """
    removed = []
    folder = Path(folder)
    try:
        candidates = list(folder.glob(".*.tmp-*"))
    except OSError:
        return removed
    for p in candidates:
        m = _TMP_RE.match(p.name)
        if not m or not p.is_file():
            continue
        if _pid_alive(int(m.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- backups

def backup_folder(path: Path, workspace: str | os.PathLike | None = None) -> Path:
    return state_dir(workspace if workspace is not None else Path(path).parent) / BACKUP_DIR


def backups_of(path: str | os.PathLike, workspace: str | os.PathLike | None = None) -> list[Path]:
    """The kept previous versions of ``path``, oldest first."""
    path = Path(path)
    folder = backup_folder(path, workspace)
    if not folder.is_dir():
        return []
    pat = re.compile(re.escape(path.stem) + r"\.\d{8}-\d{6}-\d{6}(-\d+)?" + re.escape(path.suffix) + "$")
    return sorted(p for p in folder.iterdir() if pat.match(p.name))


def backup(path: Path, workspace: str | os.PathLike | None = None, keep: int = DEFAULT_BACKUPS) -> Path | None:
    """Keep the current version of ``path`` in ``.crmkit/backups`` (bounded to ``keep`` per file).

    ``keep`` <= 0 keeps no backup at all.
    """
    path = Path(path)
    if not path.exists():
        return None
    folder = backup_folder(path, workspace)
    target = None
    if keep > 0:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
        n = 1
        while target.exists():
            n += 1
            target = folder / f"{path.stem}.{stamp}-{n}{path.suffix}"
        try:
            os.link(path, target)          # the old inode survives the replace: a free backup
        except OSError:
            shutil.copy2(path, target)
    olds = backups_of(path, workspace)
    for old in olds[:-keep] if keep > 0 else olds:
        with contextlib.suppress(OSError):
            old.unlink()
    return target


# --------------------------------------------------------------------------- the write path

def replace_file(path: str | os.PathLike, produce: Callable[[Path], None], *,
                 workspace: str | os.PathLike | None = None, keep_backups: int = DEFAULT_BACKUPS,
                 verify: bool = True, wait: float | None = None) -> Path:
    """Atomically replace ``path`` with what ``produce(tmp_path)`` writes.

    The temporary file lives in the same folder (so the rename is atomic),
    is fsynced and, for .xlsx, checked to be a readable zip before it
    replaces the old file.  The old version is kept as a backup.  Refuses
    (:class:`FileLockedError`) while the file is open in Excel/LibreOffice,
    after waiting up to ``wait`` seconds.  If anything fails, or the process
    is killed, the old file is untouched.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()          # replace the file the link points to, keep the link
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise WorkbookError("is a folder, not a file", file=str(path))
    check_not_open(path, wait=wait)
    clean_stale_temps(path.parent)
    tmp = temp_path(path)
    try:
        produce(tmp)
        if path.exists():
            with contextlib.suppress(OSError):
                shutil.copymode(path, tmp)     # the new version keeps the old one's permissions
        with open(tmp, "rb+") as fh:
            fh.flush()
            os.fsync(fh.fileno())
        if verify and path.suffix.lower() in (".xlsx", ".xlsm"):
            try:
                with zipfile.ZipFile(tmp) as zf:
                    bad = zf.testzip()
            except zipfile.BadZipFile:
                bad = "not a zip archive"
            if bad is not None:
                raise WorkbookError(f"the new file is damaged ({bad}); the old file was kept", file=str(path))
        check_not_open(path, wait=wait)
        backup(path, workspace, keep_backups)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


# --------------------------------------------------------------------------- the workspace lock

_held = threading.local()


def _held_counts() -> dict[str, int]:
    if not hasattr(_held, "counts"):
        _held.counts = {}
    return _held.counts


def holds_workspace_lock(workspace: str | os.PathLike) -> bool:
    """True when this thread holds the lock of ``workspace``."""
    return _held_counts().get(str(Path(workspace).resolve()), 0) > 0


@contextlib.contextmanager
def workspace_lock(workspace: str | os.PathLike, *, wait: float | None = None) -> Iterator[None]:
    """Hold the workspace lock; wait up to ``wait`` seconds for another run, then refuse.

    Re-entrant: a thread that already holds the lock gets it again at once.
    While held, writes wait up to the same time for a workbook that is open
    in Excel.  ``wait=None`` (the default) means ``$CRMKIT_WAIT``, else 0:
    refuse at once with a clear message.
    """
    from filelock import FileLock, Timeout

    key = str(Path(workspace).resolve())
    counts = _held_counts()
    seconds = default_wait() if wait is None else max(0.0, float(wait))
    if counts.get(key, 0) > 0:
        counts[key] += 1
        token = _office_wait.set(max(seconds, _office_wait.get() or 0.0))
        try:
            yield
        finally:
            _office_wait.reset(token)
            counts[key] -= 1
        return
    folder = state_dir(workspace)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileLockedError(f"cannot create the workspace lock folder: {exc.strerror or exc}",
                              file=str(folder)) from None
    lock = FileLock(str(folder / "lock"))
    try:
        lock.acquire(timeout=seconds, poll_interval=0.05)
    except Timeout:
        raise FileLockedError(
            "another crmkit run is working on this workspace; try again when it has finished "
            "(or pass --wait SECONDS)", file=str(workspace)) from None
    counts[key] = 1
    token = _office_wait.set(seconds)
    try:
        _recover(workspace)
        yield
    finally:
        _office_wait.reset(token)
        counts.pop(key, None)
        lock.release()


def _recover(workspace: str | os.PathLike) -> None:
    """Finish or undo a save that was interrupted (:mod:`crmkit.journal`); say so on stderr."""
    from .journal import recover, warn

    note = recover(workspace)
    if note:
        warn(note)


# --------------------------------------------------------------------------- formula injection

#: Characters that make a spreadsheet treat a typed cell as a formula
#: (=, +, -, @; tab and carriage return start a formula in some programs too).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet would run as a formula (a plain number such as -5 or +86138... is not)."""
    if not isinstance(value, str) or not value:
        return False
    return value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value.strip())


def neutralise_csv_cell(series: pd.Series) -> pd.Series:
    """Defuse formula injection in one column of a CSV export.

    Text beginning with ``= + - @`` (or a tab / carriage return) gets a
    single quote ``'`` in front, so Excel, LibreOffice and Google Sheets show
    it as text instead of running it (``=HYPERLINK(...)`` becomes
    ``'=HYPERLINK(...)``).  Plain numbers (``-5``, ``+8613800000000``) are
    left as they are, and non-text values are untouched.  Use it only for
    CSV: in .xlsx crmkit writes such values as text cells, which is safe.
    Returns a new Series (object dtype kept as is; string dtype stays string).
    """
    if series.empty:
        return series.copy()
    if not (pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)):
        return series.copy()
    text = series.astype("string")
    starts = text.str.slice(0, 1).isin(list(FORMULA_START)).fillna(False).astype(bool)
    isstr = series.map(lambda v: isinstance(v, str)).astype(bool) if series.dtype == object else starts
    mask = starts & isstr
    if mask.any():
        plain = text[mask].str.strip().str.fullmatch(_PLAIN_NUMBER.pattern[1:-1]).fillna(False).astype(bool)
        mask.loc[plain[plain].index] = False
    if not mask.any():
        return series.copy()
    out = series.copy()
    out.loc[mask] = "'" + text[mask]
    return out


def neutralise_csv(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`neutralise_csv_cell` applied to every text column of ``df`` (a copy)."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            out[c] = neutralise_csv_cell(col)
    return out
