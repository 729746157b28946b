import pytest

from spacy_rnnlm.glyphs import Glyphs, look_alike
from spacy_rnnlm.inference.correction import change_cost
from spacy_rnnlm.sounds import Sounds

COMMON = "清请情晴睛精法河海次冲欢未末己已吐叶口改忌措错惜政正"


@pytest.fixture(scope="module")
def glyphs():
    return Glyphs.build(COMMON)


def test_glyphs_same_distinctive_part_and_a_radical_apart_look_alike(glyphs):
    assert {"请", "情", "晴", "睛", "精"} <= set(glyphs.alike("清"))  # 青 kept, 水 / 言 / 心 … apart
    assert glyphs.are_alike("措", "错") and glyphs.are_alike("错", "措")
    assert glyphs.are_alike("未", "末") and glyphs.are_alike("己", "已")  # the same parts
    assert "清" not in glyphs.alike("清")


def test_glyphs_a_shared_radical_or_a_non_radical_difference_is_not_alike(glyphs):
    assert not glyphs.are_alike("清", "法") and not glyphs.are_alike("清", "海")  # only 水 in common
    assert not glyphs.are_alike("次", "冲")  # 冫 kept, 欠 / 中 apart: 中 is no radical
    assert glyphs.alike("x") == [] and not glyphs.are_alike("清", "x")


def test_look_alike_family_bound():
    # four characters sharing 口 on the left, radicals apart on the right (吐 / 叶 / 杏 / 旦-like)
    parts = {c: ("口", r) for c, r in zip("abcd", "土十木日")}
    parts.update({"e": ("言", "青"), "f": ("水", "青"), "g": ("中", "青")})
    # 口 is shared by four: too common a part under a bound of 2; 青 by three, 中 is no radical
    assert look_alike(parts, max_family=3) == {"e": ["f"], "f": ["e"]}
    assert set(look_alike(parts, max_family=4)["a"]) == {"b", "c", "d"}


def test_glyphs_round_trip_and_bad_data(glyphs):
    again = Glyphs.from_dict(glyphs.to_dict())
    assert again.to_dict() == glyphs.to_dict() and again.alike("清") == glyphs.alike("清")
    with pytest.raises(ValueError, match="look-alike table"):
        Glyphs.from_dict({"wrong": 1})


def test_change_cost_takes_the_cheaper_of_sound_and_look(glyphs):
    sounds = Sounds.build(COMMON)
    costs = (6.0, 9.0, 14.0)  # SAME, NEAR, OTHER
    assert change_cost("政策", "正策", sounds, costs, glyphs, 9.0) == 6.0  # sounds the same
    assert change_cost("未来", "末来", sounds, costs, glyphs, 9.0) == 9.0  # wei / mo: looks alike
    assert change_cost("未来", "末来", sounds, costs) == 14.0  # without the table: another character
    assert change_cost("清楚", "请楚", sounds, costs, glyphs, 5.0) == 5.0  # qing: the cheaper one
    assert change_cost("清楚", "清", sounds, costs, glyphs, 9.0) is None


def test_change_cost_never_swaps_variant_forms():
    from spacy_rnnlm.sounds import Sounds
    from spacy_rnnlm.variants import Variants, load_variants, parse_opencc_characters

    sounds = Sounds.build("你妳着著们們在再")
    costs = (6.0, 9.0, 14.0)
    assert change_cost("看著", "看着", sounds, costs) is not None  # without the table, a change like any other
    variants = load_variants()
    for old, new in [("看著", "看着"), ("妳好", "你好"), ("我們", "我们")]:
        assert change_cost(old, new, sounds, costs, variants=variants) is None, (old, new)
    assert change_cost("在见", "再见", sounds, costs, variants=variants) == 6.0  # a slip, not a variant
    table = Variants(parse_opencc_characters(["著\t著 着", "髮\t发", "發\t发", "bad line"]))
    assert table.are_variants("着", "著") and table.are_variants("发", "髮") and not table.are_variants("髮", "發")


def test_words_that_sound_alike_are_candidates_several_characters_away():
    from spacy_rnnlm.inference.correction import SoundIndex
    from spacy_rnnlm.sounds import Sounds
    from spacy_rnnlm.vocab import LMVocab

    vocab = LMVocab(["一起", "糊涂", "锻炼", "意思", "公园"], [0, 0, 0, 0, 5, 4, 3, 2, 1])
    sounds = Sounds.build("一起以糊涂户秃锻炼段练意思事公园")
    index = SoundIndex(vocab, sounds)
    costs = (6.0, 9.0, 14.0)
    for typed, meant in [("以起", "一起"), ("户秃", "糊涂"), ("段练", "锻炼"), ("意事", "意思")]:
        assert vocab.index[meant] in index.alike(typed), typed
    assert change_cost("户秃", "糊涂", sounds, costs) == 12.0  # two same-sound changes
    assert change_cost("意事", "意思", sounds, costs) == 9.0  # one near-sound change (shi / si)
    assert change_cost("公园", "糊涂", sounds, costs) is None  # two changes that do not sound alike
    assert index.alike("公") == [] and index.alike("abc") == []


def test_change_cost_never_changes_a_character_no_vocabulary_word_holds():
    from spacy_rnnlm.sounds import Sounds

    sounds = Sounds.build("湍着急")
    costs = (6.0, 9.0, 14.0)
    assert change_cost("湍急", "着急", sounds, costs) is not None
    assert change_cost("湍急", "着急", sounds, costs, known=set("着急")) is None  # 湍: a rare word's
    assert change_cost("看急", "着急", sounds, costs, known=set("看着急")) is not None


def test_regional_word_forms_are_never_a_correction():
    """甚么 / 什么 and 义大利 / 意大利 are one word's regional forms (OpenCC's Taiwan phrase
    tables): a change from one to the other, inside a longer stretch too, is no correction; a
    slip next to such a word still is."""
    from spacy_rnnlm.variants import Variants, load_variants

    table = load_variants()
    assert table.is_variant_change("甚么", "什么") and table.is_variant_change("你在做甚么", "你在做什么")
    assert table.is_variant_change("义大利", "意大利")
    assert not table.is_variant_change("公圆", "公园") and not table.is_variant_change("甚么", "甚么")
    toy = Variants([], [("甚么", "什么")])
    assert not toy.is_variant_change("甚么事", "什么是")  # 事 → 是 is a change of its own
    assert not toy.is_variant_change("甚么", "什")  # lengths differ
