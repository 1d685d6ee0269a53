"""Fonts embedded in printed documents and the 〓 check (domain.md §4.2, §12).

IPAexMincho (body) and IPAexGothic (headings) are required: Debian's `fonts-ipaexfont`. IPAmj明朝 is
optional (not packaged by Debian); without it every IVS sequence and every character outside IPAex prints
as 〓. Pango and fontconfig fall back to whatever fonts the machine has, whatever the CSS says, so the only
way to keep a PDF independent of the machine is to replace, before rendering, every character that no
embedded font covers. The cmaps are read once per process.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont

GETA = "〓"  # U+3013 GETA MARK: printed in place of a character no embedded font has

MINCHO = "IPAexMincho"
GOTHIC = "IPAexGothic"
MJ_MINCHO = "IPAmjMincho"

_KNOWN_PATHS: dict[str, tuple[str, ...]] = {
    MINCHO: (
        "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
        "/usr/share/fonts/truetype/ipaexfont-mincho/ipaexm.ttf",
        "/usr/share/fonts/ipaexfont-mincho/ipaexm.ttf",
        "/usr/share/fonts/ipa-ex-mincho/ipaexm.ttf",
    ),
    GOTHIC: (
        "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
        "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
        "/usr/share/fonts/ipaexfont-gothic/ipaexg.ttf",
        "/usr/share/fonts/ipa-ex-gothic/ipaexg.ttf",
    ),
    MJ_MINCHO: (
        "/usr/share/fonts/opentype/ipamjfont/ipamjm.ttf",
        "/usr/share/fonts/truetype/ipamjfont/ipamjm.ttf",
        "/usr/local/share/fonts/ipamjm.ttf",
    ),
}
# An administrator who installs IPAmj明朝 by hand may point at the file.
_ENV_OVERRIDE = {
    MINCHO: "JUKINET_FONT_MINCHO",
    GOTHIC: "JUKINET_FONT_GOTHIC",
    MJ_MINCHO: "JUKINET_FONT_IPAMJ",
}


class FontMissingError(RuntimeError):
    """A required Japanese font is not installed: PDFs would silently show empty boxes."""


@dataclass(frozen=True)
class EmbeddedFont:
    family: str
    path: Path
    cmap: frozenset[int]
    # (base, selector) pairs the font draws; only used for IPAmj明朝 (IVS runs need it).
    variation_sequences: frozenset[tuple[int, int]]


def _fc_list(family: str) -> Path | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        # A fixed family name from this module, never user input.
        out = subprocess.run(  # noqa: S603
            [fc_list, f":family={family}", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        path = Path(line.strip().rstrip(":"))
        if path.suffix.lower() in {".ttf", ".otf"} and path.is_file():
            return path
    return None


def locate_font(family: str) -> Path | None:
    override = os.environ.get(_ENV_OVERRIDE[family])
    if override:
        return Path(override) if Path(override).is_file() else None
    for candidate in _KNOWN_PATHS[family]:
        if Path(candidate).is_file():
            return Path(candidate)
    return _fc_list(family)


def _load(family: str, path: Path) -> EmbeddedFont:
    font = TTFont(str(path), lazy=True)
    cmap = frozenset(font.getBestCmap())
    sequences: set[tuple[int, int]] = set()
    for table in font["cmap"].tables:
        if table.format == 14:
            for selector, pairs in table.uvsDict.items():
                sequences.update((base, selector) for base, _glyph in pairs)
    font.close()
    return EmbeddedFont(family=family, path=path, cmap=cmap, variation_sequences=frozenset(sequences))


@functools.cache
def embedded_fonts() -> tuple[EmbeddedFont, ...]:
    """IPAexMincho, IPAexGothic and, when installed, IPAmj明朝; raises FontMissingError without IPAex."""
    fonts = []
    for family in (MINCHO, GOTHIC):
        path = locate_font(family)
        if path is None:
            raise FontMissingError(
                f"{family} is not installed: install Debian's fonts-ipaexfont "
                f"(scripts/services.sh system-packages fonts-ipaexfont) or set {_ENV_OVERRIDE[family]}"
            )
        fonts.append(_load(family, path))
    mj_path = locate_font(MJ_MINCHO)
    if mj_path is not None:
        fonts.append(_load(MJ_MINCHO, mj_path))
    return tuple(fonts)


@functools.cache
def _coverage() -> tuple[frozenset[int], frozenset[tuple[int, int]]]:
    fonts = embedded_fonts()
    code_points = frozenset().union(*(font.cmap for font in fonts))
    # IPAex has a UVS table too, but IVS runs are drawn with IPAmj明朝 only (domain.md §12).
    sequences = frozenset().union(*(font.variation_sequences for font in fonts if font.family == MJ_MINCHO))
    return code_points, sequences


def is_variation_selector(code_point: int) -> bool:
    return 0xFE00 <= code_point <= 0xFE0F or 0xE0100 <= code_point <= 0xE01EF


def substitute_uncovered(text: str) -> tuple[str, list[str]]:
    """Replace every character (or base + variation selector) no embedded font covers with 〓.

    Returns the printable text and the replaced sequences in order. Control characters (newlines, tabs)
    are layout, not glyphs, and stay.
    """
    code_points, sequences = _coverage()
    if text.isascii() and text.isprintable():
        return text, []  # IPAex covers printable ASCII; the common case costs one scan.
    out: list[str] = []
    replaced: list[str] = []
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        point = ord(char)
        following = ord(text[i + 1]) if i + 1 < length else None
        if following is not None and is_variation_selector(following):
            if (point, following) in sequences and point in code_points:
                out.append(text[i : i + 2])
            else:
                out.append(GETA)
                replaced.append(text[i : i + 2])
            i += 2
            continue
        if point in code_points or unicodedata.category(char) == "Cc":
            out.append(char)
        else:
            out.append(GETA)
            replaced.append(char)
        i += 1
    return "".join(out), replaced


@functools.cache
def _ipaex_cmap() -> frozenset[int]:
    return frozenset().union(*(font.cmap for font in embedded_fonts() if font.family != MJ_MINCHO))


def mj_runs(text: str) -> list[tuple[str, bool]]:
    """Split checked text into (run, needs IPAmj明朝) parts: IVS sequences and characters IPAex lacks.

    Only meaningful after substitute_uncovered and with IPAmj installed; without it there are no such
    characters left (they became 〓).
    """
    cmap = _ipaex_cmap()
    parts: list[tuple[str, bool]] = []
    i, length = 0, len(text)
    while i < length:
        width = 2 if i + 1 < length and is_variation_selector(ord(text[i + 1])) else 1
        unit = text[i : i + width]
        mj = width == 2 or (ord(unit) not in cmap and unicodedata.category(unit) != "Cc")
        if parts and parts[-1][1] == mj:
            parts[-1] = (parts[-1][0] + unit, mj)
        else:
            parts.append((unit, mj))
        i += width
    return parts


def font_face_css() -> str:
    """@font-face rules for the embedded fonts, pointing at the installed files."""
    rules = []
    for font in embedded_fonts():
        rules.append(f'@font-face {{ font-family: "{font.family}"; src: url("{font.path.as_uri()}"); }}')
    return "\n".join(rules)


def has_ipamj() -> bool:
    return any(font.family == MJ_MINCHO for font in embedded_fonts())
