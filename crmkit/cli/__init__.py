"""The ``crmkit`` command line: a thin wrapper over the Python API.

Exit codes (DESIGN §7): 0 ok; 1 the data has problems; 2 bad usage or
unreadable input.  Errors print one line on stderr naming the place, never a
traceback.  ``--json`` prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import click

from ..console import emit, say
from ..exceptions import CrmkitError
from ..i18n import current_lang, lang_is_set, msg, reset_lang, set_lang, tr
from ..schema import ENTITIES, IMPORTABLE
from .clv import COMMANDS as CLV_COMMANDS
from .common import CONTEXT, issues_payload, progress_enabled, speaks_workspace, workspace_lang
from .delivery import COMMANDS as DELIVERY_COMMANDS
from .teamwork import COMMANDS as TEAMWORK_COMMANDS
from .users import COMMANDS as USER_COMMANDS


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="crmkit")
@click.option("--wait", "wait", type=click.FloatRange(0, 3600), default=None, metavar="SECONDS",
              help="Wait up to SECONDS for a workbook open in Excel or another crmkit run, "
                   "instead of refusing at once (also $CRMKIT_WAIT).")
@click.option("--lang", "lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language of messages and prints (default: the workspace's Settings language; "
                   "for init, sample and demo: their --lang).")
def cli(wait: float | None = None, lang: str | None = None) -> None:
    """crmkit: an Excel-first CRM. Validate, import, de-duplicate, automate, score and report."""
    from ..io.safety import set_default_wait

    set_default_wait(wait)
    if lang is not None:
        set_lang(lang)


# --------------------------------------------------------------------------- foundation

for _command in (*DELIVERY_COMMANDS, *TEAMWORK_COMMANDS, *USER_COMMANDS, *CLV_COMMANDS):
    cli.add_command(_command)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=True, dir_okay=True, path_type=Path))
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of headers, values and README sheets.")
@click.option("--sample", is_flag=True,
              help="Fill the new workspace with realistic sample data, a demo team and every default rule on "
                   "(default: blank, no team, the default rules as disabled examples).")
@click.option("--region", default=None, metavar="CC",
              help="Country of phone numbers written without +code (Settings phone_region), e.g. US, GB, CN; "
                   "'none': only numbers with +code are read. Default: CN for zh; for en asked on a terminal, "
                   "else none (such numbers are kept as typed and flagged).")
def init(directory: Path, lang: str, sample: bool, region: str | None) -> None:
    """Create a workspace in DIRECTORY (refuses to overwrite an existing one)."""
    from ..i18n import t
    from ..sample import generate_workspace
    from ..templates import check_new_workspace, init_workspace, phone_region_setting

    if not lang_is_set():
        set_lang(lang)
    if region is None and lang == "en" and not sample and sys.stdin.isatty():
        region = click.prompt(t("init_region_prompt", lang), default="none")
    if sample:
        phone_region_setting(lang, region)          # a bad --region is refused with --sample too
        path = generate_workspace(check_new_workspace(directory), lang=lang)
    else:
        path = init_workspace(directory, lang, region=region)
    say(tr(msg("cli_created_sample" if sample else "cli_created", path=str(path), lang=lang)))
    if not sample:
        say(t("init_next", lang))
    if not sample and phone_region_setting(lang, region) == "none":
        say(t("init_region_none", lang))


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
    from ..sample import generate_workspace, summary_text

    if not lang_is_set():
        set_lang(lang)
    path = generate_workspace(directory, customers=n_customers, seed=seed, lang=lang,
                              orders_per_customer=orders_per_customer, overwrite=force,
                              progress=progress_enabled())
    say(summary_text(path))


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("crm-demo"), show_default=True)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--customers", "n_customers", type=int, default=500, show_default=True)
@click.option("--serve/--no-serve", default=False, help="Serve the dashboards when done.")
@click.option("--port", type=int, default=8866, show_default=True)
def demo(directory: Path, lang: str, n_customers: int, serve: bool, port: int) -> None:
    """Build a sample workspace, run the rules and RFM, and (with --serve) open the dashboards."""
    from ..demo import run_demo

    if not lang_is_set():
        set_lang(lang)
    run_demo(directory, lang=lang, customers=n_customers, serve=serve, port=port)


# --------------------------------------------------------------------------- validate / import / dedupe

@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the issues to this Excel file, bad cells highlighted.")
@click.option("--force", is_flag=True, help="Replace an existing --report file that crmkit did not write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@speaks_workspace("path")
def validate(path: Path, report: Path | None, as_json: bool, force: bool = False) -> int:
    """Check a workspace, a workbook or a file to import: required fields, types, enumerations,
    phones, e-mails, dates, IDs, references, duplicates and completeness."""
    from ..io.outputs import check_output_path
    from ..validate import validate_path, write_report

    where = path if path.is_dir() else None
    if report is not None:          # before the work: never over the workspace or the file checked
        check_output_path(report, workspace=where, inputs=[path], force=force, option="--report")
    rep = validate_path(path)
    if report is not None:
        write_report(report, rep.issues, rows=rep.rows, completeness=rep.completeness, lang=rep.lang,
                     incomplete=rep.incomplete, workspace=where, inputs=[path], force=force,
                     summary={"path": str(path), "errors": rep.errors, "warnings": rep.warnings,
                              "duplicate_groups": rep.duplicates})
    payload = rep.to_json()
    if report is not None:
        payload["report"] = str(report)
    if as_json:
        payload.update(issues_payload(rep.issues))
    emit(payload, as_json, rep.text())
    return 0 if rep.ok else 1


@cli.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--into", "into", type=click.Path(path_type=Path), required=True, help="The workspace folder.")
@click.option("--entity", default="customers", show_default=True,
              help="Sheet to import into, in English or Chinese: "
                   + ", ".join(f"{k} ({ENTITIES[k].zh})" for k in IMPORTABLE) + ".")
@click.option("--sheet", default=None, help="Sheet to read (default: the one whose header fits best).")
@click.option("--map", "mapping", multiple=True,
              help='Column mapping, e.g. "Mobile=phone,email_work=email" (A+B=field joins two columns). Repeatable.')
@click.option("--save-map", "save_map", is_flag=True,
              help="Save the --map pairs in the ImportMap sheet (rules.xlsx); later imports reuse them.")
@click.option("--default", "defaults", multiple=True,
              help="Value for a field the file leaves blank or lacks, e.g. --default source=other. Repeatable. "
                   "Settings rows default_<field> give workspace-wide defaults.")
@click.option("--dry-run", is_flag=True, help="Show what would happen (and suggested mappings); write nothing.")
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write rejected and flagged rows to this Excel file, bad cells highlighted.")
@click.option("--force", is_flag=True, help="Replace an existing --report file that crmkit did not write.")
@click.option("--update", "update", type=click.Choice(["fill-blanks", "overwrite"]), default="fill-blanks",
              show_default=True,
              help="How a row changes the existing record it matches: fill its blank fields only, or let the "
                   "row's non-blank values replace them (History keeps the old values).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@speaks_workspace("into")
def import_(source: Path, into: Path, entity: str, sheet: str | None, mapping: tuple[str, ...], save_map: bool,
            defaults: tuple[str, ...], dry_run: bool, report: Path | None, force: bool, update: str,
            as_json: bool) -> int:
    """Import SOURCE (.xlsx, .xlsm or .csv, any common encoding) into a workspace: header found below
    title rows, columns matched in English or Chinese (or by --map), values normalised, duplicates merged.
    Orders go to the Parquet folder that Settings order_source names, when it names one."""
    from ..importer import import_file

    res = import_file(source, into, entity=entity, dry_run=dry_run, report=report, sheet=sheet,
                      progress=progress_enabled(), mapping=mapping, defaults=defaults, save_mapping=save_map,
                      force=force, update=update)
    payload = res.summary()
    text = res.text()
    if not dry_run:   # say which workbooks a real import wrote (none when nothing changed)
        from ..i18n import t

        written = [str(p) for p in getattr(res, "written", None) or []]
        payload["written"] = written
        text += "\n" + (f"{t('import_written', res.lang)}: {', '.join(written)}" if written
                        else t("import_nothing_written", res.lang))
    emit(payload, as_json, text)
    return res.exit_code


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--apply", "apply_", is_flag=True, help="Merge the groups (default: only show them).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@speaks_workspace("directory")
def dedupe(directory: Path, apply_: bool, as_json: bool) -> None:
    """Find duplicate customers (same phone, e-mail, or company and contact) and show which value each
    field would keep; --apply merges them (the oldest record stays, its blanks filled, notes appended)."""
    from ..merge import dedupe_workspace, groups_text

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
@speaks_workspace("directory")
def rfm(directory: Path, as_of: str | None, as_json: bool) -> None:
    """Score customers by RFM and write scores, segment and value tier into Customers."""
    from ..rfm import apply_rfm, summary_payload, summary_text
    from ..workspace import open_workspace

    ws = open_workspace(directory)
    when = ws.as_of(as_of)
    scores = apply_rfm(ws, when)
    emit(summary_payload(scores, when), as_json, summary_text(scores, when, current_lang()))


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--period", type=click.Choice(["week", "month"]), default=None,
              help="A calendar month, or a week from Monday to Sunday (default: month, or week with --week).")
@click.option("--month", "month", default=None, metavar="YYYY-MM",
              help="The month to report, e.g. 2026-11 (default: the last full month).")
@click.option("--week", "week", default=None, metavar="YYYY-Www",
              help="The ISO week to report, e.g. 2026-W47 (default: the last full week, Monday to Sunday).")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="The report time (default: Settings' as_of, else now); the period is the last full one before it.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Report file (default DIR/reports/report-<period>-<2026-10 or 2026-W46>.xlsx).")
@click.option("--force", is_flag=True, help="Replace an existing --out file that crmkit did not write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: path, period, as_of, kpis.")
@speaks_workspace("directory")
def report(directory: Path, period: str | None, month: str | None, week: str | None, as_of: str | None,
           out: Path | None, force: bool, as_json: bool) -> None:
    """Write the weekly or monthly Excel report (KPIs against targets, charts, tables)."""
    from ..i18n import t
    from ..report import report_payload, write_report
    from ..workspace import open_workspace

    period = period or ("week" if week is not None else "month")
    ws = open_workspace(directory)
    path, tables = write_report(ws, period, ws.as_of(as_of), out, return_tables=True, month=month, week=week,
                                force=force)
    payload = report_payload(path, tables)
    lang = current_lang()
    emit(payload, as_json, f"{t('rep_written', lang)}: {payload['path']}\n"
                           f"{t('rep_on_target', lang)}: {payload['on_target']}/{payload['with_target']}")


@cli.command("export")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--entity", default="customers", show_default=True,
              help="Sheet to export: customers, interactions, orders, deals, tasks, tickets, ...")
@click.option("--where", "where", default=None,
              help='Filter in the rule language, e.g. \'intent_level == "A"\' (a bad expression exits 2).')
@click.option("--columns", "columns", multiple=True,
              help="Columns to export, keys or headers, separated by commas (default: every input column).")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default=None,
              help="File format (default: from --out, else xlsx).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output file (default: DIR/reports/<entity>-<time>.<format>).")
@click.option("--unmasked", is_flag=True, help="Show full phone numbers and e-mails.")
@click.option("--as-of", "as_of", default=None, help="'Now' for time-based filters (days_since ...).")
@click.option("--force", is_flag=True, help="Replace an existing --out file that crmkit did not write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@speaks_workspace("directory")
def export_cmd(directory: Path, entity: str, where: str | None, columns: tuple[str, ...], fmt: str | None,
               out: Path | None, unmasked: bool, as_of: str | None, as_json: bool, force: bool = False) -> None:
    """Export a filtered table of DIRECTORY to Excel or CSV, in the workspace language."""
    from ..exceptions import ExpressionError, UsageError
    from ..export import export
    from ..i18n import t
    from ..workspace import open_workspace

    ws = open_workspace(directory)
    try:
        res = export(ws, entity, out, where=where, columns=list(columns) or None, fmt=fmt,
                     unmasked=True if unmasked else None, as_of=as_of, force=force)
    except ExpressionError as exc:   # a bad expression typed on the command line is bad usage: exit 2
        raise UsageError(f"--where: {exc}") from None
    emit(res.to_dict(), as_json, t("export_done", current_lang()).format(rows=res.rows, columns=len(res.columns),
                                                                 file=res.path))


@cli.command()
@click.option("--refresh", "refresh", type=click.Path(path_type=Path), default=None,
              help="Add new sheets, columns (custom fields) and dropdowns to the workspace DIR, keeping its data.")
@click.option("--force", is_flag=True, help="With --refresh: rewrite every crmkit workbook (styles, dropdowns).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Without --refresh: write the blank templates (en/ and zh/) into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@speaks_workspace("refresh")
def templates(refresh: Path | None, force: bool, out: Path | None, as_json: bool) -> None:
    """Refresh a workspace to the current templates (--refresh DIR), or write the blank templates."""
    from ..i18n import t
    from ..templates import TEMPLATE_DIR, refresh_workspace, write_templates

    if refresh is not None:
        from ..workspace import open_workspace

        lang = current_lang() if lang_is_set() else open_workspace(refresh).lang
        report = refresh_workspace(refresh, force=force)
        lines = []
        for wb, r in report.items():
            what = [*(f"{t('sheet', lang)} {s}" for s in r["sheets"]),
                    *(f"{e}: {', '.join(cols)}" for e, cols in r["columns"].items())]
            lines.append(f"{wb}.xlsx: {t('refresh_added', lang)} " + ("; ".join(what) if what else "-"))
        from ..fields import field_problems

        problems = field_problems(open_workspace(refresh))
        emit({"workspace": str(refresh), "workbooks": report,
              "field_problems": [{"file": p.file, "sheet": p.sheet, "row": p.row, "column": p.column,
                                  "value": p.value, "reason": p.reason} for p in problems]}, as_json,
             "\n".join(lines) if lines else t("refresh_nothing", lang))
        for p in problems:
            say(tr(msg("cli_field_left_out", file=p.file, sheet=p.sheet, row=p.row, column=p.column,
                       reason=p.reason)), err=True)
        return
    written = write_templates(out or TEMPLATE_DIR)
    emit({"written": [str(p) for p in written]}, as_json, "\n".join(str(p) for p in written))


@cli.command("run")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", default=None, help="Run as of this date/time (default: Settings as_of, else now).")
@click.option("--dry-run", is_flag=True, help="Show what would happen, per rule and per record; write nothing.")
@click.option("--summary/--full", "summary", default=None,
              help="Print a summary (counts by rule, action and reason, a few examples) or every planned "
                   "action (default: summary on a terminal, full otherwise).")
@click.option("--plan", "plan", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every planned action to this .xlsx or .csv file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with the full plan for --dry-run).")
@click.option("--wait", type=click.FloatRange(0, 3600), default=None,
              help="Seconds to wait for another run on the same workspace to finish (default: refuse at once).")
@speaks_workspace("directory")
def run_cmd(directory: Path, as_of: str | None, dry_run: bool, summary: bool | None, plan: Path | None,
            as_json: bool, wait: float | None) -> int:
    """Run the automation rules of the workspace in DIRECTORY (derived fields first)."""
    from ..readiness import checklist_text, enabled_rules, setup_checklist
    from ..rules.engine import format_result, run_rules
    from ..rules.summary import summary_counts, summary_text, write_plan
    from ..workspace import open_workspace

    ws = open_workspace(directory)
    lang = ws.lang
    todo = setup_checklist(ws)
    if len(enabled_rules(ws["rules"])) == 0:
        # a blank workspace: nothing to do yet, say what to fill in
        emit({"as_of": ws.as_of(as_of).isoformat(), "dry_run": dry_run, "actions": 0, "by_rule": {},
              "suppressed": 0, "errors": [], "checklist": [i.to_dict() for i in todo]}, as_json,
             checklist_text(todo, lang, nothing_enabled=True))
        return 0
    if not as_json:
        for item in todo:
            click.echo(f"crmkit: {t_('setup_note', lang)}: {item.text}", err=True)
    result = run_rules(ws, as_of=as_of, dry_run=dry_run, wait=wait, progress=progress_enabled() and not as_json)
    payload = result.summary()
    payload.update(summary_counts(result, lang))
    if todo:
        payload["checklist"] = [i.to_dict() for i in todo]
    if dry_run:
        payload["planned"] = result.planned()
    lang = current_lang()
    if plan is not None:
        payload["plan"] = str(write_plan(result, plan, lang, workspace=ws.path))
    if summary is None:
        summary = sys.stdout.isatty()
    if dry_run and summary:
        text = summary_text(result, lang)
    else:
        text = format_result(result, lang, per_record=dry_run and summary is False)
    if plan is not None:
        text += f"\n{t_('run_plan_written', lang)}: {payload['plan']}"
    emit(payload, as_json, text)
    return 1 if result.errors else 0


def t_(key: str, lang: str) -> str:
    from ..i18n import t

    return t(key, lang)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(1, 65535), default=8866, show_default=True,
              help="Port to serve the dashboards on.")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="Address to listen on. Anything but a loopback address (e.g. 0.0.0.0) needs --team.")
@click.option("--team", is_flag=True,
              help="Team mode: members sign in with the password set by `crmkit user DIR set-password NAME`; "
                   "a rep sees only their own records, a manager their team, an admin everything.")
@click.option("--secure-cookie", is_flag=True,
              help="With --team behind an HTTPS reverse proxy: send the session cookie over HTTPS only.")
@click.option("--session-hours", type=click.FloatRange(0.05, 24 * 30), default=None, metavar="HOURS",
              help="With --team: hours a sign-in lasts (default 8).")
@click.option("--no-browser", is_flag=True, help="Do not open the landing page in a web browser.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also answer requests for this host name (repeatable; Settings dashboard_allow_hosts). "
                   "By default only localhost, 127.0.0.1 and [::1] are answered (with --team and --host "
                   "another address: any name).")
@speaks_workspace("directory")
def dashboard(directory: Path, port: int, host: str, team: bool, secure_cookie: bool, session_hours: float | None,
              no_browser: bool, allow_hosts: tuple[str, ...]) -> int:
    """Serve the five dashboards and the forms of DIRECTORY with Voila (Ctrl-C stops).

    Without --team there is no login: the server listens on 127.0.0.1 only and refuses requests
    naming another host than localhost."""
    from ..dashboard.server import check_binding, serve

    check_binding(host, team)
    return serve(directory, port=port, open_browser=not no_browser, allow_hosts=allow_hosts, host=host,
                 team=team, secure_cookie=True if secure_cookie else None, session_hours=session_hours)


def _show_usage_error(exc: click.ClickException) -> None:
    """A usage error of click (an unknown option, a missing argument, a bad value) in the current language."""
    name = None
    if isinstance(exc, click.NoSuchOption):
        text = msg("cli_no_such_option", name=exc.option_name)
    elif isinstance(exc, click.MissingParameter) and exc.param is not None:
        name = exc.param.opts[0] if exc.param.opts and exc.param.param_type_name == "option" else exc.param.name.upper()
        text = msg("cli_missing", name=name)
    elif isinstance(exc, click.BadParameter) and exc.param is not None:
        name = exc.param.opts[0] if exc.param.opts and exc.param.param_type_name == "option" else exc.param.name.upper()
        if isinstance(exc.param.type, click.Choice):
            text = msg("cli_bad_choice", name=name, choices=tuple(map(str, exc.param.type.choices)))
        else:
            text = msg("cli_bad_value", name=name, detail=exc.message)
    else:
        text = msg("cli_usage_detail", detail=exc.format_message())
    ctx = getattr(exc, "ctx", None)
    click.echo(tr(msg("cli_usage", error=text)), err=True)
    if ctx is not None:
        click.echo(tr(msg("cli_help_hint", command=ctx.command_path)), err=True)


def _interrupted() -> int:
    """Ctrl-C: one line, no traceback (a save is all-or-nothing: crmkit.io.journal)."""
    from ..i18n import t

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
    """Entry point: runs the CLI and maps errors to exit codes without tracebacks.

    Messages show in the language ``--lang`` or the workspace chose (:mod:`crmkit.i18n`)."""
    token = set_lang(None)
    try:
        return _main(argv)
    finally:
        reset_lang(token)


def _main(argv: list[str] | None) -> int:
    try:
        rv = cli.main(args=argv, prog_name="crmkit", standalone_mode=False)
    except CrmkitError as exc:
        say(tr(msg("cli_error", error=str(exc))), err=True)
        return exc.exit_code
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            return _interrupted()
        say(tr(msg("cli_aborted")), err=True)
        return 2
    except click.ClickException as exc:
        if not lang_is_set():       # a usage error comes before the command learnt its workspace
            found = next((lang for a in (argv if argv is not None else sys.argv[1:])
                          if Path(a).exists() and (lang := workspace_lang(a))), None)
            if found:
                set_lang(found)
        if current_lang() == "en":
            buf = io.StringIO()
            exc.show(file=buf)
            say(buf.getvalue(), err=True, nl=False)
        else:
            _show_usage_error(exc)
        return exc.exit_code if exc.exit_code in (1, 2) else 2
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return 2
    except Exception as exc:  # noqa: BLE001 - never show a traceback to a user
        if os.environ.get("CRMKIT_DEBUG"):
            raise
        say(tr(msg("cli_unexpected", error=f"{type(exc).__name__}: {exc}")), err=True)
        return 2
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
