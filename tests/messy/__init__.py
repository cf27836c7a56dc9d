"""A corpus of messy import sources, built by code (never committed as binary files).

Each :class:`Case` builds one source file in a folder and says what importing
it must do: the counts of the import JSON, the exit code, and fragments of
the messages a user must see (issue reasons for rows, the error line for
files that cannot be read).  ``existing`` customers are put in the target
workspace first; ``settings`` override its Settings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xlsxwriter

EN_HEADER = ["Customer name", "Contact", "Phone", "E-mail", "Source", "Created"]
ZH_HEADER = ["客户名称", "联系人", "联系电话", "电子邮箱", "客户来源", "建档日期"]


@dataclass
class Case:
    name: str
    build: Callable[[Path], Path]
    counts: dict = field(default_factory=dict)     # expected subset of the import JSON
    exit_code: int = 0
    messages: tuple[str, ...] = ()                 # fragments of issue reasons / the error line
    entity: str = "customers"
    existing: dict | None = None                   # entity -> DataFrame put in the workspace first
    settings: dict | None = None
    check: Callable | None = None                  # extra check(ws_dir, payload)


def xlsx(path: Path, rows: list[list], *, sheet: str = "Sheet1", title: str | None = None,
         blank_before: int = 0, merge_title: int = 0, extra_sheets: dict | None = None) -> Path:
    """An .xlsx whose sheet holds ``rows`` (after optional title and blank rows).

    Values that are datetimes are written as real Excel dates.
    """
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    datef = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, other in (extra_sheets or {}).items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(other):
            for j, v in enumerate(row):
                if v is not None:
                    ws.write(i, j, v)
    ws = wb.add_worksheet(sheet)
    r = 0
    if title:
        if merge_title:
            ws.merge_range(0, 0, 0, merge_title, title)
        else:
            ws.write_string(0, 0, title)
        r = 1
    r += blank_before
    for row in rows:
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(r, j, v, datef)
            elif isinstance(v, str):
                ws.write_string(r, j, v)
            else:
                ws.write(r, j, v)
        r += 1
    wb.close()
    return path


def csv_bytes(rows: list[list], sep: str = ",") -> str:
    def cell(v):
        s = "" if v is None else str(v)
        return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in (sep, '"', "\n")) else s
    return "\n".join(sep.join(cell(v) for v in row) for row in rows) + "\n"


def csv_file(path: Path, rows: list[list], *, encoding: str = "utf-8", sep: str = ",") -> Path:
    text = csv_bytes(rows, sep)
    if encoding == "utf-8-sig":
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    elif encoding == "utf-16":
        path.write_bytes(text.encode("utf-16"))
    else:
        path.write_bytes(text.encode(encoding))
    return path


def zh_rows(n: int = 3) -> list[list]:
    data = [
        ["华星科技有限公司", "张伟", "13800138001", "zhangwei@huaxing.cn", "官网表单", "2024-05-01"],
        ["远航贸易", "李娜", "13900139002", "lina@yuanhang.com", "展会", "2024/5/2"],
        ["青松教育", "王芳", "13700137003", "wangfang@qingsong.cn", "客户推荐", "2024年5月3日"],
        ["蓝海医疗", "赵磊", "13600136004", "zhaolei@lanhai.cn", "线上推广", "2024-05-04"],
    ]
    return [ZH_HEADER] + data[:n]


def en_rows(n: int = 3) -> list[list]:
    data = [
        ["Northwind Ltd", "Ann Lee", "+8613800138011", "ann@northwind.com", "website form", "2024-05-01"],
        ["Contoso", "Bob Ma", "13900139012", "bob@contoso.com", "trade show", "2024-05-02"],
        ["Fabrikam", "Cai Yu", "13700137013", "cai@fabrikam.com", "referral", "2024-05-03"],
    ]
    return [EN_HEADER] + data[:n]


def existing_customers() -> dict:
    return {"customers": pd.DataFrame({
        "customer_id": ["C00001", "C00002"],
        "name": ["老客户甲", "老客户乙"],
        "contact_name": ["钱七", "孙八"],
        "phone": ["+8613800138000", "+8613900139000"],
        "email": ["qian@old.cn", "sun@old.cn"],
        "source": ["referral", "trade_show"],
        "created_at": pd.to_datetime(["2023-01-01", "2023-02-01"]),
        "tags": ["vip", None],
    })}


def _ole2(path: Path) -> Path:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)
    return path


def _corrupt_zip(path: Path) -> Path:
    good = xlsx(path.with_name("tmp_good.xlsx"), en_rows())
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    good.unlink()
    return path


CASES: list[Case] = [
    Case("clean_english_xlsx", lambda d: xlsx(d / "clean.xlsx", en_rows()),
         counts={"source_rows": 3, "imported": 3, "rejected": 0, "merged": 0}),
    Case("chinese_headers_xlsx", lambda d: xlsx(d / "zh.xlsx", zh_rows(4), sheet="客户名单"),
         counts={"source_rows": 4, "imported": 4, "rejected": 0}),
    Case("title_row_merged_cells", lambda d: xlsx(d / "title.xlsx", zh_rows(3), title="2024年5月展会客户名单",
                                                  merge_title=5, blank_before=1),
         counts={"source_rows": 3, "imported": 3, "header_row": 3}),
    Case("several_title_rows_text", lambda d: xlsx(d / "titles.xlsx", [["导出时间：2024-06-01"], ["销售一部"], []]
                                                   + zh_rows(2)),
         counts={"source_rows": 2, "imported": 2, "header_row": 4}),
    Case("header_synonyms", lambda d: xlsx(d / "syn.xlsx", [
        ["公司名称", "联系人姓名", "手机号", "邮箱", "渠道", "创建日期", "意向程度"],
        ["甲公司", "周一", "13800138021", "a@jia.cn", "官网", "2024-05-01", "A级"],
        ["乙公司", "吴二", "13800138022", "b@yi.cn", "转介绍", "2024-05-02", "高意向"]]),
         counts={"source_rows": 2, "imported": 2, "unmatched_columns": []}),
    Case("full_width_digits", lambda d: xlsx(d / "fw.xlsx", [ZH_HEADER,
        ["全角公司", "郑三", "１３８００１３８０３１", "ｚｈｅｎｇ＠ｆｗ．ｃｎ", "官网表单", "２０２４－０５－０１"]]),
         counts={"imported": 1, "rejected": 0},
         check=lambda ws, p: _assert_customer(ws, "全角公司", phone="+8613800138031", email="zheng@fw.cn",
                                              created_at=pd.Timestamp("2024-05-01"))),
    Case("numbers_typed_as_numbers", lambda d: xlsx(d / "numbers.xlsx", [ZH_HEADER + ["客户编号"],
        ["数字公司", "林一", 13800138131, None, "展会", 45413, 1001]]),
         counts={"imported": 1},
         check=lambda ws, p: _assert_customer(ws, "数字公司", phone="+8613800138131", customer_id="1001")),
    Case("excel_serial_dates", lambda d: xlsx(d / "serial.xlsx", [ZH_HEADER,
        ["序列号日期", "钱四", "13800138041", None, "展会", 45413]]),
         counts={"imported": 1},
         check=lambda ws, p: _assert_customer(ws, "序列号日期", created_at=pd.Timestamp("2024-05-01"))),
    Case("real_excel_dates", lambda d: xlsx(d / "dates.xlsx", [ZH_HEADER,
        ["真日期", "孙五", "13800138051", None, "展会", dt.datetime(2024, 5, 1)]]),
         counts={"imported": 1},
         check=lambda ws, p: _assert_customer(ws, "真日期", created_at=pd.Timestamp("2024-05-01"))),
    Case("text_dates_many_forms", lambda d: xlsx(d / "tdates.xlsx", [ZH_HEADER,
        ["日期一", "", "13800138061", None, "展会", "2024/5/1"],
        ["日期二", "", "13800138062", None, "展会", "2024年5月1日"],
        ["日期三", "", "13800138063", None, "展会", "2024-05-01"],
        ["日期四", "", "13800138064", None, "展会", "20240501"]]),
         counts={"imported": 4, "rejected": 0},
         check=lambda ws, p: _assert_all_created(ws, pd.Timestamp("2024-05-01"))),
    Case("day_first_dates_by_setting", lambda d: csv_file(d / "dayfirst.csv", [EN_HEADER,
        ["Dayfirst Co", "Di", "13800138071", None, "referral", "02/05/2024"]]),
         counts={"imported": 1}, settings={"date_dayfirst": "yes"},
         check=lambda ws, p: _assert_customer(ws, "Dayfirst Co", created_at=pd.Timestamp("2024-05-02"))),
    Case("blank_rows_between", lambda d: xlsx(d / "blank.xlsx", [ZH_HEADER, zh_rows(2)[1], [], [None, None],
                                                                 zh_rows(2)[2], []]),
         counts={"source_rows": 2, "imported": 2, "blank_rows": 2}),
    Case("duplicate_phones_several_spellings", lambda d: csv_file(d / "dup_phone.csv", [ZH_HEADER,
        ["重复公司", "周六", "13800138081", None, "展会", "2024-05-01"],
        ["重复公司", "周六", "+86 138 0013 8081", "zhou@dup.cn", "", ""],
        ["重复公司（北京）", "", "138-0013-8081", None, "", ""],
        ["重复公司", "", "００８６１３８００１３８０８１", None, "", ""]]),
         counts={"source_rows": 4, "imported": 1, "merged": 3, "rejected": 0},
         check=lambda ws, p: _assert_customer(ws, "重复公司", email="zhou@dup.cn")),
    Case("duplicate_emails_case", lambda d: csv_file(d / "dup_mail.csv", [EN_HEADER,
        ["Mail Co", "Eve", None, "Eve@Mail.COM", "referral", "2024-05-01"],
        ["Mail Co", "Eve", None, "eve@mail.com", "referral", "2024-05-01"]]),
         counts={"imported": 1, "merged": 1}),
    Case("duplicate_company_and_contact", lambda d: csv_file(d / "dup_name.csv", [ZH_HEADER,
        ["华为技术有限公司", "张三", None, None, "展会", "2024-05-01"],
        ["华为技术", "张三", None, None, "展会", "2024-05-02"],
        ["华为技术", "李四", None, None, "展会", "2024-05-02"]]),
         counts={"imported": 2, "merged": 1}),
    Case("bad_emails", lambda d: csv_file(d / "bad_mail.csv", [EN_HEADER,
        ["Good", "G", None, "good@ok.com", "referral", "2024-05-01"],
        ["Bad1", "B", None, "bad@", "referral", "2024-05-01"],
        ["Bad2", "B", None, "x@@y.com", "referral", "2024-05-01"],
        ["Bad3", "B", None, "no at sign", "referral", "2024-05-01"]]),
         counts={"source_rows": 4, "imported": 4, "rejected": 0, "warnings": 3},   # kept as typed (issue 14)
         messages=("not a valid e-mail address", "bad@")),
    Case("bad_phones", lambda d: csv_file(d / "bad_phone.csv", [EN_HEADER,
        ["Short", "S", "12345", None, "referral", "2024-05-01"],
        ["Letters", "L", "call me", None, "referral", "2024-05-01"],
        ["Fine", "F", "010-12345678", None, "referral", "2024-05-01"]]),
         counts={"imported": 3, "rejected": 0, "warnings": 2}, messages=("not a valid phone number",),
         check=lambda ws, p: _assert_customer(ws, "Fine", phone="+861012345678")),
    Case("gbk_csv", lambda d: csv_file(d / "gbk.csv", zh_rows(3), encoding="gbk"),
         counts={"imported": 3, "encoding": "gb18030"}),
    Case("utf8_bom_csv", lambda d: csv_file(d / "bom.csv", zh_rows(3), encoding="utf-8-sig"),
         counts={"imported": 3, "encoding": "utf-8-sig"}),
    Case("utf8_csv_semicolons", lambda d: csv_file(d / "semi.csv", zh_rows(2), sep=";"),
         counts={"imported": 2}),
    Case("utf16_tab_text", lambda d: csv_file(d / "unicode.txt", zh_rows(2), encoding="utf-16", sep="\t"),
         counts={"imported": 2, "encoding": "utf-16"}),
    Case("csv_with_title_and_ragged_rows", lambda d: csv_file(d / "ragged.csv", [["客户导出"], []] + zh_rows(2)),
         counts={"imported": 2, "header_row": 3}),
    Case("header_only_csv", lambda d: csv_file(d / "header_only.csv", [ZH_HEADER]),
         counts={"source_rows": 0, "imported": 0}),
    Case("empty_xlsx_file", lambda d: _touch(d / "empty.xlsx"), exit_code=2, messages=("empty",)),
    Case("empty_csv_file", lambda d: _touch(d / "empty.csv"), exit_code=2, messages=("empty",)),
    Case("blank_lines_only_csv", lambda d: _write(d / "blank.csv", b"\n\n  \n"), exit_code=2,
         messages=("no data",)),
    Case("wrong_file_type", lambda d: _write(d / "notes.pdf", b"%PDF-1.4 not a table"), exit_code=2,
         messages=("unsupported file type",)),
    Case("xlsx_that_is_a_zip_of_nothing", lambda d: _write(d / "fake.xlsx", b"just some text, not a zip"),
         exit_code=2, messages=("corrupt",)),
    Case("corrupt_zip", lambda d: _corrupt_zip(d / "corrupt.xlsx"), exit_code=2, messages=("corrupt",)),
    Case("password_protected_workbook", lambda d: _ole2(d / "locked.xlsx"), exit_code=2,
         messages=("password",)),
    Case("workbook_saved_as_csv_name", lambda d: _rename(xlsx(d / "real.xlsx", en_rows()), "real.csv"),
         exit_code=2, messages=(".xlsx extension",)),
    Case("no_header_row", lambda d: csv_file(d / "numbers.csv", [[1, 2, 3], [4, 5, 6]]), exit_code=2,
         messages=("no header row",)),
    Case("unmatched_columns_kept", lambda d: csv_file(d / "extra.csv", [ZH_HEADER + ["微信号", "备用电话"],
        ["多列公司", "冯九", "13800138091", None, "展会", "2024-05-01", "wx_feng", "13900000000"]]),
         counts={"imported": 1, "unmatched_columns": ["微信号", "备用电话"]},
         check=lambda ws, p: _assert_customer(ws, "多列公司", **{"微信号": "wx_feng", "备用电话": "13900000000"})),
    Case("formula_injection_as_text", lambda d: csv_file(d / "inject.csv", [ZH_HEADER + ["备注"],
        ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(1)", "+8613800138101", None, "展会", "2024-05-01", "-1+2"]]),
         counts={"imported": 1}, check=lambda ws, p: _assert_text_cells(ws)),
    Case("missing_required_values", lambda d: csv_file(d / "missing.csv", [ZH_HEADER,
        ["", "无名", "13800138111", None, "展会", "2024-05-01"],
        ["无来源公司", "", "13800138112", None, "", "2024-05-01"],
        ["完整公司", "", "13800138113", None, "展会", ""]]),
         counts={"imported": 2, "rejected": 1}, exit_code=1, messages=("required value missing",)),
    Case("enumeration_synonyms_and_unknown", lambda d: csv_file(d / "enums.csv", [
        ["客户名称", "客户来源", "意向等级", "所属行业", "建档日期"],
        ["枚举一", "官网表单", "A级", "制造业", "2024-05-01"],
        ["枚举二", "website", "b", "汽车", "2024-05-01"]]),
         counts={"imported": 2, "rejected": 0, "warnings": 1}, messages=("kept as typed",),
         check=lambda ws, p: _assert_customer(ws, "枚举一", source="website_form", intent_level="A",
                                              industry="manufacturing")),
    Case("update_existing_by_id", lambda d: csv_file(d / "by_id.csv", [["客户编号", "客户名称", "电子邮箱", "标签"],
        ["C00001", "", "new@old.cn", "renewal"]]),
         existing=existing_customers(), counts={"updated": 1, "imported": 0, "history_rows": 1},
         # --update fill-blanks (the default): the existing e-mail stays, tags are unioned
         check=lambda ws, p: _assert_customer(ws, "老客户甲", email="qian@old.cn", tags="vip;renewal",
                                              customer_id="C00001")),
    Case("update_existing_by_phone", lambda d: csv_file(d / "by_phone.csv", [ZH_HEADER,
        ["老客户乙（新名）", "", "139 0013 9000", None, "", ""],
        ["新客户丙", "", "13700000001", None, "展会", "2024-05-01"]]),
         existing=existing_customers(), counts={"updated": 1, "imported": 1},
         # the same company (qualifier aside): matched by phone; fill-blanks keeps the existing name
         check=lambda ws, p: _assert_customer(ws, "老客户乙", customer_id="C00002",
                                              created_at=pd.Timestamp("2023-02-01"))),
    Case("repeated_header_row", lambda d: csv_file(d / "twice.csv", zh_rows(2) + [ZH_HEADER] + zh_rows(4)[4:]),
         counts={"source_rows": 4, "imported": 3, "rejected": 1}, exit_code=1, messages=("repeated header row",)),
    Case("data_on_second_sheet", lambda d: xlsx(d / "two.xlsx", zh_rows(2), sheet="数据",
                                                extra_sheets={"说明": [["本表为客户导出"], ["请勿修改"]]}),
         counts={"imported": 2, "sheet": "数据"}),
    Case("total_row_at_the_end", lambda d: xlsx(d / "total.xlsx", zh_rows(2) + [["合计", None, None, None, None, None]]),
         counts={"imported": 2, "rejected": 1}, exit_code=1),
    Case("two_phone_columns", lambda d: csv_file(d / "two_phones.csv", [
        ["客户名称", "手机", "电话", "客户来源", "建档日期"],
        ["双号公司", "13800138121", "010-12345678", "展会", "2024-05-01"]]),
         counts={"imported": 1, "unmatched_columns": ["电话"]}),
    Case("orders_with_unknown_customer", lambda d: csv_file(d / "orders.csv", [
        ["订单编号", "客户编号", "下单日期", "订单金额"],
        ["O1", "C00001", "2024-05-01", "1,200"],
        ["O2", "C99999", "2024-05-02", "300"],
        ["O3", "C00002", "2024-05-03", "一百"]]),
         entity="orders", existing=existing_customers(), counts={"imported": 1, "rejected": 2}, exit_code=1,
         messages=("does not exist", "not a number")),
]


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _rename(path: Path, name: str) -> Path:
    target = path.with_name(name)
    path.rename(target)
    return target


# --------------------------------------------------------------------------- checks

def _customers(ws_dir: Path) -> pd.DataFrame:
    from crmkit.workspace import open_workspace

    return open_workspace(ws_dir)["customers"]


def _assert_customer(ws_dir: Path, name: str, **expected) -> None:
    df = _customers(ws_dir)
    rows = df[df["name"] == name]
    assert len(rows) == 1, f"expected one customer named {name!r}, found {len(rows)}"
    row = rows.iloc[0]
    for k, v in expected.items():
        assert row[k] == v, f"{name}: {k} is {row[k]!r}, expected {v!r}"


def _assert_all_created(ws_dir: Path, when: pd.Timestamp) -> None:
    df = _customers(ws_dir)
    assert (df["created_at"] == when).all(), df["created_at"].tolist()


def _assert_text_cells(ws_dir: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(ws_dir / "customers.xlsx")
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    values = {h: ws.cell(row=2, column=j + 1) for j, h in enumerate(header)}
    for label in ("Customer name *", "Contact", "Phone", "Notes"):
        cell = values[label]
        assert cell.data_type == "s", f"{label}: {cell.value!r} stored as {cell.data_type}"
    assert values["Customer name *"].value.startswith("=HYPERLINK")
    assert values["Phone"].value == "+8613800138101"
    assert values["Notes"].value == "-1+2"
