"""Text encodings of files to import: detected, never decoded into the wrong characters (issue 14, item 6)."""

from __future__ import annotations

import pytest

from crmkit.cli import main
from crmkit.exceptions import WorkbookError
from crmkit.importer import import_file
from crmkit.io.sources import read_source
from crmkit.templates import write_workspace
from crmkit.workspace import open_workspace

HEADER = "Customer name,Source,Notes\n"


@pytest.fixture
def ws(tmp_path):
    return write_workspace(tmp_path / "ws", {}, lang="en")


def test_a_windows_1252_csv_keeps_its_accents(ws, tmp_path):
    src = tmp_path / "w.csv"
    src.write_bytes((HEADER + "Müller,referral,Café crème\nRenée,referral,naïve façade\n").encode("cp1252"))
    res = import_file(src, ws)
    assert res.encoding == "cp1252" and res.imported == 2
    cust = open_workspace(ws)["customers"]
    assert cust["name"].tolist() == ["Müller", "Renée"]
    assert cust["notes"].tolist() == ["Café crème", "naïve façade"]


@pytest.mark.parametrize("encoding,name", [("gbk", "杭州甲公司"), ("gb18030", "杭州甲公司"), ("big5", "臺北貿易公司")])
def test_chinese_legacy_encodings_are_detected(tmp_path, encoding, name):
    src = tmp_path / "zh.csv"
    src.write_bytes(f"Customer name,Source\n{name},referral\n".encode(encoding))
    table = read_source(src)
    assert table.data.iloc[0].tolist()[0] == name


def test_invalid_utf8_bytes_are_refused_with_the_line(ws, tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_bytes(HEADER.encode() + "Müller,referral,Grüße aus Köln\n".encode() + b"Bad\xff\xfeName,referral,x\n")
    with pytest.raises(WorkbookError) as exc:
        read_source(src)
    assert exc.value.row == 3 and "FF FE" in exc.value.message and "utf-8" in exc.value.message
    assert main(["import", str(src), "--into", str(ws)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crmkit: error:") and "bad.csv, row 3" in err and "\ufffd" not in err
    assert len(open_workspace(ws)["customers"]) == 0


def test_a_bad_byte_after_a_utf8_bom_is_refused_not_replaced(tmp_path):
    src = tmp_path / "bom.csv"
    src.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"A,referral,x\nB\xffC,referral,y\n")
    with pytest.raises(WorkbookError) as exc:
        read_source(src)
    assert exc.value.row == 3


def test_odd_length_utf16_gives_a_located_one_line_error(ws, tmp_path, capsys):
    src = tmp_path / "u16.csv"
    src.write_bytes((HEADER + "Acme,referral,x\n").encode("utf-16")[:-1])
    assert main(["import", str(src), "--into", str(ws)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and err.count("\n") == 1
    assert "u16.csv" in err and "row 3" in err and "odd number of bytes" in err


def test_a_bad_byte_far_into_a_big_file_is_found_by_the_streaming_check(tmp_path):
    src = tmp_path / "big.csv"
    body = "".join(f"Firma {i},referral,Grüße\n" for i in range(60_000))    # > 1 MB: several chunks
    src.write_bytes(HEADER.encode() + body.encode() + b"Bad\x80,referral,x\n")
    with pytest.raises(WorkbookError) as exc:
        read_source(src)
    assert exc.value.row == 60_002
