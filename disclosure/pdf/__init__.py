"""Rendering layer for the printed documents of citizens' requests (domain.md §12; docs/printing.md).

Public API: `render_pdf(document, *, letterhead=None) -> RenderedPdf`, the document dataclasses of
`disclosure.pdf.documents`, `copy_fee` and `letterhead_on`. It renders drafts only; issuing (the output
ledger) belongs to disclosure.services.
"""

from disclosure.pdf.documents import (
    Addressee,
    ConfirmationSheet,
    CopyFee,
    CorrectionKind,
    CorrectionOutcome,
    CorrectionPoint,
    CorrectionResultNotice,
    DecisionKind,
    DisclosureDecisionNotice,
    FuryoConfirmationSheet,
    FuryoRecordItems,
    IdentityFile,
    MunicipalityReferral,
    PrintDocument,
    ProvisionKind,
    ProvisionStatusReport,
    ProvisionStatusRow,
    ReleasedItem,
    ResidentRecordItems,
    Sex,
    SuspensionDecisionNotice,
    SuspensionOutcome,
)
from disclosure.pdf.fees import copy_fee
from disclosure.pdf.fonts import GETA, FontMissingError
from disclosure.pdf.render import Letterhead, RenderedPdf, Window, letterhead_on, render_html, render_pdf

__all__ = [
    "GETA",
    "Addressee",
    "ConfirmationSheet",
    "CopyFee",
    "CorrectionKind",
    "CorrectionOutcome",
    "CorrectionPoint",
    "CorrectionResultNotice",
    "DecisionKind",
    "DisclosureDecisionNotice",
    "FontMissingError",
    "FuryoConfirmationSheet",
    "FuryoRecordItems",
    "IdentityFile",
    "Letterhead",
    "MunicipalityReferral",
    "PrintDocument",
    "ProvisionKind",
    "ProvisionStatusReport",
    "ProvisionStatusRow",
    "ReleasedItem",
    "RenderedPdf",
    "ResidentRecordItems",
    "Sex",
    "SuspensionDecisionNotice",
    "SuspensionOutcome",
    "Window",
    "copy_fee",
    "letterhead_on",
    "render_html",
    "render_pdf",
]
