"""HTML template → PDF with WeasyPrint (domain.md §12). Rendering makes a draft; issuing is the caller's.

Order: resolve the letterhead from date-effective settings → replace what the embedded fonts lack with 〓
(reported) → Django template → WeasyPrint (A4 portrait, page numbers via @page counters) → bytes,
page count and SHA-256.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models
from django.template import Context, Engine
from django.utils.html import escape
from django.utils.safestring import mark_safe

from disclosure.pdf.documents import PrintDocument
from disclosure.pdf.fonts import font_face_css, has_ipamj, mj_runs, substitute_uncovered
from jukinet.env import BASE_DIR

# WeasyPrint logs every layout step at INFO; a long report would flood the worker log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

PRINT_CSS = BASE_DIR / "static" / "print" / "print.css"

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Window:
    """A request window (受付窓口): DISCLOSURE_WINDOWS entry."""

    name: str
    address: str
    contact: str


@dataclass(frozen=True, kw_only=True)
class Letterhead:
    """Who issues the document, as in force on its issue date (domain.md §16)."""

    prefecture_name: str
    issuer: str  # e.g. 山口県知事
    section_name: str
    section_contact: str
    windows: tuple[Window, ...]


@dataclass(frozen=True, kw_only=True)
class RenderedPdf:
    content: bytes = dataclasses.field(repr=False)
    pages: int
    sha256: str
    # Each replaced character or base+selector sequence, in order of appearance, for the output ledger.
    substituted_characters: tuple[str, ...]

    @property
    def substitution_note(self) -> str:
        """E.g. 「〓 2字: U+E000, U+845B U+E0100」; empty when nothing was replaced."""
        if not self.substituted_characters:
            return ""
        codes = ", ".join(" ".join(f"U+{ord(c):04X}" for c in seq) for seq in self.substituted_characters)
        return f"〓 {len(self.substituted_characters)}字: {codes}"


def letterhead_on(day: dt.date) -> Letterhead:
    """The prefecture's name, section and windows in force on `day`."""
    from jukinet.config import setting_value
    from jukinet.reference import prefecture_name

    name = prefecture_name()
    section = setting_value("PREFECTURE_SECTION", on=day)
    windows = setting_value("DISCLOSURE_WINDOWS", on=day)
    return Letterhead(
        prefecture_name=name,
        issuer=f"{name}知事",
        section_name=section["name"],
        section_contact=section["contact"],
        windows=tuple(Window(name=w["name"], address=w["address"], contact=w["contact"]) for w in windows),
    )


def _substitute(value: T, found: list[str]) -> T:
    """A copy of `value` with every string passed through the 〓 check (choices and dates untouched)."""
    if isinstance(value, models.Choices):
        return value
    if isinstance(value, str):
        text, replaced = substitute_uncovered(value)
        found.extend(replaced)
        if has_ipamj() and not text.isascii():
            return _with_mj_spans(text)  # type: ignore[return-value]
        return text  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(_substitute(item, found) for item in value)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _substitute(getattr(value, f.name), found) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)  # type: ignore[type-var]
    return value


def _with_mj_spans(text: str) -> str:
    """IVS runs and characters only IPAmj明朝 has, wrapped so that Pango draws them with IPAmj (§12).

    Pango picks a font per character by coverage, so an IVS sequence left to the family list could be drawn
    with IPAex's own variant; the span names the font. Escaped here, hence safe for the template.
    """
    parts = mj_runs(text)
    if not any(mj for _, mj in parts):
        return text
    return mark_safe(  # every part is escaped
        "".join(f'<span class="mj">{escape(run)}</span>' if mj else escape(run) for run, mj in parts)
    )


@functools.cache
def _engine() -> Engine:
    # A separate engine: no request context processors, autoescape on, the print filters built in.
    return Engine(dirs=[str(BASE_DIR / "templates")], builtins=["disclosure.pdf.filters"], autoescape=True)


@functools.cache
def _stylesheet() -> str:
    return font_face_css() + "\n" + PRINT_CSS.read_text(encoding="utf-8")


def render_html(document: PrintDocument, *, letterhead: Letterhead | None = None) -> tuple[str, tuple[str, ...]]:
    """The print HTML after the 〓 check, and the replaced sequences."""
    found: list[str] = []
    head = _substitute(letterhead or letterhead_on(document.issued_on), found)
    doc = _substitute(document, found)
    context: dict[str, Any] = {"doc": doc, "letterhead": head, "stylesheet": _stylesheet()}
    if head.windows:
        index = getattr(doc, "window_index", 0)
        context["window"] = head.windows[index if index < len(head.windows) else 0]
    html = _engine().get_template(document.template).render(Context(context))
    return html, tuple(found)


def render_pdf(document: PrintDocument, *, letterhead: Letterhead | None = None) -> RenderedPdf:
    """Render a draft PDF. `letterhead` defaults to the settings in force on document.issued_on."""
    from weasyprint import HTML

    html, substituted = render_html(document, letterhead=letterhead)
    rendered = HTML(string=html, base_url=str(BASE_DIR)).render()
    content = rendered.write_pdf()
    if content is None:  # write_pdf returns bytes when no target is given
        raise RuntimeError("WeasyPrint returned no PDF")
    return RenderedPdf(
        content=content,
        pages=len(rendered.pages),
        sha256=hashlib.sha256(content).hexdigest(),
        substituted_characters=substituted,
    )
