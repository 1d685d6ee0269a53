"""Helpers for the print-layer tests: text and font resources of a rendered PDF."""

from __future__ import annotations

import io
import subprocess

from pypdf import PdfReader


def pdf_text(content: bytes) -> str:
    """Text as pdftotext (poppler) extracts it, with spaces and line breaks removed (pages stay split by \\f).

    Full-width spaces in names make poppler split a name over lines; comparing without them is plainer.
    """
    out = subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout
    return out.decode("utf-8").replace(" ", "").replace("\u3000", "").replace("\n", "")


def embedded_fonts(content: bytes) -> dict[str, set[str]]:
    """BaseFont name → the FontFile keys of its descriptor, for every font on every page."""
    found: dict[str, set[str]] = {}
    for page in PdfReader(io.BytesIO(content)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            keys = set()
            if descriptor is not None:
                keys = {k for k in descriptor.get_object() if k.startswith("/FontFile")}
            found[str(font["/BaseFont"])] = keys
    return found
