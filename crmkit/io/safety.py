"""The one write path for users' files (DESIGN §8).

* :func:`replace_file` writes a new file next to the old one, fsyncs it,
  checks it, keeps the previous version as a backup and atomically replaces
  the old file; an interrupted write leaves the old file untouched (a later
  write removes the temporary file it left behind).
* :func:`check_not_open` refuses while Excel or LibreOffice holds the
  workbook open (their lock files ``~$name.xlsx`` / ``.~lock.name.xlsx#``);
  it can wait a while for the lock to go away.

The workspace lock and the saving of several files as one unit are in
:mod:`crmkit.io.journal`; the checks of output paths in
:mod:`crmkit.io.outputs`; CSV formula neutralising in :mod:`crmkit.io.neutralise`.

Waiting: every wait defaults to 0 seconds (refuse at once) unless the
command line says ``crmkit --wait SECONDS <command>``, the environment
variable ``CRMKIT_WAIT`` holds a number of seconds, or a caller passes
``wait=``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import errno
import gc
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ..exceptions import CrmkitError, FileLockedError, WorkbookError, WriteFailedError
from ..i18n import msg

STATE_DIR = ".crmkit"
BACKUP_DIR = "backups"
DEFAULT_BACKUPS = 10
WAIT_ENV = "CRMKIT_WAIT"
_POLL = 0.2

#: The wait (seconds) for office lock files inside the workspace lock (:func:`waiting_for_office`).
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


def office_wait() -> float | None:
    """The wait for office lock files set by the enclosing :func:`waiting_for_office` (None outside one)."""
    return _office_wait.get()


@contextlib.contextmanager
def waiting_for_office(seconds: float) -> Iterator[None]:
    """Within, a write waits up to ``seconds`` for a workbook open in Excel unless its caller says otherwise.

    The workspace lock (:func:`crmkit.io.journal.workspace_lock`) sets its own wait here.
    """
    token = _office_wait.set(seconds)
    try:
        yield
    finally:
        _office_wait.reset(token)


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
                msg("e_open_in_excel", lock=lock.name), file=str(p))
        time.sleep(_POLL)


# --------------------------------------------------------------------------- temporary files

#: Ending of crmkit's temporary files: no spreadsheet program lists them as workbooks, and a
#: killed write never leaves a file that looks like a broken ``.xlsx``.
TEMP_SUFFIX = ".crmkit-tmp"
# .customers.xlsx.<pid>-<random>.crmkit-tmp (today's names)
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX) + "$")
# .customers.tmp-<pid>.xlsx (names of crmkit before 2026-12: still cleaned up)
_OLD_TMP_RE = re.compile(r"^\.(?P<stem>.+)\.tmp-(?P<pid>\d+)(?P<suffix>\.[^.]*)?$")


def temp_path(path: Path) -> Path:
    """A new, empty temporary file for a write of ``path``, created exclusively next to it.

    Named ``.<name>.<pid>-<random>.crmkit-tmp``: created with ``O_EXCL``
    (:func:`tempfile.mkstemp`), so a file or link planted under a guessed
    name is never followed or overwritten; not ending in ``.xlsx``, so no
    spreadsheet program shows it as a workbook.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    return Path(name)


def is_temp_name(name: str) -> bool:
    """Is ``name`` a temporary file of a crmkit write (today's names or the old ``.x.tmp-PID.xlsx``)?"""
    return bool(_TMP_RE.match(name) or _OLD_TMP_RE.match(name))


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
    alive) are left alone.  Both today's names and the old
    ``.<stem>.tmp-<pid>.xlsx`` ones are recognised; a link is removed, never
    the file it points to.
    """
    removed = []
    folder = Path(folder)
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(".")]
    except OSError:
        return removed
    for p in candidates:
        m = _TMP_RE.match(p.name) or _OLD_TMP_RE.match(p.name)
        if not m:
            continue
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        if _pid_alive(int(m.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk; a file system that cannot is passed over."""
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


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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

def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


_WRITE_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted (the file or folder is protected)",
    errno.EFBIG: "the file is too large for this file system",
    errno.EIO: "an input/output error of the disk",
}


