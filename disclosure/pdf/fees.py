"""Copy cost of a disclosure (domain.md §12): a pure function over one fee-table row."""

from __future__ import annotations

from disclosure.pdf.documents import CopyFee


def copy_fee(*, pages: int, per_sheet_yen: int, handling_yen: int) -> CopyFee:
    """Cost of the copies: one sheet per page (single-sided) × the per-sheet price + the handling fee.

    The values come from the fee-table row in force on the decision date (default ¥10 per sheet, ¥0
    handling: seeds/004_8fbdbec3723ee2c3.txt:460). `pages` is the page count of the pre-rendered
    confirmation sheet.
    """
    if pages < 1:
        raise ValueError("写しの枚数は1以上です")
    if per_sheet_yen < 0 or handling_yen < 0:
        raise ValueError("手数料は0円以上です")
    return CopyFee(
        sheets=pages,
        per_sheet_yen=per_sheet_yen,
        handling_yen=handling_yen,
        total_yen=pages * per_sheet_yen + handling_yen,
    )
