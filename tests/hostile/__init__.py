"""A corpus of hostile inputs, built by code (never committed as binary files).

Each :class:`Hostile` builds one file or workspace and says which commands to
run on it and which exit codes are acceptable.  Every one must end with a
located one-line error or a clean result: no traceback, no "unexpected
error", no hang, no control characters echoed to the terminal, and the input
left as it was.

The cases come from what users and attackers hand a spreadsheet tool:
broken and disguised containers, zip bombs, entity expansion, encodings that
do not decode, files that never end, cells and expressions built to exhaust
a parser, and workspaces damaged by hand.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

UNREADABLE = (2,)          # usage or unreadable input
DATA = (1,)                # the data has problems
CLEAN_OR_DATA = (0, 1)     # readable; problems, if any, are reported per row
ANY_CLEAN = (0, 1, 2)      # what matters is how it ends (one line, no traceback, in time)


@dataclass
class Hostile:
    name: str
    build: Callable[[Path, Path], Path]          # build(folder, good_workspace) -> the path to hand over
    commands: tuple[str, ...]                    # "validate", "import", "run", "rfm", ...
    codes: tuple[int, ...] = UNREADABLE
    subprocess: bool = False                     # run in a child process with a time limit (may block)
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers

CUSTOMER_HEADER = ["Customer ID", "Customer name", "Source", "Created"]


def plain_book(path: Path, rows: list[list], *, header: list[str] | None = None, sheet: str = "Customers",
               before: list[list] | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for r in before or []:
        ws.append(r)
    ws.append(header or CUSTOMER_HEADER)
    for r in rows:
        ws.append(r)
    book.save(path)
    return path


def good_rows(n: int = 3) -> list[list]:
    return [[f"C{i}", f"Company {i}", "referral", "2026-03-01"] for i in range(1, n + 1)]


def rezip(src: Path, dest: Path, replace: dict[str, bytes | None], add: dict[str, bytes] | None = None,
          compresslevel: int = 6) -> Path:
    """Copy the xlsx at ``src`` to ``dest`` with parts replaced (None drops a part) or added."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED,
                                                      compresslevel=compresslevel) as zout:
        for item in zin.infolist():
            if item.filename in replace:
                data = replace[item.filename]
                if data is not None:
                    zout.writestr(item.filename, data)
            else:
                zout.writestr(item, zin.read(item.filename))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dest


def base_book(folder: Path, name: str = "base.xlsx") -> Path:
    return plain_book(folder / name, good_rows())


def sheet_part(book: Path) -> str:
    with zipfile.ZipFile(book) as z:
        return next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def csv_text(rows: list[list], header: list[str] | None = None) -> str:
    lines = [",".join(header or CUSTOMER_HEADER)] + [",".join(map(str, r)) for r in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- containers

def empty_xlsx(folder, ws):
    return write(folder / "empty.xlsx", b"")


def empty_csv(folder, ws):
    return write(folder / "empty.csv", b"")


def random_bytes_xlsx(folder, ws):
    return write(folder / "noise.xlsx", os.urandom(4096))


def zip_of_text(folder, ws):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return write(folder / "zipped-text.xlsx", buf.getvalue())


def ole_container(folder, ws):
    # the signature of an OLE compound file: a password-protected xlsx or an old .xls
    return write(folder / "protected.xlsx", bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4088))


def old_xls(folder, ws):
    return write(folder / "legacy.xls", bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4088))


def html_as_xls(folder, ws):
    # many web CRMs "export to Excel" as an HTML table named .xls
    return write(folder / "export.xls", b"<html><body><table><tr><td>Customer name</td></tr>"
                                       b"<tr><td>Acme</td></tr></table></body></html>")


