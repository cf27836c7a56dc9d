"""The ``crmkit`` command line: a thin wrapper over the Python API.

Exit codes (DESIGN §7): 0 ok; 1 the data has problems; 2 bad usage or
unreadable input.  Errors print one line on stderr naming the place, never a
traceback.  ``--json`` prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from .exceptions import CrmkitError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def emit(payload: dict, as_json: bool, text: str | None = None) -> None:
    """Print the result: one JSON object, or the human text."""
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, default=str, sort_keys=False))
    elif text is not None:
        click.echo(text)


def progress_enabled() -> bool:
    """Progress bars only on a terminal (stderr)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="crmkit")
@click.option("--wait", "wait", type=click.FloatRange(0, 3600), default=None, metavar="SECONDS",
              help="Wait up to SECONDS for a workbook open in Excel or another crmkit run, "
                   "instead of refusing at once (also $CRMKIT_WAIT).")
def cli(wait: float | None = None) -> None:
    """crmkit: an Excel-first CRM. Validate, import, de-duplicate, automate, score and report."""
    from .safety import set_default_wait

    set_default_wait(wait)


# --------------------------------------------------------------------------- foundation

@cli.command()
@click.argument("directory", type=click.Path(file_okay=True, dir_okay=True, path_type=Path))
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of headers, values and README sheets.")
@click.option("--sample", is_flag=True, help="Fill the new workspace with realistic sample data.")
def init(directory: Path, lang: str, sample: bool) -> None:
    """Create a workspace in DIRECTORY (refuses to overwrite an existing one)."""
    from .templates import init_workspace

    path = init_workspace(directory, lang, sample=sample)
    click.echo(f"created workspace {path} ({lang}){' with sample data' if sample else ''}")


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--customers", "n_customers", type=click.IntRange(1, 2_000_000), default=500, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same workspace.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--orders-per-customer", type=click.FloatRange(0.1, 100), default=None,
              help="Average orders per customer (default about 6).")
@click.option("--force", is_flag=True, help="Replace the workbooks of an existing workspace.")
def sample(directory: Path, n_customers: int, seed: int, lang: str, orders_per_customer: float | None,
           force: bool) -> None:
    """Generate a realistic, reproducible sample workspace in DIRECTORY."""
    from .sample import generate_workspace, summary_text

    path = generate_workspace(directory, customers=n_customers, seed=seed, lang=lang,
                              orders_per_customer=orders_per_customer, overwrite=force,
                              progress=progress_enabled())
    click.echo(summary_text(path))


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("crm-demo"), show_default=True)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--customers", "n_customers", type=int, default=500, show_default=True)
@click.option("--serve/--no-serve", default=False, help="Serve the dashboards when done.")
@click.option("--port", type=int, default=8866, show_default=True)
def demo(directory: Path, lang: str, n_customers: int, serve: bool, port: int) -> None:
    """Build a sample workspace, run the rules and RFM, and (with --serve) open the dashboards."""
    from .demo import run_demo

    run_demo(directory, lang=lang, customers=n_customers, serve=serve, port=port)


# --------------------------------------------------------------------------- validate / import / dedupe

@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the issues to this Excel file, bad cells highlighted.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def validate(path: Path, report: Path | None, as_json: bool) -> int:
    """Check a workspace, a workbook or a file to import: required fields, types, enumerations,
    phones, e-mails, dates, IDs, references, duplicates and completeness."""
    from .validate import validate_path, write_report

    rep = validate_path(path)
    if report is not None:
        write_report(report, rep.issues, rows=rep.rows, completeness=rep.completeness, lang=rep.lang,
                     incomplete=rep.incomplete,
                     summary={"path": str(path), "errors": rep.errors, "warnings": rep.warnings,
                              "duplicate_groups": rep.duplicates})
    payload = rep.to_json()
    if report is not None:
        payload["report"] = str(report)
    emit(payload, as_json, rep.text())
    return 0 if rep.ok else 1


@cli.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--into", "into", type=click.Path(path_type=Path), required=True, help="The workspace folder.")
@click.option("--entity", default="customers", show_default=True,
              type=click.Choice(["customers", "interactions", "orders", "deals", "tasks", "tickets", "campaigns",
                                 "messages", "team"]))
