"""Sample workspaces on disk: :func:`generate_workspace`, its marker, :func:`summary_text`.

The tables of :func:`crmkit.sample.generator.generate_tables` are written into
the blank workbooks of :mod:`crmkit.templates` through the safe write path;
``.crmkit/sample.json`` records how the workspace was made.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..exceptions import WorkspaceExists
from ..i18n import msg, t
from ..io.reading import find_sheet, open_reader
from ..schema import ENTITIES, WORKBOOKS, workbook_file
from ..settings import check_lang
from ..templates import write_workspace
from ..workspace import open_workspace
from .draw import Progress
from .generator import generate_tables

#: Marker written into workspaces made by this package (``crmkit demo`` may replace them).
MARKER = Path(".crmkit") / "sample.json"


def generate_workspace(directory: str | os.PathLike, customers: int = 500, seed: int = 7, lang: str = "en", *,
                       orders_per_customer: float | None = None, overwrite: bool = False,
                       progress: bool = False, as_of: object = None, purpose: str = "sample") -> Path:
    """Generate a sample workspace in ``directory`` and return its path.

    Refuses (:class:`WorkspaceExists`) when the folder already holds a
    workspace, unless ``overwrite``.  The five workbooks are written through
    the safe write path; ``progress`` prints timings on stderr.  ``purpose``
    is recorded in the marker (``crmkit demo`` only ever replaces folders
    whose purpose is "demo").
    """
    folder = Path(directory)
    lang = check_lang(lang)
    if folder.exists() and not folder.is_dir():
        raise WorkspaceExists(msg("e_exists_not_folder"), file=str(folder))
    found = [workbook_file(w) for w in WORKBOOKS if (folder / workbook_file(w)).exists()]
    if found and not overwrite:
        raise WorkspaceExists(msg("e_sample_exists", found=", ".join(found)), file=str(folder))
    say = Progress(progress)
    tables = generate_tables(customers, seed=seed, lang=lang, orders_per_customer=orders_per_customer,
                             as_of=as_of, progress=progress)
    say(msg("p_generated"))
    write_tables(folder, tables, lang, progress=progress)
    marker = folder / MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"generator": "crmkit.sample", "purpose": purpose,
                                  "customers": int(customers), "seed": seed,
                                  "lang": lang, "orders_per_customer": orders_per_customer,
                                  "as_of": str(tables["settings"].set_index("key").loc["as_of", "value"])},
                                 indent=1), encoding="utf-8")
    say(msg("p_done"))
    return folder


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], lang: str, *, progress: bool = False) -> None:
    """Write every workbook of the workspace (entities missing from ``tables`` come from the blank template)."""
    say = Progress(progress)
    write_workspace(folder, tables, lang=lang, demo=False, written=lambda file, rows, seconds: say(
        msg("p_written", file=file, rows=f"{rows:,}", seconds=f"{seconds:.1f}")))


def sample_marker(folder: str | os.PathLike) -> dict | None:
    """What the generator recorded about a workspace it made (``.crmkit/sample.json``), else None."""
    try:
        data = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("generator") == "crmkit.sample" else None


def is_sample_workspace(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a workspace this module generated (it carries the marker)."""
    return sample_marker(folder) is not None


def summary_text(path: str | os.PathLike) -> str:
    """A short summary of a workspace: rows per sheet, as_of and language, in its language."""
    ws = open_workspace(path)
    lang = ws.lang
    as_of = ws.settings.get("as_of")
    when = pd.Timestamp(as_of).strftime("%Y-%m-%d %H:%M") if as_of is not None and not pd.isna(as_of) \
        else t("sample_now", lang)
    lines = [t("sample_summary", lang).format(path=str(ws.path), lang=t("lang_" + lang, lang), as_of=when)]
    for wb, keys in WORKBOOKS.items():
        file = ws.file(wb)
        if not file.exists():
            continue
        reader = open_reader(file)
        parts = []
        for key in keys:
            ent = ENTITIES[key]
            name = find_sheet(reader.sheet_names, ent)
            rows = 0
            if name is not None:
                sheet = reader.load_sheet(name, n_rows=1, dtypes="string")
                rows = max(int(sheet.total_height), 0)
            parts.append(f"{ent.sheet_name(lang)} {rows:,}")
        lines.append(f"  {workbook_file(wb):<16} " + (" · ".join(parts)))
    return "\n".join(lines)
