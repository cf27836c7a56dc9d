"""Reading a run's plan: the short summary ``crmkit run --dry-run`` prints, and the full plan as a file.

A dry run over a real workspace plans thousands of actions; one line per
record drowns the few numbers that matter.  :func:`summary_text` gives, in
the workspace language, one line per rule, the counts by action and outcome,
what was not done and why (by reason), and a few examples;
:func:`write_plan` writes every planned action to an .xlsx or .csv file
(``crmkit run --dry-run --plan FILE``).  Text from the workbook (names,
titles) is stripped of control characters before it reaches a terminal.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..console import clean_text
from ..i18n import t
from ..schema import ACTION

__all__ = ["summary_text", "summary_counts", "plan_frame", "write_plan", "one_line"]

NOT_DONE = ("suppressed", "skipped", "failed")


def one_line(value: object) -> str:
    """``value`` as one line of terminal-safe text (:func:`crmkit.console.clean_text`, newlines and tabs as spaces)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return clean_text(str(value).replace("\n", " ").replace("\t", " "))


def totals_lines(result, s: dict, lang: str, show=one_line) -> list[str]:
    """The end of a run's summary: one line per rule error, then the totals (``show`` renders a message)."""
    lines = []
    for e in s["errors"]:
        pos = f" ({t('run_position', lang)} {e['position']})" if e.get("position") else ""
        lines.append(f"  {t('run_error', lang)} {e['rule_id']}: {show(e['message'])}{pos}")
    lines.append(f"{t('run_actions', lang)}: {s['actions']}, {t('run_suppressed', lang)}: {s['suppressed']}, "
                 f"{t('run_errors', lang)}: {len(s['errors'])}"
                 + ("" if not result.dry_run else f"  ({t('run_dry_note', lang)})"))
    return lines


def written_lines(result, lang: str) -> list[str]:
    """The line naming the workbooks a run wrote (none for a dry run)."""
    if not getattr(result, "written", None):
        return []
    return [f"{t('run_written', lang)}: " + ", ".join(Path(p).name for p in result.written)]


def _reasons(actions: pd.DataFrame, lang: str) -> pd.Series:
    """The reason of each action not done: its detail without the 'suppressed:' prefix, up to the first ': '."""
    detail = actions["detail"].astype("string").fillna("")
    prefix = t("run_suppressed", lang) + ": "
    detail = detail.where(~detail.str.startswith(prefix), detail.str.slice(len(prefix)))
    return detail.str.split(": ", n=1).str[0].str.strip()


def summary_counts(result, lang: str = "en") -> dict:
    """``by_action`` {action: {outcome: n}} and ``by_reason`` {reason: n} of a run's actions."""
    a = result.actions
    by_action: dict[str, dict[str, int]] = {}
    if len(a):
        g = a.groupby([a["action"].astype("string"), a["outcome"].astype("string")]).size()
        for (action, outcome), n in g.items():
            by_action.setdefault(str(action), {})[str(outcome)] = int(n)
    not_done = a[a["outcome"].isin(NOT_DONE).to_numpy()] if len(a) else a
    by_reason: dict[str, int] = {}
    if len(not_done):
        counts = _reasons(not_done, lang).value_counts()
        by_reason = {one_line(k) or "-": int(v) for k, v in counts.items()}
    return {"by_action": by_action, "by_reason": by_reason}


