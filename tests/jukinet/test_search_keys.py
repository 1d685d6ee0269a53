import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet.search_keys import has_wildcard, name_key, seion_kana


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ジョウ", "シヨウ"),
        ("がっこう", "カツコウ"),
        ("ﾊﾟﾋﾟﾌﾟ", "ハヒフ"),
        ("ヴィクトリア", "ウイクトリア"),
        ("やまだ　たろう", "ヤマタタロウ"),
        ("シ゛ョン", "シヨン"),
        ("ヤマダ・タロウ", "ヤマタタロウ"),
        ("コーヒー", "コーヒー"),
    ],
)
def test_seion_kana_table(text, key):
    assert seion_kana(text) == key


kana = st.text(
    alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096) | st.sampled_from("ァィゥェォッャュョヴー 　・"),
    max_size=20,
)


@given(kana)
def test_seion_kana_is_idempotent_and_free_of_marks(text):
    key = seion_kana(text)
    assert seion_kana(key) == key
    assert not any(c in key for c in "\u3099\u309a ・ァィゥェォッャュョヮヵヶ")
    assert not any("\u3041" <= c <= "\u3096" for c in key)


@given(kana)
def test_hiragana_and_katakana_give_the_same_key(text):
    katakana = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)
    assert seion_kana(text) == seion_kana(katakana)


def test_name_key_drops_ivs_and_spaces_but_stored_text_is_untouched():
    stored = "渡\U000e0101邊　太郎"
    assert name_key(stored) == "渡邊太郎"
    assert stored == "渡\U000e0101邊　太郎"


@pytest.mark.parametrize("text", ["ヤ*", "ヤ＊", "山?", "％", "＿田"])
def test_wildcards_are_detected_after_nfkc(text):
    assert has_wildcard(text)


def test_plain_text_has_no_wildcard():
    assert not has_wildcard("ヤマダ")
