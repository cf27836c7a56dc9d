"""``crmkit demo``: sample workspace -> rules -> RFM -> dashboards, in one go.

The demo builds a sample workspace (:mod:`crmkit.sample`) in a folder of its
own, prints what it holds, runs the automation rules and the RFM scoring and,
when asked, serves the dashboards.  When the rules or the RFM step fails,
the demo says so and goes on, so that it always shows what worked.

A folder is only ever replaced when crmkit's sample generator made it (it
carries the ``.crmkit/sample.json`` marker); any other non-empty folder is
left alone with a clear error.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pandas as pd

from .console import say
from .dashboard.server import serve as serve_dashboards
from .exceptions import WorkspaceExists
from .i18n import t
from .rfm import apply_rfm, summary_payload, summary_text
from .rules.engine import run_rules
from .settings import check_lang
from .workspace import open_workspace


def _say(text: str = "") -> None:
    say(text)


def _warn(text: str) -> None:
    say(text, err=True)


def prepare_folder(folder: Path, lang: str) -> bool:
    """Make ``folder`` ready for a fresh demo workspace, or refuse; True when it replaces an old demo.

    Empty or missing folders are fine.  A folder made by an earlier demo
    (its ``.crmkit/sample.json`` says so) is reused: crmkit's run state is
    cleared (backups are kept) and its workbooks will be replaced through the
    safe write path; any other file in it stays.  Any other non-empty folder
    raises :class:`WorkspaceExists`.
    """
    from .sample import sample_marker

    if not folder.exists():
        return False
    if not folder.is_dir():
        raise WorkspaceExists("exists and is not a folder", file=str(folder))
    if not any(folder.iterdir()):
        return False
    marker = sample_marker(folder)
    if not marker or marker.get("purpose") != "demo":
        raise WorkspaceExists(t("demo_not_sample", lang), file=str(folder))
    state = folder / ".crmkit"
    for item in state.iterdir() if state.is_dir() else ():
        if item.name in ("backups", "sample.json"):
            continue
        if item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)
    return True


def run_rules_step(path: Path, lang: str) -> dict | None:
    """Run the default rules on the demo workspace; the run summary, or None."""
    try:
        ws = open_workspace(path)
        result = run_rules(ws)
        if ws.dirty:
            ws.save()
        summary = result.summary()
    except Exception as exc:  # noqa: BLE001 - the demo goes on without this step
        _warn(t("demo_failed", lang).format(step=t("demo_step_rules", lang), reason=f"{type(exc).__name__}: {exc}"))
        return None
    errors = summary["errors"]
    _say(t("demo_rules", lang).format(
        as_of=pd.Timestamp(summary["as_of"]).strftime("%Y-%m-%d %H:%M"), actions=summary["actions"],
        suppressed=summary["suppressed"], errors=len(errors)))
    for err in errors[:10]:
        _warn(f"  {err}")
    by_rule = summary["by_rule"]
    if by_rule:
        _say(f"  {t('demo_by_rule', lang)}: " + ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items())))
    return summary


def run_rfm_step(path: Path, lang: str) -> dict | None:
    """Score customers by RFM and write the scores into Customers; the summary payload, or None."""
    try:
        ws = open_workspace(path)
        as_of = ws.as_of()
        scores = apply_rfm(ws)
        _say(summary_text(scores, as_of, lang))
        payload = summary_payload(scores, as_of)
    except Exception as exc:  # noqa: BLE001 - the demo goes on without this step
        _warn(t("demo_failed", lang).format(step=t("demo_step_rfm", lang), reason=f"{type(exc).__name__}: {exc}"))
        return None
    return payload


def run_demo(directory: str | os.PathLike = "crm-demo", *, lang: str = "en", customers: int = 500,
             serve: bool = False, port: int = 8866, seed: int = 7) -> dict:
    """Build the demo workspace, run rules and RFM, and optionally serve the dashboards.

    Returns what was done: ``{"path", "rules", "rfm"}`` (a step's entry is
    None when it was skipped).
    """
    from .sample import generate_workspace, summary_text

    lang = check_lang(lang)
    folder = Path(directory)
    replace = prepare_folder(folder, lang)
    _say(t("demo_building", lang).format(path=folder, n=f"{customers:,}"))
    generate_workspace(folder, customers=customers, seed=seed, lang=lang, overwrite=replace, purpose="demo",
                       progress=sys.stderr.isatty() and not os.environ.get("CI"))
    _say(summary_text(folder))
    _say()
    rules = run_rules_step(folder, lang)
    _say()
    scores = run_rfm_step(folder, lang)
    _say()
    result = {"path": str(folder), "rules": rules, "rfm": scores}
    if not serve:
        _say(t("demo_next", lang).format(path=folder))
        return result
    _say(t("demo_serve", lang).format(url=f"http://127.0.0.1:{port}/"))
    serve_dashboards(folder, port=port, open_browser=False)
    return result


__all__ = ["prepare_folder", "run_demo"]
