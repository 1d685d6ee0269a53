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


def _hiragana_to_katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if ("\u3041" <= c <= "\u3096" or "\u309d" <= c <= "\u309e") else c for c in text)


def seion_kana(text: str) -> str:
    """清音化かな: §4.3 steps 1-5 (ジョウ → シヨウ, ﾊﾟﾋﾟﾌﾟ → ハヒフ, シ゛ョン → シヨン)."""
    text = unicodedata.normalize("NFKC", text)
    text = _hiragana_to_katakana(text)
    text = unicodedata.normalize("NFC", _VOICING_MARKS.sub("", unicodedata.normalize("NFD", text)))
    text = text.translate(_SMALL_TO_LARGE)
    return "".join(c for c in text if not c.isspace() and c != "・")


def text_key(text: str) -> str:
    """name_key / address_key: NFKC without variation selectors (IVS included) and spaces."""
    text = _VARIATION_SELECTORS.sub("", unicodedata.normalize("NFKC", text))
    return "".join(c for c in text if not c.isspace())


name_key = text_key
address_key = text_key


def has_wildcard(text: str) -> bool:
    """Q04: `* ? % _` after NFKC, so the full-width forms too."""
    return any(c in _WILDCARDS for c in unicodedata.normalize("NFKC", text))
