"""The printed report: no chart of the summary is cut by a page break (read back with openpyxl)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from crmkit.i18n import t
from crmkit.report import write_report
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"

# A4 landscape less the page margins the workbook itself declares, in pixels at 96 dpi
A4_LANDSCAPE_IN = (297 / 25.4, 210 / 25.4)
ROW_PX = 20          # default row height, 15 pt


def col_px(ws, idx: int) -> int:
    letter = openpyxl.utils.get_column_letter(idx + 1)
    dim = ws.column_dimensions.get(letter)
    width = dim.width if dim is not None and dim.width else 8.43
    return int(width * 7 + 0.5) + 5


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "report.xlsx"
    ws = open_workspace(SAMPLE)
    write_report(ws, "month", out=out)
    book = openpyxl.load_workbook(out)
    return book[t("rep_summary", ws.lang)[:31]]


def test_summary_page_breaks_never_cut_a_chart(summary):
    charts = summary._charts
    assert len(charts) == 6
    breaks = sorted(b.id for b in summary.row_breaks.brk)
    assert breaks, "the summary needs page breaks between its rows of charts"
    for ch in charts:
        top, bottom = ch.anchor._from.row, ch.anchor.to.row     # 0-based rows the chart spans
        # a break with id b starts a new page at 0-based row b: it cuts the chart when top < b <= bottom
        assert not [b for b in breaks if top < b <= bottom], (top, bottom, breaks)


def test_summary_is_not_fit_to_pages_which_would_drop_the_breaks_and_every_page_fits(summary):
    props = summary.sheet_properties.pageSetUpPr
    assert not (props is not None and props.fitToPage)      # Excel ignores manual breaks when fitting
    setup, margins = summary.page_setup, summary.page_margins
    assert setup.orientation == "landscape" and str(setup.paperSize) == "9"
    scale = int(setup.scale) / 100
    page_w = (A4_LANDSCAPE_IN[0] - margins.left - margins.right) * 96
    page_h = (A4_LANDSCAPE_IN[1] - margins.top - margins.bottom - margins.header - margins.footer) * 96
    # every chart's right edge within one printed page width
    for ch in summary._charts:
        left = sum(col_px(summary, c) for c in range(ch.anchor._from.col))
        right = left + ch.anchor._from.colOff / 9525 + 520
        assert right * scale <= page_w, (right, scale, page_w)
    # every stretch between breaks (and the first page) fits in one page height
    breaks = sorted(b.id for b in summary.row_breaks.brk)
    last = max(ch.anchor.to.row for ch in summary._charts) + 1
    edges = [0, *breaks, last]
    for a, b in zip(edges, edges[1:]):
        assert (b - a) * ROW_PX * scale <= page_h, (a, b, scale, page_h)
    # the print area covers the charts and is no wider than a page (blank columns would print a blank page)
    area = summary.print_area.split("!")[-1].replace("$", "")
    first, end = area.split(":")
    end_col, end_row = openpyxl.utils.cell.coordinate_from_string(end)
    assert first == "A1" and end_row >= last
    end_idx = openpyxl.utils.column_index_from_string(end_col)
    area_px = sum(col_px(summary, c) for c in range(end_idx))
    assert area_px * scale <= page_w, (area, area_px, scale, page_w)
    assert max(ch.anchor.to.col for ch in summary._charts) <= end_idx - 1
