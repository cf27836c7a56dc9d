"""Build tests/data/rfm_reference.xlsx: RFM computed by spreadsheet formulas, an oracle independent of crmkit.

The workbook holds random orders (ties, returns, future orders, customers with only returns) and a
Customers sheet whose recency, frequency, monetary, scores and segment are Excel formulas
(MAXIFS, COUNTIFS, SUMIFS, RANK.AVG for R and M, the fixed frequency breaks 1 / 2 / 3-4 / 5-9 / 10+
for F, INDEX over the segment grid).  LibreOffice recalculates and
saves it so the cached values can be read without a spreadsheet program:

    .venv/bin/python tests/data/make_rfm_reference.py        # needs soffice on PATH
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

HERE = Path(__file__).resolve().parent
OUT = HERE / "rfm_reference.xlsx"
AS_OF = pd.Timestamp("2026-11-20")
GRID = [  # rows R = 5..1, columns FM = 1..5 (crmkit.rfm docstring)
    ["new", "potential_loyalist", "potential_loyalist", "champions", "champions"],
    ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
    ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    ["lost", "lost", "at_risk", "at_risk", "cant_lose"],
]


def orders(seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_cust = 40
    rows = []
    for i in range(n_cust):
        k = int(rng.choice([0, 1, 1, 1, 2, 2, 3, 4, 6]))
        for _ in range(k):
            day = AS_OF - pd.Timedelta(days=int(rng.choice([0, 3, 10, 10, 30, 45, 90, 90, 200, 400])))
            rows.append((f"C{i:02d}", day, float(rng.choice([50, 100, 100, 250, 1000, 1000, 4000]))))
        if rng.random() < 0.15:
            rows.append((f"C{i:02d}", AS_OF - pd.Timedelta(days=int(rng.integers(0, 60))), -float(rng.choice([50, 100]))))
        if rng.random() < 0.1:
            rows.append((f"C{i:02d}", AS_OF + pd.Timedelta(days=5), 999.0))
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


def write(path: Path) -> None:
    o = orders()
    customers = [f"C{i:02d}" for i in range(40)]
    wb = xlsxwriter.Workbook(str(path), {"use_future_functions": True})
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    so = wb.add_worksheet("Orders")
    so.write_row(0, 0, ["customer_id", "order_date", "amount"])
    for r, row in enumerate(o.itertuples(index=False), start=1):
        so.write_string(r, 0, row.customer_id)
        so.write_datetime(r, 1, row.order_date.to_pydatetime(), date)
        so.write_number(r, 2, row.amount)
    last = len(o) + 1
    cust, dts, amt = f"Orders!$A$2:$A${last}", f"Orders!$B$2:$B${last}", f"Orders!$C$2:$C${last}"
    sg = wb.add_worksheet("Grid")
    for r, row in enumerate(GRID):
        sg.write_row(r, 0, row)
    sc = wb.add_worksheet("Customers")
    sc.write_row(0, 0, ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
                        "rfm_segment", "as_of", "buyers"])
    sc.write_datetime(1, 8, AS_OF.to_pydatetime(), date)
    n = len(customers)
    sc.write_formula(1, 9, f'=COUNTIF($C$2:$C${n + 1},">0")')
    rng_ = {k: f"${c}$2:${c}${n + 1}" for k, c in (("rec", "L"), ("f", "M"), ("m", "N"))}
    for i, c in enumerate(customers, start=1):
        x = i + 1
        sc.write_string(i, 0, c)
        ok = f'{cust},$A{x},{amt},">=0",{dts},"<="&$I$2'
        sc.write_formula(i, 2, f"=COUNTIFS({ok})")
        sc.write_formula(i, 1, f'=IF(C{x}>0,$I$2-MAXIFS({dts},{ok}),"")')
        sc.write_formula(i, 3, f'=MAX(0,SUMIFS({amt},{cust},$A{x},{dts},"<="&$I$2))')
        # helper columns: the values of buyers only (RANK.AVG ignores text)
        sc.write_formula(i, 11, f'=IF(C{x}>0,B{x},"")')
        sc.write_formula(i, 12, f'=IF(C{x}>0,C{x},"")')
        sc.write_formula(i, 13, f'=IF(C{x}>0,D{x},"")')
        sc.write_formula(i, 4, f'=IF(C{x}>0,INT(5*(RANK.AVG(L{x},{rng_["rec"]},0)-0.5)/$J$2)+1,"")')
        # F by fixed breaks (crmkit.rfm.FREQUENCY_BREAKS): one purchase is always F = 1
        sc.write_formula(i, 5, f'=IF(C{x}>0,1+(C{x}>=2)+(C{x}>=3)+(C{x}>=5)+(C{x}>=10),"")')
        sc.write_formula(i, 6, f'=IF(C{x}>0,INT(5*(RANK.AVG(N{x},{rng_["m"]},1)-0.5)/$J$2)+1,"")')
        sc.write_formula(i, 7, f'=IF(C{x}>0,INDEX(Grid!$A$1:$E$5,6-E{x},INT((F{x}+G{x}+1)/2)),"no_orders")')
    wb.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.xlsx"
        write(raw)
        # openpyxl drops the placeholder results xlsxwriter stores, so LibreOffice must compute them
        import openpyxl

        book = openpyxl.load_workbook(raw)
        book.save(raw)
        # recalculate and store the values (xlsxwriter writes formulas without results)
        subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx:Calc MS Excel 2007 XML",
                        "--outdir", str(Path(tmp) / "out"), str(raw)], check=True, capture_output=True)
        shutil.copy(Path(tmp) / "out" / "raw.xlsx", OUT)
    print(OUT)


if __name__ == "__main__":
    main()
