"""Every message and print of the CLI in the workspace's language (issue 14, "Chinese all the way").

A zh workspace (Settings ``language``) or ``--lang zh`` (before or after the
command) shows every command's success text and its typical errors in
Chinese: the text holds Chinese characters and no run of three English words
outside file paths, quoted values, options, IDs and codes.  The same commands
on an en workspace stay English.  The log sheets of log.xlsx hold labels in
the workspace language and read back as codes.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.exceptions import ExpressionError, FileLockedError, WorkbookError
from crmkit.i18n import current_lang, msg, using_lang
from crmkit.schema import ENTITIES
from crmkit.workspace import open_workspace

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")


def english_left(text: str) -> list[str]:
    """Runs of 3+ English words outside quoted values, paths and options."""
    s = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"|“[^”\n]*”|`[^`\n]*`", " ", text)   # quoted values, names, commands
    s = re.sub(r"\S*[/\\]\S*", " ", s)                                      # paths
    s = re.sub(r"--[\w-]+", " ", s)                                          # options
    return ENGLISH_RUN.findall(s)


def assert_chinese(text: str) -> None:
    assert text.strip(), "no output"
    assert CJK.search(text), text
    assert english_left(text) == [], (english_left(text), text)


def assert_english(text: str) -> None:
    """English, apart from quoted values (a Chinese header or name) and paths."""
    assert text.strip(), "no output"
    bare = re.sub(r"'[^'\n]*'|\S*[/\\]\S*", " ", text)
    assert not CJK.search(bare), text


def cli(capsys, *args: str) -> tuple[int, str]:
    """Run the CLI in process: (exit code, stdout + stderr)."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def zh_sample(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("zh") / "ws"
    assert main(["sample", str(folder), "--customers", "60", "--lang", "zh"]) == 0
    return folder


@pytest.fixture
def zh_ws(zh_sample, tmp_path) -> Path:
    folder = tmp_path / "工作区"
    shutil.copytree(zh_sample, folder, ignore=shutil.ignore_patterns(".crmkit"))
    return folder