def summary_text(result, lang: str = "en", *, examples: int = 1, max_examples: int = 12,
                 max_reasons: int = 8, hint: bool = True) -> str:
    """A run (or dry run) in a screenful: per rule, by action, not done by reason, a few examples."""
    s = result.summary()
    head = t("run_dry_title" if result.dry_run else "run_title", lang)
    lines = [f"{head} {result.as_of:%Y-%m-%d %H:%M}"]
    for _, c in result.counts().iterrows():
        if not (c["done"] or c["suppressed"] or c["failed"]):
            continue
        lines.append(f"  {c['rule_id']:<6} {ACTION.label(c['action'], lang):<14} {c['done']:>6} {t('run_done', lang)}"
                     + (f", {c['suppressed']} {t('run_suppressed', lang)}" if c["suppressed"] else "")
                     + (f", {c['failed']} {t('run_failed', lang)}" if c["failed"] else "")
                     + f"  {one_line(c['name'])}")
    counts = summary_counts(result, lang)
    if counts["by_action"]:
        lines.append(f"{t('run_sum_by_action', lang)}:")
        for action, outs in sorted(counts["by_action"].items(), key=lambda kv: -sum(kv[1].values())):
            parts = [f"{n} {t('run_' + o, lang)}" for o, n in sorted(outs.items(), key=lambda kv: -kv[1])]
            lines.append(f"  {ACTION.label(action, lang):<14} " + ", ".join(parts))
    if counts["by_reason"]:
        lines.append(f"{t('run_sum_by_reason', lang)}:")
        reasons = list(counts["by_reason"].items())
        for reason, n in reasons[:max_reasons]:
            lines.append(f"  {n:>6}  {reason}")
        if len(reasons) > max_reasons:
            rest = sum(n for _, n in reasons[max_reasons:])
            lines.append("  " + t("run_sum_more", lang).format(n=rest))
    a = result.actions
    if len(a):
        sample = a.groupby("rule_id", sort=False).head(examples).head(max_examples)
        lines.append(f"{t('run_sum_examples', lang)}:")
        for rid, rec, out, det in zip(sample["rule_id"], sample["record_id"], sample["outcome"], sample["detail"]):
            lines.append(f"  {one_line(rid):<6} {one_line(rec)}: [{t('run_' + str(out), lang)}] {one_line(det)}")
    lines += totals_lines(result, s, lang, one_line)
    lines += written_lines(result, lang)
    if hint and len(a):
        lines.append(t("run_sum_full", lang))
    return "\n".join(lines)


def plan_frame(result, lang: str = "en") -> pd.DataFrame:
    """Every planned action, one row each, with headers and action / outcome labels in ``lang``.

    >>> plan_frame(run_rules(ws, dry_run=True), "zh").head()     # 规则编号, 规则名称, ... 对象
    """
    a = result.actions
    names = {r.rule_id: r.name for r in result.rules}

    def col(k: str) -> pd.Series:
        return a[k] if k in a.columns else pd.Series([None] * len(a), index=a.index)

    out = pd.DataFrame({
        t("plan_col_rule", lang): a["rule_id"].astype("string"),
        t("col_rule_name", lang): a["rule_id"].map(names).astype("string"),
        t("plan_col_entity", lang): col("entity").astype("string"),
        t("plan_col_record", lang): col("record_id").astype("string"),
        t("plan_col_customer", lang): col("customer_id").astype("string"),
        t("plan_col_action", lang): a["action"].map(lambda c: ACTION.label(str(c), lang)).astype("string"),
        t("col_outcome", lang): a["outcome"].map(lambda o: t("run_" + str(o), lang)).astype("string"),
        t("plan_col_detail", lang): col("detail").astype("string"),
        t("plan_col_target", lang): col("target").astype("string"),
    })
    return out.reset_index(drop=True)


def _defuse(s: pd.Series) -> pd.Series:
    """Cells a spreadsheet would run as a formula get a leading apostrophe (CSV only)."""
    s = s.astype("string")
    risky = s.str.match(r"^[=+\-@\t\r]").fillna(False)
    return s.where(~risky, "'" + s)


def write_plan(result, path: str | os.PathLike, lang: str = "en", *, workspace=None) -> Path:
    """Write every planned action to ``path`` (.xlsx or .csv, UTF-8 with BOM for Excel), atomically."""
    from ..exceptions import UsageError
    from ..io.safety import replace_file

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UsageError("the plan is written as .xlsx or .csv: give a file name ending in one of them",
                         file=str(path))
    frame = plan_frame(result, lang)

    def produce(target: Path) -> None:
        if suffix == ".csv":
            safe = frame.apply(_defuse)
            safe.columns = [str(_defuse(pd.Series([c])).iloc[0]) for c in frame.columns]
            safe.to_csv(target, index=False, encoding="utf-8-sig")
            return
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
        try:
            sh = wb.add_worksheet(t("run_dry_title", lang).split(" (")[0].split("（")[0][:31] or "Plan")
            head = wb.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF"})
            for j, name in enumerate(frame.columns):
                sh.write_string(0, j, str(name), head)
                values = frame[name].to_numpy(dtype=object, na_value=None)
                for i, v in enumerate(values, start=1):
                    if v is not None:
                        sh.write_string(i, j, str(v))
                sh.set_column(j, j, 40 if j == 7 else 16)
            sh.freeze_panes(1, 0)
            if len(frame):
                sh.autofilter(0, 0, len(frame), len(frame.columns) - 1)
        finally:
            wb.close()

    return replace_file(path, produce, workspace=workspace)
