"""Search keys computed on write and applied identically to search input (domain.md §4.2, §4.3).

Stored names and addresses are never normalized; only these derived keys are.
"""

from __future__ import annotations

import re
import unicodedata

_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_VOICING_MARKS = re.compile("[\u3099\u309a]")
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_WILDCARDS = frozenset("*?%_")


_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in (*range(0x3041, 0x3097), 0x309D, 0x309E)}
# str.isspace() characters (re's \s on str patterns is the same Unicode class), plus ・ for seion_kana.
_SPACES = re.compile(r"\s+")
_SPACES_AND_MIDDLE_DOT = re.compile(r"[\s\u30fb]+")


def _hiragana_to_katakana(text: str) -> str:
    return text.translate(_HIRAGANA_TO_KATAKANA)


def seion_kana(text: str) -> str:
    """清音化かな: §4.3 steps 1-5 (ジョウ → シヨウ, ﾊﾟﾋﾟﾌﾟ → ハヒフ, シ゛ョン → シヨン)."""
    text = unicodedata.normalize("NFKC", text)
    text = _hiragana_to_katakana(text)
    text = unicodedata.normalize("NFC", _VOICING_MARKS.sub("", unicodedata.normalize("NFD", text)))
    text = text.translate(_SMALL_TO_LARGE)
    return _SPACES_AND_MIDDLE_DOT.sub("", text)


def text_key(text: str) -> str:
    """name_key / address_key: NFKC without variation selectors (IVS included) and spaces."""
    text = _VARIATION_SELECTORS.sub("", unicodedata.normalize("NFKC", text))
    return _SPACES.sub("", text)


name_key = text_key
address_key = text_key


def has_wildcard(text: str) -> bool:
    """Q04: `* ? % _` after NFKC, so the full-width forms too."""
    return any(c in _WILDCARDS for c in unicodedata.normalize("NFKC", text))