def _source_csv(path: Path) -> Path:
    """A lead list as a sales team types it; one lead has a source that is not on the list."""
    path.write_text("客户名称,联系人,手机,客户来源,建档日期\n"
                    "杭州新客科技有限公司,周一,13900139001,展会,2026-11-01\n"
                    "宁波远航贸易有限公司,吴二,13900139002,朋友介绍,2026-11-02\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- success paths

def test_init_prints_chinese_in_the_language_it_creates(tmp_path, capsys):
    code, out = cli(capsys, "init", tmp_path / "新工作区", "--lang", "zh")
    assert code == 0 and "已创建工作区" in out
    assert_chinese(out)


def test_every_command_of_a_zh_workspace_prints_chinese(zh_ws, tmp_path, capsys):
    src = _source_csv(tmp_path / "线索.csv")
    commands = [
        ("validate", zh_ws),
        ("import", src, "--into", zh_ws, "--dry-run"),
        ("import", src, "--into", zh_ws, "--report", tmp_path / "导入报告.xlsx"),
        ("dedupe", zh_ws),
        ("dedupe", zh_ws, "--apply"),
        ("rfm", zh_ws),
        ("run", zh_ws, "--dry-run"),
        ("run", zh_ws),
        ("report", zh_ws),
        ("export", zh_ws, "--out", tmp_path / "客户.xlsx"),
        ("templates", "--refresh", zh_ws),
    ]
    for args in commands:
        code, out = cli(capsys, *args)
        assert code in (0, 1), (args, out)
        assert "Traceback" not in out
        assert_chinese(out)


def test_run_prints_channels_and_ids_in_chinese_not_codes(zh_ws, capsys):
    code, out = cli(capsys, "run", zh_ws, "--dry-run")
    lines = [ln for ln in out.splitlines() if re.search(r"\bM\d{6}\b", ln)]
    assert lines, out
    assert not any(re.search(r"\b(email|sms|wecom)\b", ln) for ln in lines), lines


def test_validate_of_an_import_source_lists_the_allowed_values_in_chinese(tmp_path, capsys):
    src = _source_csv(tmp_path / "线索.csv")
    code, out = cli(capsys, "--lang", "zh", "validate", src)
    assert "朋友介绍" in out
    source = ENTITIES["customers"].field("source").enum
    assert source.labels("zh")[0] in out and source.labels("en")[0] not in out
    assert_chinese(out)
    code, out = cli(capsys, "validate", src.rename(tmp_path / "leads.csv"))   # no workspace, no --lang: English
    assert source.labels("en")[0] in out
    assert_english(out)


def test_report_workbooks_of_validate_and_import_have_chinese_summary_keys(zh_ws, tmp_path, capsys):
    src = _source_csv(tmp_path / "线索.csv")
    cli(capsys, "validate", zh_ws, "--report", tmp_path / "校验.xlsx")
    cli(capsys, "import", src, "--into", zh_ws, "--dry-run", "--report", tmp_path / "导入.xlsx")
    for name in ("校验.xlsx", "导入.xlsx"):
        book = openpyxl.load_workbook(tmp_path / name, read_only=True)
        summary = book["汇总"]
        keys = [r[0] for r in summary.iter_rows(values_only=True) if r and r[0]]
        assert keys, name
        assert all(CJK.search(str(k)) for k in keys), (name, keys)
        book.close()


def test_log_sheets_hold_chinese_labels_and_read_back_as_codes(zh_ws, capsys):
    assert cli(capsys, "run", zh_ws)[0] == 0
    book = openpyxl.load_workbook(zh_ws / "log.xlsx", read_only=True)
    rule_log = list(book["规则日志"].iter_rows(values_only=True))
    head = [str(h).rstrip(" *") for h in rule_log[0]]
    actions = {r[head.index("动作")] for r in rule_log[1:]}
    entities = {r[head.index("对象")] for r in rule_log[1:]}
    assert "发送消息" in actions and "queue_message" not in actions
    assert entities <= {"客户", "商机", "工单", "任务", "订单", "跟进记录", "产品"}     # 产品: R13, low stock
    history = list(book["变更历史"].iter_rows(values_only=True))
    head = [str(h).rstrip(" *") for h in history[0]]
    fields = {r[head.index("字段")] for r in history[1:]}
    assert "负责人" in fields and "owner" not in fields
    book.close()
    ws = open_workspace(zh_ws)
    assert "queue_message" in set(ws["rule_log"]["action"])
    assert set(ws["rule_log"]["entity"].dropna()) <= set(ENTITIES)
    assert "owner" in set(ws["history"]["field"])


def test_a_log_written_with_codes_before_labels_still_reads(tmp_path):
    from crmkit.templates import write_workspace

    folder = write_workspace(tmp_path / "old", {}, lang="zh")
    log = tmp_path / "old" / "log.xlsx"
    book = openpyxl.load_workbook(log)
    sheet = book["规则日志"]
    head = [str(c.value).rstrip(" *") for c in sheet[1]]
    row = [None] * len(head)
    for k, v in {"运行编号": "r1", "时间": "2026-11-20 10:00", "规则编号": "R01A", "对象": "customers",
                 "记录编号": "C00001", "动作": "assign_owner", "结果": "done"}.items():
        row[head.index(k)] = v
    sheet.append(row)
    book.save(log)
    got = open_workspace(folder)["rule_log"]
    assert list(got["action"]) == ["assign_owner"] and list(got["entity"]) == ["customers"]


# --------------------------------------------------------------------------- errors

def test_typical_errors_of_a_zh_workspace_are_chinese(zh_ws, tmp_path, capsys):
    cases = []
    cases.append(cli(capsys, "init", zh_ws, "--lang", "zh"))                       # exists
    cases.append(cli(capsys, "sample", zh_ws, "--lang", "zh"))                     # exists
    cases.append(cli(capsys, "rfm", zh_ws, "--as-of", "某天"))                      # bad --as-of
    cases.append(cli(capsys, "export", zh_ws, "--where", 'stage == "lead" and ('))  # syntax error
    cases.append(cli(capsys, "export", zh_ws, "--where", "无此字段 > 3"))              # unknown field
    cases.append(cli(capsys, "export", zh_ws, "--columns", "无此列"))                  # unknown column
    cases.append(cli(capsys, "export", zh_ws, "--out", tmp_path / "x.csv", "--format", "xlsx"))
    cases.append(cli(capsys, "run", zh_ws, "--bogus"))                             # click: no such option
    cases.append(cli(capsys, "export", zh_ws, "--format", "pdf"))                   # click: bad choice
    lock = zh_ws / "~$customers.xlsx"
    lock.write_bytes(b"owner")
    cases.append(cli(capsys, "rfm", zh_ws))                                         # open in Excel
    lock.unlink()
    for code, out in cases:
        assert code in (1, 2), out
        assert "Traceback" not in out
        assert_chinese(out)
    assert "“(”没有闭合" in cases[3][1] and "位置" in cases[3][1]
    assert "--bogus" in cases[7][1] and "xlsx、csv" in cases[8][1]
    assert "Excel" in cases[9][1] and "~$customers.xlsx" in cases[9][1]


def test_chart_refusal_and_corrupt_workbook_are_chinese(zh_ws, capsys):
    book = zh_ws / "customers.xlsx"
    with zipfile.ZipFile(book, "a") as zf:
        zf.writestr("xl/charts/chart1.xml", "<c:chartSpace/>")
    code, out = cli(capsys, "rfm", zh_ws)
    assert code == 2 and "图表" in out
    assert_chinese(out)
    book.write_bytes(book.read_bytes()[:2000])
    code, out = cli(capsys, "rfm", zh_ws)
    assert code == 2 and "已损坏" in out
    assert_chinese(out)


def test_rule_syntax_and_parameter_errors_in_a_run_are_chinese(zh_ws, capsys):
    ws = open_workspace(zh_ws)
    rules = ws["rules"].copy()
    rules.loc[rules.index[0], "when"] = 'stage == "lead" and ('
    rules.loc[rules.index[1], "params"] = "tag"
    ws.replace("rules", rules)
    ws.save(["rules"])
    code, out = cli(capsys, "run", zh_ws, "--dry-run")
    assert code == 1
    errors = [ln for ln in out.splitlines() if "规则错误" in ln]
    assert len(errors) == 2, out
    assert "没有闭合" in errors[0] and "位置" in errors[0]
    assert "参数" in errors[1]
    assert_chinese(out)


def test_commands_without_a_workspace_speak_the_lang_option(tmp_path, capsys):
    missing = tmp_path / "没有这个"
    for args in (("--lang", "zh", "validate", missing), ("validate", missing, "--lang", "zh"),
                 ("--lang", "zh", "rfm", missing), ("dashboard", missing, "--lang", "zh", "--no-browser"),
                 ("--lang", "zh", "import", tmp_path / "无.csv", "--into", missing)):
        code, out = cli(capsys, *args)
        assert code == 2, out
        assert_chinese(out)


def test_lang_en_overrides_a_zh_workspace(zh_ws, capsys):
    code, out = cli(capsys, "--lang", "en", "rfm", zh_ws, "--as-of", "someday")
    assert code == 2 and "not a date" in out
    assert_english(out)


# --------------------------------------------------------------------------- English stays English

def test_an_en_workspace_stays_english(tmp_path, capsys):
    folder = tmp_path / "en"
    code, out = cli(capsys, "init", folder)
    assert code == 0 and out.startswith("created workspace")
    for args in (("init", folder), ("rfm", folder, "--as-of", "someday"),
                 ("export", folder, "--where", 'stage == "lead" and ('), ("validate", folder), ("run", folder),
                 ("rfm", folder)):
        code, out = cli(capsys, *args)
        assert "Traceback" not in out
        assert_english(out)
    (folder / "~$customers.xlsx").write_bytes(b"owner")
    code, out = cli(capsys, "rfm", folder)
    assert code == 2 and "is open in Excel" in out
    assert_english(out)


# --------------------------------------------------------------------------- the mechanism

def test_an_error_keeps_english_for_code_and_shows_in_the_current_language():
    err = FileLockedError(msg("e_open_in_excel", lock="~$a.xlsx"), file="a.xlsx", sheet="客户", row=3,
                          column="phone")
    assert err.message.startswith("the workbook is open in Excel")
    assert str(err).startswith("a.xlsx, sheet '客户', row 3, column 'phone': the workbook is open")
    with using_lang("zh"):
        assert current_lang() == "zh"
        assert str(err).startswith("文件 a.xlsx，工作表“客户”，第 3 行，列“phone”：该工作簿正在 Excel")
    assert current_lang() == "en"
    plain = WorkbookError("some text from another part", file="b.xlsx")
    with using_lang("zh"):
        assert str(plain) == "文件 b.xlsx：some text from another part"


def test_expression_error_names_its_position_in_chinese():
    from crmkit.rules.compiler import compile_expression

    with pytest.raises(ExpressionError) as info:
        compile_expression("intent_level == ", fields="customers", rule_id="R99")
    assert info.value.message == "syntax error" and info.value.position
    with using_lang("zh"):
        text = str(info.value)
    assert text.startswith("规则 R99：语法错误（位置") and "表达式" in text


def test_every_message_has_english_and_chinese():
    from crmkit.i18n import TEXT

    for key, (en, zh) in TEXT.items():
        assert isinstance(en, str) and isinstance(zh, str), key
        if key.startswith(("e_", "cli_", "place_", "expr_", "sum_", "w:")) and en.strip():
            assert zh.strip(), key
            en_names, zh_names = set(re.findall(r"\{(\w*)\}", en)), set(re.findall(r"\{(\w*)\}", zh))
            assert all(n.endswith("_zh") for n in zh_names - en_names), key   # a Chinese name of a parameter


def test_a_frame_of_history_with_mixed_codes_and_labels_reads_as_codes():
    from crmkit.logsheets import to_codes, to_labels

    hist = pd.DataFrame({"entity": ["deals", "商机", "Customers", None], "field": ["stage", "商机阶段", "Owner", "x"],
                         "old": ["lead", "初步接触", None, "a"], "new": ["won", "成交", "王", "b"]})
    codes = to_codes("history", hist.copy())
    assert list(codes["entity"].fillna("-")) == ["deals", "deals", "customers", "-"]
    assert list(codes["field"]) == ["stage", "stage", "owner", "x"]
    assert list(codes["old"].fillna("-")) == ["lead", "lead", "-", "a"]
    labels = to_labels("history", codes, "zh")
    assert list(labels["field"])[:3] == ["商机阶段", "商机阶段", "负责人"]


def test_output_path_and_settings_refusals_speak_chinese_in_a_zh_workspace(zh_ws, capsys):
    code, out = cli(capsys, "export", zh_ws, "--entity", "客户", "--out", zh_ws / "customers.xlsx")
    assert code == 2 and "工作区" in out and "覆盖" in out
    assert english_left(out) == [], out
    book = openpyxl.load_workbook(zh_ws / "rules.xlsx")
    book[book.sheetnames[[n in ("设置", "Settings") for n in book.sheetnames].index(True)]].append(
        ["timezone", "Mars/Olympus"])
    book.save(zh_ws / "rules.xlsx")
    code, out = cli(capsys, "rfm", zh_ws)
    assert code == 1 and "不是有效的时区" in out
    assert english_left(out) == [], out
    code, out = cli(capsys, "rfm", zh_ws, "--lang", "en")
    assert "not a time zone" in out


def test_no_catalogue_key_is_defined_twice():
    """A second definition of a key would silently replace the first: every key has one home."""
    import ast
    import collections

    import crmkit.i18n

    tree = ast.parse(Path(crmkit.i18n.__file__).read_text(encoding="utf-8"))
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and node.keys and all(isinstance(k, ast.Constant) for k in node.keys) \
                and all(isinstance(v, ast.Tuple) and len(v.elts) == 2 for v in node.values):
            keys += [k.value for k in node.keys]
    assert len(keys) > 500
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []
