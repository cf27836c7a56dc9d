"""Make ``customers_libreoffice.xlsx``: a Customers sheet with the user's formula columns, re-saved by
LibreOffice so that every formula carries its cached result (as files saved by Excel or LibreOffice do).

Run once (needs ``soffice``: apt-get install -y libreoffice-calc-nogui); the result is committed:

    python tests/data/formulas/make_formula_fixture.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent


def main() -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Customers"
    ws.append(["Customer ID *", "Customer name *", "Source *", "Created *", "Intent level", "Notes",
               "Score", "Greeting"])
    rows = [("C00001", "Acme", "website_form", "2026-11-01", "A"),
            ("C00002", "Birch Trading", "referral", "2026-11-02", "B"),
            ("C00003", "Cedar", "trade_show", "2026-11-03", "C")]
    for i, (cid, name, source, created, intent) in enumerate(rows, start=2):
        ws.append([cid, name, source, created, intent, None, f"=LEN(B{i})*10", f'="Dear "&B{i}'])
    ws["F2"] = '="call "&B2&" back"'          # a crmkit column (notes) holding the user's formula
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "customers.xlsx"
        book.save(src)
        out = Path(tmp) / "out"
        subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx:Calc Office Open XML",
                        "--outdir", str(out), str(src)], check=True, capture_output=True)
        shutil.copy(out / "customers.xlsx", HERE / "customers_libreoffice.xlsx")


if __name__ == "__main__":
    main()