def truncated_zip(folder, ws):
    data = base_book(folder).read_bytes()
    return write(folder / "truncated.xlsx", data[: len(data) * 2 // 3])


def folder_named_xlsx(folder, ws):
    p = folder / "folder.xlsx"
    p.mkdir()
    return p


def symlink_loop(folder, ws):
    a, b = folder / "loop-a.xlsx", folder / "loop-b.xlsx"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def dangling_symlink(folder, ws):
    p = folder / "dangling.xlsx"
    p.symlink_to(folder / "nowhere.xlsx")
    return p


def fifo_csv(folder, ws):
    p = folder / "pipe.csv"
    os.mkfifo(p)
    return p


def dev_zero_csv(folder, ws):
    p = folder / "endless.csv"
    p.symlink_to("/dev/zero")
    return p


def dev_urandom_xlsx(folder, ws):
    p = folder / "endless.xlsx"
    p.symlink_to("/dev/urandom")
    return p


def zip_bomb(folder, ws):
    base = base_book(folder)
    part = sheet_part(base)
    cell = b"A" * (400 * 1024 * 1024)            # 400 MB of one letter compresses to ~400 KB
    xml = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
           b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>' + cell
           + b"</t></is></c></row></sheetData></worksheet>")
    return rezip(base, folder / "bomb.xlsx", {part: xml}, compresslevel=9)


def many_parts_zip(folder, ws):
    base = base_book(folder)
    return rezip(base, folder / "many-parts.xlsx", {}, add={f"junk/{i}.bin": b"" for i in range(20000)})


def billion_laughs(folder, ws):
    base = base_book(folder)
    laughs = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                                         for i in range(1, 10)]
    doctype = "<!DOCTYPE lolz [" + "".join(laughs) + "]>"
    sst = ('<?xml version="1.0"?>' + doctype + '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
           '2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    with zipfile.ZipFile(base) as z:
        names = z.namelist()
    target = "xl/sharedStrings.xml"
    if target in names:
        return rezip(base, folder / "laughs.xlsx", {target: sst.encode()})
    return rezip(base, folder / "laughs.xlsx", {}, add={target: sst.encode()})


def external_entity(folder, ws):
    base = base_book(folder)
    part = sheet_part(base)
    xml = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           '<row r="1"><c r="A1" t="inlineStr"><is><t>Customer name</t></is></c></row>'
           '<row r="2"><c r="A2" t="inlineStr"><is><t>&x;</t></is></c></row></sheetData></worksheet>')
    return rezip(base, folder / "xxe.xlsx", {part: xml.encode()})


def deep_xml(folder, ws):
    base = base_book(folder)
    part = sheet_part(base)
    xml = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + "<x>" * 200_000 + "</x>" * 200_000 + "</worksheet>")
    return rezip(base, folder / "deep.xlsx", {part: xml.encode()})


def missing_sheet_part(folder, ws):
    base = base_book(folder)
    return rezip(base, folder / "no-sheet-part.xlsx", {sheet_part(base): None})


def garbage_sheet_xml(folder, ws):
    base = base_book(folder)
    return rezip(base, folder / "garbage-sheet.xlsx", {sheet_part(base): os.urandom(2048)})


def chartsheet_only(folder, ws):
    book = openpyxl.Workbook()
    book.create_chartsheet("Customers")
    del book[book.sheetnames[0]]
    book.save(folder / "chartsheet.xlsx")
    return folder / "chartsheet.xlsx"


# --------------------------------------------------------------------------- text encodings and shapes

def utf16_odd(folder, ws):
    # a UTF-16 file cut one byte into a character
    return write(folder / "utf16-odd.csv", b"\xff\xfe" + csv_text(good_rows()).encode("utf-16-le") + b"A")


def invalid_utf8(folder, ws):
    return write(folder / "bad-utf8.csv", csv_text(good_rows()).encode() + b"C9,Caf\xc3\x28 Ltd,referral,2026-03-01\n")


def nul_bytes(folder, ws):
    return write(folder / "nul.csv", csv_text(good_rows()).encode().replace(b"Company 2", b"Comp\x00any 2"))


def unbalanced_quotes(folder, ws):
    return write(folder / "quotes.csv", (csv_text(good_rows()) + 'C9,"Open quote,referral,2026-03-01\n'
                                         + "C10,Fine,referral,2026-03-01\n").encode())


