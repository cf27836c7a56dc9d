"""Output files: which files crmkit may overwrite, and which paths it must refuse.

Every command that writes an output file (``export --out``, ``report
--out``, ``validate --report``, ``import --report``) checks its path with
:func:`check_output_path` before it starts: never a workbook of a
workspace, its ``.crmkit`` folder or a file the command reads, and no other
existing file unless crmkit wrote it as output and nobody changed it since
(:func:`is_crmkit_output`: the :data:`OUTPUT_PROPERTY` mark of an Excel
file, or the fingerprint kept in ``.crmkit/outputs.json`` for a CSV file).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from ..exceptions import CrmkitError, OutputPathError
from ..i18n import msg
from ..schema import WORKBOOKS, workbook_file
from .archive import check_archive, element_text
from .contents import MARKER
from .safety import STATE_DIR, TEMP_SUFFIX, sha256_of, state_dir

#: The custom document property every Excel file crmkit writes as *output* (an export, a report,
#: a validation or import report) carries; its value says which kind.  An existing file is
#: overwritten without ``--force`` only when it carries this property and nobody has saved it
#: since (its core "modified" time still equals "created").
OUTPUT_PROPERTY = "crmkit_output"
#: CSV files carry no properties: crmkit records the SHA-256 of each CSV it writes in
#: ``.crmkit/outputs.json`` of the workspace; an unchanged one may be overwritten.
OUTPUTS_MANIFEST = "outputs.json"
_MANIFEST_MAX = 500


def mark_output(workbook, kind: str) -> None:
    """Mark an xlsxwriter workbook as crmkit's output (:data:`OUTPUT_PROPERTY` = ``kind``)."""
    workbook.set_custom_property(OUTPUT_PROPERTY, str(kind))


def _norm(p: Path) -> str:
    """A path with links resolved, compared without regard to case (as Windows and macOS do)."""
    return os.path.normcase(str(Path(p).expanduser().resolve())).casefold()


def _is_workspace_folder(folder: Path) -> bool:
    """Does ``folder`` hold a workspace: two of its workbooks, or one carrying crmkit's workspace mark?"""
    try:
        present = {p.name.casefold(): p for p in folder.iterdir()}
    except OSError:
        return False
    found = [present[n] for n in (workbook_file(w).casefold() for w in WORKBOOKS) if n in present]
    if len(found) >= 2:
        return True
    for p in found:
        try:
            with zipfile.ZipFile(p) as zf:
                check_archive(p, zf)
                core = zf.read("docProps/core.xml")
        except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError, CrmkitError):
            continue
        if b">" + MARKER.encode() + b"<" in core and not is_crmkit_output(p):
            return True
    return False


def _workspace_files(workspace: Path) -> set[str]:
    return {_norm(workspace / workbook_file(w)) for w in WORKBOOKS}


def _manifest(workspace: Path) -> Path:
    return state_dir(workspace) / OUTPUTS_MANIFEST


def _read_manifest(workspace: Path) -> dict[str, str]:
    try:
        data = json.loads(_manifest(workspace).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_output(path: str | os.PathLike, workspace: str | os.PathLike | None) -> None:
    """Remember the fingerprint of an output file crmkit just wrote (for CSV files, which carry no mark)."""
    if workspace is None:
        return
    ws = Path(workspace)
    if not ws.is_dir():
        return
    with contextlib.suppress(OSError):
        data = _read_manifest(ws)
        data.pop(_norm(Path(path)), None)
        data[_norm(Path(path))] = sha256_of(Path(path))
        while len(data) > _MANIFEST_MAX:
            data.pop(next(iter(data)))
        target = _manifest(ws)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{OUTPUTS_MANIFEST}.{os.getpid()}-", suffix=TEMP_SUFFIX,
                                   dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def is_crmkit_output(path: str | os.PathLike, workspace: str | os.PathLike | None = None) -> bool:
    """Is the existing file ``path`` an output crmkit wrote, unchanged since?

    An Excel file: it carries the custom property :data:`OUTPUT_PROPERTY` and
    its "modified" time is still its "created" time (Excel and LibreOffice
    change it when they save).  Any file written for a workspace: its
    SHA-256 is the one crmkit recorded in the workspace's
    ``.crmkit/outputs.json`` when it wrote it (this decides when recorded).
    """
    p = Path(path)
    if workspace is not None:
        recorded = _read_manifest(Path(workspace)).get(_norm(p))
        if recorded:                   # crmkit wrote it here: it is ours exactly while it is unchanged
            try:
                return sha256_of(p) == recorded
            except OSError:
                return False
    try:
        with zipfile.ZipFile(p) as zf:
            check_archive(p, zf)
            names = set(zf.namelist())
            if "docProps/custom.xml" not in names or "docProps/core.xml" not in names:
                return False
            custom = zf.read("docProps/custom.xml")
            core = zf.read("docProps/core.xml")
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError, CrmkitError):
        return False
    if f'name="{OUTPUT_PROPERTY}"'.encode() not in custom:
        return False
    created = element_text(core, b"dcterms:created")
    modified = element_text(core, b"dcterms:modified")
    return bool(created and modified and created.strip() == modified.strip())


def check_output_path(path: str | os.PathLike, *, workspace: str | os.PathLike | None = None,
                      inputs: Iterable[str | os.PathLike] = (), force: bool = False,
                      option: str = "--out") -> Path:
    """Refuse an output path that would destroy the user's data; return the path.

    Every command that writes an output file (``export --out``, ``report
    --out``, ``validate --report``, ``import --report``) checks its path here
    before it starts.  Refused (:class:`OutputPathError`, exit 2):

    * a workbook of a workspace (``customers.xlsx``, ``tasks.xlsx``,
      ``campaigns.xlsx``, ``rules.xlsx``, ``log.xlsx`` of ``workspace``, or
      of any folder that is a workspace), or a file in its ``.crmkit``
      folder, links resolved and letter case ignored, even with ``force``;
    * a file the command reads (``inputs``), even with ``force``;
    * any other existing file that crmkit did not write as output
      (:func:`is_crmkit_output`), unless ``force``.
    """
    p = Path(path)
    try:
        target = _norm(p)
        resolved = Path(p).expanduser().resolve()
    except (OSError, RuntimeError) as exc:        # a link loop
        raise OutputPathError(msg("e_out_resolve", option=option, detail=str(exc)), file=str(p)) from None
    if resolved.is_dir():
        raise OutputPathError(msg("e_out_is_folder", option=option), file=str(p))
    workspaces = [Path(workspace)] if workspace is not None and Path(workspace).is_dir() else []
    if _is_workspace_folder(resolved.parent):
        workspaces.append(resolved.parent)
    for ws in workspaces:
        if target in _workspace_files(ws):
            raise OutputPathError(msg("e_out_workspace", option=option, workspace=str(ws)), file=str(p))
        state = _norm(state_dir(ws))
        if target.startswith(state + os.sep.casefold()) or target == state:
            raise OutputPathError(msg("e_out_state", option=option, folder=STATE_DIR), file=str(p))
    for src in inputs:
        if src is None:
            continue
        s = Path(src)
        same = _norm(s) == target
        if not same and s.exists() and resolved.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(s, resolved)
        if same:
            raise OutputPathError(msg("e_out_input", option=option), file=str(p))
    if resolved.exists() and not force and not any(is_crmkit_output(resolved, ws) for ws in workspaces or [None]):
        raise OutputPathError(msg("e_out_foreign", option=option), file=str(p))
    return p