@click.option("--sheet", default=None, help="Sheet to read (default: the one whose header fits best).")
@click.option("--dry-run", is_flag=True, help="Show what would happen; write nothing.")
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write rejected and flagged rows to this Excel file, bad cells highlighted.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def import_(source: Path, into: Path, entity: str, sheet: str | None, dry_run: bool, report: Path | None,
            as_json: bool) -> int:
    """Import SOURCE (.xlsx, .xlsm or .csv, UTF-8 or GBK) into a workspace: header found below
    title rows, columns matched in English or Chinese, values normalised, duplicates merged."""
    from .importer import import_file

    res = import_file(source, into, entity=entity, dry_run=dry_run, report=report, sheet=sheet,
                      progress=progress_enabled())
    emit(res.summary(), as_json, res.text())
    return res.exit_code


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--apply", "apply_", is_flag=True, help="Merge the groups (default: only show them).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def dedupe(directory: Path, apply_: bool, as_json: bool) -> None:
    """Find duplicate customers (same phone, e-mail, or company and contact); --apply merges them."""
    from .dedupe import dedupe_workspace, groups_text

    res = dedupe_workspace(directory, apply=apply_)
    payload = res.summary()
    payload["groups_detail"] = res.groups_detail()
    emit(payload, as_json, groups_text(res, directory))


# --------------------------------------------------------------------------- RFM and reports

@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="Score as of this date (default: Settings' as_of, else now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: as_of, customers, segments.")
def rfm(directory: Path, as_of: str | None, as_json: bool) -> None:
    """Score customers by RFM and write scores, segment and value tier into Customers."""
    from .rfm import apply_rfm, summary_payload, summary_text
    from .workspace import open_workspace

    ws = open_workspace(directory)
    when = ws.as_of(as_of)
    scores = apply_rfm(ws, when)
    emit(summary_payload(scores, when), as_json, summary_text(scores, when, ws.lang))


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--period", type=click.Choice(["week", "month"]), default="month", show_default=True)
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="The period ends at this date (default: Settings' as_of, else now).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Report file (default DIR/reports/report-<period>-<date>.xlsx).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: path, period, as_of, kpis.")
def report(directory: Path, period: str, as_of: str | None, out: Path | None, as_json: bool) -> None:
    """Write the weekly or monthly Excel report (KPIs against targets, charts, tables)."""
    from .i18n import t
    from .report import report_payload, write_report
    from .workspace import open_workspace

    ws = open_workspace(directory)
    path, tables = write_report(ws, period, ws.as_of(as_of), out, return_tables=True)
    payload = report_payload(path, tables)
    lang = ws.lang
    emit(payload, as_json, f"{t('rep_written', lang)}: {payload['path']}\n"
                           f"{t('rep_on_target', lang)}: {payload['on_target']}/{payload['with_target']}")


@cli.command("export")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--entity", default="customers", show_default=True,
              help="Sheet to export: customers, interactions, orders, deals, tasks, tickets, ...")
@click.option("--where", "where", default=None, help='Filter in the rule language, e.g. \'intent_level == "A"\'.')
@click.option("--columns", "columns", multiple=True,
              help="Columns to export, keys or headers, separated by commas (default: every input column).")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default=None,
              help="File format (default: from --out, else xlsx).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output file (default: DIR/reports/<entity>-<time>.<format>).")
@click.option("--unmasked", is_flag=True, help="Show full phone numbers and e-mails.")
@click.option("--as-of", "as_of", default=None, help="'Now' for time-based filters (days_since ...).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def export_cmd(directory: Path, entity: str, where: str | None, columns: tuple[str, ...], fmt: str | None,
               out: Path | None, unmasked: bool, as_of: str | None, as_json: bool) -> None:
    """Export a filtered table of DIRECTORY to Excel or CSV, in the workspace language."""
    from .export import export
    from .i18n import t
    from .workspace import open_workspace

    ws = open_workspace(directory)
    res = export(ws, entity, out, where=where, columns=list(columns) or None, fmt=fmt,
                 unmasked=True if unmasked else None, as_of=as_of)
    emit(res.to_dict(), as_json, t("export_done", ws.lang).format(rows=res.rows, columns=len(res.columns),
                                                                 file=res.path))


@cli.command()
@click.option("--refresh", "refresh", type=click.Path(path_type=Path), default=None,
              help="Add new sheets, columns (custom fields) and dropdowns to the workspace DIR, keeping its data.")