def _os_error(exc: BaseException | None) -> OSError | None:
    """The OSError behind ``exc`` (xlsxwriter and openpyxl wrap it), or None."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _quiet(unraisable) -> None:
    """An unraisable-exception hook that says nothing (see :func:`replace_file`)."""


def write_failed(exc: BaseException, path: Path, what: str = "cannot write the file", *,
                 kept: bool = True) -> WriteFailedError:
    """A one-line, located error for a failed write (full disk, read-only file or folder...)."""
    err = _os_error(exc)
    if err is not None:
        reason = _WRITE_REASONS.get(err.errno) or (err.strerror or str(err))
    else:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    tail = "; the old file (if any) was kept unchanged" if kept else "; nothing was changed"
    return WriteFailedError(f"{what}: {reason}{tail}", file=str(path))


def check_writable(path: str | os.PathLike) -> None:
    """Refuse (:class:`WriteFailedError`) a file marked read-only (no write bit), even for root.

    A user who marks a workbook read-only protects it; crmkit honours that as
    Excel does, instead of replacing it through the folder.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222:
        raise WriteFailedError(msg("e_read_only"), file=str(p))


def replace_file(path: str | os.PathLike, produce: Callable[[Path], None], *,
                 workspace: str | os.PathLike | None = None, keep_backups: int = DEFAULT_BACKUPS,
                 verify: bool = True, wait: float | None = None) -> Path:
    """Atomically replace ``path`` with what ``produce(tmp_path)`` writes.

    The temporary file is created exclusively in the same folder (so the
    rename is atomic, and a planted file or link is never followed; see
    :func:`temp_path`), is fsynced and, for .xlsx, checked to be a readable
    zip before it replaces the old file.  The old version is kept as a
    backup.  Refuses (:class:`FileLockedError`) while the file is open in
    Excel/LibreOffice, after waiting up to ``wait`` seconds.  If anything
    fails, or the process is killed, the old file is untouched; a full disk
    or a read-only file or folder gives :class:`WriteFailedError` naming the
    file.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()          # replace the file the link points to, keep the link
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failed(exc, path.parent, "cannot create the folder", kept=False) from None
    if path.is_dir():
        raise WorkbookError(msg("e_folder_not_file"), file=str(path))
    check_writable(path)
    check_not_open(path, wait=wait)
    clean_stale_temps(path.parent)
    try:
        tmp = temp_path(path)
    except OSError as exc:
        raise write_failed(exc, path, "cannot create a file in this folder") from None
    try:
        try:
            produce(tmp)
            st = os.lstat(tmp)
            if not stat.S_ISREG(st.st_mode):
                raise WorkbookError("the temporary file was replaced by something else while it was written; "
                                    "the old file was kept", file=str(path))
            if path.exists():
                with contextlib.suppress(OSError):
                    shutil.copymode(path, tmp)     # the new version keeps the old one's permissions
            else:
                with contextlib.suppress(OSError):
                    os.chmod(tmp, 0o666 & ~_umask())
            with open(tmp, "rb+") as fh:
                fh.flush()
                os.fsync(fh.fileno())
        except CrmkitError:
            raise
        except UnicodeError as exc:          # a broken character (a lone UTF-16 surrogate) in a value
            text = getattr(exc, "object", "")
            start = getattr(exc, "start", 0)
            near = text[max(0, start - 20):start + 20] if isinstance(text, str) else ""
            raise WriteFailedError(
                "cannot write the file: a value holds a broken character (half of a UTF-16 pair, e.g. from "
                f"a damaged file) near {near.encode('utf-8', 'backslashreplace').decode('ascii', 'backslashreplace')!r}; "
                "correct that value; the old file (if any) was kept unchanged", file=str(path)) from None
        except Exception as exc:
            if _os_error(exc) is None:
                raise
            failure = write_failed(exc, path)
            hook, sys.unraisablehook = sys.unraisablehook, _quiet
        else:
            failure = None
        if failure is not None:
            # the writer's half-closed zip file complains again when it is collected: not to the user
            try:
                gc.collect()
            finally:
                sys.unraisablehook = hook
            raise failure
        if verify and path.suffix.lower() in (".xlsx", ".xlsm"):
            try:
                with zipfile.ZipFile(tmp) as zf:
                    bad = zf.testzip()
            except zipfile.BadZipFile:
                bad = "not a zip archive"
            if bad is not None:
                raise WorkbookError(msg("e_new_file_damaged", detail=bad), file=str(path))
        check_not_open(path, wait=wait)
        try:
            backup(path, workspace, keep_backups)
        except OSError as exc:
            raise write_failed(exc, path, "cannot keep a backup of the old version") from None
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise write_failed(exc, path, "cannot replace the file") from None
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return path