def header_only(folder, ws):
    return write(folder / "header-only.csv", (",".join(CUSTOMER_HEADER) + "\n").encode())


def binary_as_csv(folder, ws):
    return write(folder / "binary.csv", os.urandom(8192))


def wide_csv(folder, ws):
    header = CUSTOMER_HEADER + [f"extra{i}" for i in range(16000)]
    row = ["C1", "Wide Co", "referral", "2026-03-01"] + ["x"] * 16000
    return write(folder / "wide.csv", (",".join(header) + "\n" + ",".join(row) + "\n").encode())


def huge_cell(folder, ws):
    rows = good_rows() + [["C9", "Big note Co", "referral", "2026-03-01", "n" * 5_000_000]]
    return write(folder / "huge-cell.csv", csv_text(rows, CUSTOMER_HEADER + ["Notes"]).encode())


def long_line_no_newline(folder, ws):
    return write(folder / "one-line.csv", b"x" * 30_000_000)


def terminal_escapes(folder, ws):
    import xlsxwriter

    rows = [["C1", "\x1b]0;pwned\x07\x1b[2J\x1b[31mRed Co", "referral", "2026-03-01"],
            ["C2", "Bell\x07 Co\x9b2J", "\x1b[1mreferral", "2026-03-01"],
            ["C3", "\u202eoc emca", "referral", "2026-03-01"]]
    path = folder / "escapes.xlsx"
    book = xlsxwriter.Workbook(path)          # xlsxwriter stores control characters (as _xHHHH_)
    sheet = book.add_worksheet("Customers")
    for r, row in enumerate([CUSTOMER_HEADER] + rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return path


def utf8_with_bad_bytes(folder, ws):
    text = "客户编号,客户名称,客户来源,建档日期\nC1,华星科技,推荐,2026-03-01\nC2,上海明远,展会,2026-03-02\n"
    return write(folder / "bad-utf8-zh.csv", text.encode() + "C3,北京".encode() + b"\xe5\x28\xff" + ",推荐,2026-03-03\n".encode())


def formula_injection(folder, ws):
    rows = [["C1", '=HYPERLINK("http://evil.example","x")', "referral", "2026-03-01"],
            ["C2", "+cmd|' /C calc'!A0", "referral", "2026-03-01"],
            ["C3", "@SUM(1+1)*cmd|' /C calc'!A0", "referral", "2026-03-01"],
            ["C4", "-2+3+cmd|' /C calc'!A0", "=1+1", "2026-03-01"]]
    return write(folder / "inject.csv", csv_text([[c.replace(",", ";") for c in r] for r in rows]).encode())


def error_values(folder, ws):
    book = openpyxl.Workbook()
    sh = book.active
    sh.title = "Customers"
    sh.append(CUSTOMER_HEADER)
    sh.append(["C1", "=1/0", "referral", "=NA()"])
    sh.append(["C2", "Fine Co", "=#REF!", "2026-03-01"])
    book.save(folder / "errors.xlsx")
    return folder / "errors.xlsx"


def odd_dates(folder, ws):
    rows = [["C1", "Leap Co", "referral", 60], ["C2", "Neg Co", "referral", -5],
            ["C3", "Far Co", "referral", "9999-12-31"], ["C4", "Zero Co", "referral", 0],
            ["C5", "Huge Co", "referral", 1e308], ["C6", "Text Co", "referral", "31/02/2026"]]
    return plain_book(folder / "dates.xlsx", rows)


def weird_numbers(folder, ws):
    header = ["Order ID", "Customer ID", "Order date", "Amount"]
    rows = [["O1", "C1", "2026-03-01", "inf"], ["O2", "C1", "2026-03-01", "nan"],
            ["O3", "C1", "2026-03-01", "1e400"], ["O4", "C1", "2026-03-01", "-0"],
            ["O5", "C1", "2026-03-01", "1,2,3"], ["O6", "C1", "2026-03-01", "９９"]]
    return plain_book(folder / "numbers.xlsx", rows, header=header, sheet="Orders")


def duplicate_headers(folder, ws):
    return plain_book(folder / "dup-headers.xlsx", [r + ["x"] for r in good_rows()],
                      header=CUSTOMER_HEADER + ["Customer name"])


def title_rows_and_merges(folder, ws):
    p = plain_book(folder / "titled.xlsx", good_rows(), before=[["客户名单 2026"], [], ["导出时间", "2026-11-01"]])
    book = openpyxl.load_workbook(p)
    book.active.merge_cells("A1:D1")
    book.save(p)
    return p


def hidden_and_many_sheets(folder, ws):
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Hidden"
    first.sheet_state = "veryHidden"
    for i in range(300):
        book.create_sheet(f"S{i}")
    sh = book.create_sheet("Customers")
    sh.append(CUSTOMER_HEADER)
    for r in good_rows():
        sh.append(r)
    book.save(folder / "many-sheets.xlsx")
    return folder / "many-sheets.xlsx"


def control_sheet_name(folder, ws):
    return plain_book(folder / "ctl-sheet.xlsx", good_rows(), sheet="Cust\u202eomers")


def unicode_path(folder, ws):
    sub = folder / "客户 数据 ✓"
    sub.mkdir()
    return plain_book(sub / "名单（最终版）.xlsx", good_rows())


def long_path(folder, ws):
    sub = folder
    for _ in range(12):
        sub = sub / ("d" * 200)
    try:
        sub.mkdir(parents=True)
    except OSError:
        return plain_book(folder / "short.xlsx", good_rows())
    return plain_book(sub / ("f" * 200 + ".xlsx"), good_rows())


# --------------------------------------------------------------------------- damaged workspaces

def _copy_ws(folder: Path, ws: Path, name: str) -> Path:
    import shutil

    dest = folder / name
    shutil.copytree(ws, dest, ignore=shutil.ignore_patterns(".crmkit"))
    return dest


def _rules_book(path: Path):
    return openpyxl.load_workbook(path)


def _set_rule_expression(dest: Path, expr: str) -> Path:
    p = dest / "rules.xlsx"
    book = _rules_book(p)
    sh = book["Rules"]
    header = [c.value for c in sh[1]]
    col = next(i for i, h in enumerate(header, start=1) if h and str(h).lower().startswith("when"))
    en = next(i for i, h in enumerate(header, start=1) if h and str(h).lower().startswith("enabled"))
    sh.cell(row=2, column=col, value=expr)
    sh.cell(row=2, column=en, value="yes")
    book.save(p)
    return dest


def deep_expression(folder, ws):
    return _set_rule_expression(_copy_ws(folder, ws, "ws-deep-expr"), "(" * 5000 + "1" + ")" * 5000)


def long_expression(folder, ws):
    return _set_rule_expression(_copy_ws(folder, ws, "ws-long-expr"),
                                " or ".join(f'name == "n{i}"' for i in range(20000)))


def not_chain_expression(folder, ws):
    return _set_rule_expression(_copy_ws(folder, ws, "ws-not-chain"), "not " * 20000 + "is_blank(name)")


def escape_in_expression(folder, ws):
    return _set_rule_expression(_copy_ws(folder, ws, "ws-escape-expr"), 'name == "\x9b2J\u202e" and (')


def python_in_expression(folder, ws):
    return _set_rule_expression(_copy_ws(folder, ws, "ws-python-expr"), "__import__('os').system('echo x')")


def corrupt_log(folder, ws):
    dest = _copy_ws(folder, ws, "ws-corrupt-log")
    p = dest / "log.xlsx"
    data = p.read_bytes() if p.exists() else b""
    p.write_bytes(data[: len(data) // 2] or b"broken")
    return dest


def log_is_folder(folder, ws):
    dest = _copy_ws(folder, ws, "ws-log-folder")
    p = dest / "log.xlsx"
    if p.exists():
        p.unlink()
    p.mkdir()
    return dest


def state_dir_is_file(folder, ws):
    dest = _copy_ws(folder, ws, "ws-state-file")
    (dest / ".crmkit").write_text("not a folder")
    return dest


def customers_zip_bomb(folder, ws):
    dest = _copy_ws(folder, ws, "ws-bomb")
    bomb = zip_bomb(folder, ws)
    (dest / "customers.xlsx").write_bytes(bomb.read_bytes())
    return dest


def customers_strict_namespace(folder, ws):
    dest = _copy_ws(folder, ws, "ws-strict")
    p = dest / "customers.xlsx"
    with zipfile.ZipFile(p) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    strict = {}
    for n, data in parts.items():
        if n.endswith(".xml") or n.endswith(".rels"):
            data = (data.replace(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                                 b"http://purl.oclc.org/ooxml/spreadsheetml/main")
                    .replace(b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                             b"http://purl.oclc.org/ooxml/officeDocument/relationships"))
        strict[n] = data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in strict.items():
            z.writestr(n, data)
    p.write_bytes(buf.getvalue())
    return dest


def settings_garbage(folder, ws):
    dest = _copy_ws(folder, ws, "ws-bad-settings")
    p = dest / "rules.xlsx"
    book = openpyxl.load_workbook(p)
    sh = book["Settings"]
    for key, value in (("language", "fr"), ("timezone", "Mars/Olympus"), ("phone_region", "XX"),
                       ("backups_keep", "-1"), ("daily_message_cap", "lots")):
        sh.append([key, value])
    book.save(p)
    return dest


def renamed_orders_sheet(folder, ws):
    dest = _copy_ws(folder, ws, "ws-renamed-orders")
    p = dest / "customers.xlsx"
    book = openpyxl.load_workbook(p)
    name = next(n for n in book.sheetnames if n.lower().startswith("orders") or n == "订单")
    book[name].title = "Orders 2024"
    book.save(p)
    return dest


def excel_lock_present(folder, ws):
    dest = _copy_ws(folder, ws, "ws-locked")
    (dest / "~$customers.xlsx").write_bytes(b"\x00" * 162)
    return dest


CASES: list[Hostile] = [
    Hostile("empty xlsx", empty_xlsx, ("validate", "import")),
    Hostile("empty csv", empty_csv, ("validate", "import")),
    Hostile("random bytes named xlsx", random_bytes_xlsx, ("validate", "import")),
    Hostile("zip of a text file named xlsx", zip_of_text, ("validate", "import")),
    Hostile("password-protected (OLE) xlsx", ole_container, ("validate", "import")),
    Hostile("old binary xls", old_xls, ("validate", "import")),
    Hostile("HTML table named xls", html_as_xls, ("validate", "import"), ANY_CLEAN),
    Hostile("truncated xlsx", truncated_zip, ("validate", "import")),
    Hostile("folder named xlsx", folder_named_xlsx, ("validate", "import")),
    Hostile("symlink loop", symlink_loop, ("validate", "import")),
    Hostile("dangling symlink", dangling_symlink, ("validate", "import")),
    Hostile("FIFO named csv", fifo_csv, ("validate", "import"), subprocess=True),
    Hostile("/dev/zero named csv", dev_zero_csv, ("validate", "import"), subprocess=True),
    Hostile("/dev/urandom named xlsx", dev_urandom_xlsx, ("validate", "import"), subprocess=True),
    Hostile("zip bomb (400 MB cell)", zip_bomb, ("validate", "import"), subprocess=True),
    Hostile("20,000 empty parts in the zip", many_parts_zip, ("validate", "import"), ANY_CLEAN),
    Hostile("billion laughs in shared strings", billion_laughs, ("validate", "import"), ANY_CLEAN,
            subprocess=True),
    Hostile("external entity in a sheet", external_entity, ("validate", "import"), ANY_CLEAN),
    Hostile("200,000-deep XML nesting", deep_xml, ("validate", "import"), ANY_CLEAN, subprocess=True),
    Hostile("sheet part missing", missing_sheet_part, ("validate", "import")),
    Hostile("sheet part of random bytes", garbage_sheet_xml, ("validate", "import")),
    Hostile("chart sheet only", chartsheet_only, ("validate", "import"), ANY_CLEAN),
    Hostile("odd-length UTF-16 csv", utf16_odd, ("validate", "import")),
    # a Latin-1-looking byte pair in an otherwise ASCII file may be Windows-1252: read, never a traceback
    Hostile("invalid UTF-8 csv", invalid_utf8, ("validate", "import"), ANY_CLEAN),
    Hostile("UTF-8 Chinese csv with invalid bytes", utf8_with_bad_bytes, ("validate", "import")),
    Hostile("NUL bytes in csv", nul_bytes, ("validate", "import"), ANY_CLEAN),
    Hostile("unbalanced quotes in csv", unbalanced_quotes, ("validate", "import"), ANY_CLEAN),
    Hostile("header only csv", header_only, ("validate", "import"), CLEAN_OR_DATA),
    Hostile("random bytes named csv", binary_as_csv, ("validate", "import")),
    Hostile("16,000 columns csv", wide_csv, ("validate", "import"), ANY_CLEAN),
    Hostile("5 MB cell", huge_cell, ("validate", "import"), CLEAN_OR_DATA),
    Hostile("30 MB line without a newline", long_line_no_newline, ("validate", "import"), (1, 2),
            subprocess=True),
    Hostile("terminal escape sequences in cells", terminal_escapes, ("validate", "import"), CLEAN_OR_DATA),
    Hostile("formula injection in cells", formula_injection, ("validate", "import"), CLEAN_OR_DATA),
    Hostile("Excel error values and formulas", error_values, ("validate", "import"), CLEAN_OR_DATA),
    Hostile("out-of-range dates", odd_dates, ("validate", "import"), CLEAN_OR_DATA),
    Hostile("inf, nan and 1e400 amounts", weird_numbers, ("validate", "import-orders"), CLEAN_OR_DATA),
    Hostile("duplicate headers", duplicate_headers, ("validate", "import"), ANY_CLEAN),
    Hostile("title rows and merged cells above the header", title_rows_and_merges, ("validate", "import"),
            CLEAN_OR_DATA),
    Hostile("300 sheets and a very hidden one", hidden_and_many_sheets, ("validate", "import"), CLEAN_OR_DATA),
    Hostile("bidi override in the sheet name", control_sheet_name, ("validate", "import"), ANY_CLEAN),
    Hostile("Chinese and symbols in the path", unicode_path, ("validate", "import"), CLEAN_OR_DATA),
    Hostile("path of 2,600 characters", long_path, ("validate", "import"), ANY_CLEAN),
    Hostile("rule expression nested 5,000 deep", deep_expression, ("validate", "run"), (0, 1)),
    Hostile("rule expression of 20,000 terms", long_expression, ("validate", "run"), (0, 1)),
    Hostile("rule expression of 20,000 nots", not_chain_expression, ("validate", "run"), (0, 1)),
    Hostile("terminal escape in a rule expression", escape_in_expression, ("validate", "run"), (0, 1)),
    Hostile("Python in a rule expression", python_in_expression, ("validate", "run"), (0, 1)),
    Hostile("corrupt log.xlsx", corrupt_log, ("run-write",), (1, 2)),
    Hostile("log.xlsx is a folder", log_is_folder, ("run-write",), (1, 2)),
    Hostile(".crmkit is a file", state_dir_is_file, ("run-write", "validate"), ANY_CLEAN),
    Hostile("zip bomb as customers.xlsx", customers_zip_bomb, ("validate", "rfm"), subprocess=True),
    # Strict Open XML is read, but never rewritten (crmkit's writer would turn it into Transitional)
    Hostile("customers.xlsx in Strict Open XML", customers_strict_namespace, ("validate", "run-write"), (1, 2),
            extra={"codes": {"validate": CLEAN_OR_DATA}}),
    Hostile("garbage Settings values", settings_garbage, ("validate", "run"), (1, 2)),
    Hostile("Orders sheet renamed", renamed_orders_sheet, ("validate", "rfm"), (1, 2)),
    Hostile("workbook open in Excel", excel_lock_present, ("run-write",), (2,)),
]