@click.option("--force", is_flag=True, help="With --refresh: rewrite every crmkit workbook (styles, dropdowns).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Without --refresh: write the blank templates (en/ and zh/) into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def templates(refresh: Path | None, force: bool, out: Path | None, as_json: bool) -> None:
    """Refresh a workspace to the current templates (--refresh DIR), or write the blank templates."""
    from .i18n import t
    from .templates import TEMPLATE_DIR, refresh_workspace, write_templates

    if refresh is not None:
        from .workspace import open_workspace

        lang = open_workspace(refresh).lang
        report = refresh_workspace(refresh, force=force)
        lines = []
        for wb, r in report.items():
            what = [*(f"{t('sheet', lang)} {s}" for s in r["sheets"]),
                    *(f"{e}: {', '.join(cols)}" for e, cols in r["columns"].items())]
            lines.append(f"{wb}.xlsx: {t('refresh_added', lang)} " + ("; ".join(what) if what else "-"))
        from .fields import field_problems

        problems = field_problems(open_workspace(refresh))
        emit({"workspace": str(refresh), "workbooks": report,
              "field_problems": [{"file": p.file, "sheet": p.sheet, "row": p.row, "column": p.column,
                                  "value": p.value, "reason": p.reason} for p in problems]}, as_json,
             "\n".join(lines) if lines else t("refresh_nothing", lang))
        for p in problems:
            click.echo(f"crmkit: warning: {p.file}, sheet '{p.sheet}', row {p.row}, column '{p.column}': "
                       f"{p.reason}; this custom field is left out", err=True)
        return
    written = write_templates(out or TEMPLATE_DIR)
    emit({"written": [str(p) for p in written]}, as_json, "\n".join(str(p) for p in written))


@cli.command("run")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", default=None, help="Run as of this date/time (default: Settings as_of, else now).")
@click.option("--dry-run", is_flag=True, help="Show exactly what would happen, per rule and per record; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--wait", type=click.FloatRange(0, 3600), default=None,
              help="Seconds to wait for another run on the same workspace to finish (default: refuse at once).")
def run_cmd(directory: Path, as_of: str | None, dry_run: bool, as_json: bool, wait: float | None) -> int:
    """Run the automation rules of the workspace in DIRECTORY (derived fields first)."""
    from .rules.engine import format_result, run_rules
    from .workspace import open_workspace

    ws = open_workspace(directory)
    result = run_rules(ws, as_of=as_of, dry_run=dry_run, wait=wait, progress=progress_enabled() and not as_json)
    payload = result.summary()
    if dry_run:
        payload["planned"] = result.planned()
    emit(payload, as_json, format_result(result, ws.lang, per_record=dry_run))
    return 1 if result.errors else 0


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(1, 65535), default=8866, show_default=True,
              help="Port on 127.0.0.1 to serve the dashboards on.")
@click.option("--no-browser", is_flag=True, help="Do not open the landing page in a web browser.")
def dashboard(directory: Path, port: int, no_browser: bool) -> int:
    """Serve the five dashboards of DIRECTORY with Voila on 127.0.0.1 (Ctrl-C stops)."""
    from .dashboard import serve

    return serve(directory, port=port, open_browser=not no_browser)


def _interrupted() -> int:
    """Ctrl-C: one line, no traceback (a save is all-or-nothing: crmkit.journal)."""
    from .i18n import t

    with contextlib.suppress(Exception):
        click.echo(f"crmkit: {t('interrupted', _cli_lang())}", err=True)
    return 130


def _cli_lang() -> str:
    """The language for a message printed outside any command: $CRMKIT_LANG or $LANG (zh*), else en."""
    for var in ("CRMKIT_LANG", "LC_ALL", "LANG"):
        v = os.environ.get(var, "")
        if v:
            return "zh" if v.lower().startswith("zh") else "en"
    return "en"


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the CLI and maps errors to exit codes without tracebacks."""
    try:
        rv = cli.main(args=argv, prog_name="crmkit", standalone_mode=False)
    except CrmkitError as exc:
        click.echo(f"crmkit: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            return _interrupted()
        click.echo("crmkit: aborted", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return 2
    except Exception as exc:  # noqa: BLE001 - never show a traceback to a user
        if os.environ.get("CRMKIT_DEBUG"):
            raise
        click.echo(f"crmkit: unexpected error: {type(exc).__name__}: {exc} "
                   "(set CRMKIT_DEBUG=1 for details)", err=True)
        return 2
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
