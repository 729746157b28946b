"""Candidates that change one character and cut the text again (spacy_rnnlm/inference/correction.py)."""
from typing import List

import pytest

from spacy_rnnlm.inference.correction import RECUT_CANDIDATES, Corrector, Segmenter
from spacy_rnnlm.sounds import Sounds
from spacy_rnnlm.vocab import LMVocab

WORDS = ["我们", "一起", "爬山", "去", "了", "以", "起", "三", "山", "爬"]
COUNTS = [0, 0, 0, 0, 50, 40, 30, 30, 30, 5, 5, 5, 5, 5]


def longest_match(dictionary: List[str]) -> Segmenter:
    """A stand-in for the pipeline's tokenizer: forward longest match over `dictionary`."""

    def cut(text: str) -> List[str]:
        out, i = [], 0
        while i < len(text):
            n = max((len(w) for w in dictionary if text.startswith(w, i)), default=1)
            out.append(text[i : i + n])
            i += n
        return out

    return Segmenter(cut, lambda word: word in dictionary)


@pytest.fixture(scope="module")
def corrector():
    vocab = LMVocab(WORDS, COUNTS)
    sounds = Sounds.build("".join(WORDS) + "一衫")
    return Corrector(vocab, sounds, margin=9.0, costs=(6.0, 9.0, 14.0), n_candidates=10, threshold=4.5)


def test_recut_reaches_a_word_made_by_a_new_cut(corrector):
    """以起 was cut 以 / 起; changing 以 to 一 makes the tokenizer cut 一起 as one word, which
    replaces both old words: no one-word-for-one-word candidate reaches it."""
    segment = longest_match(WORDS)
    found = corrector._recut(0, 1, ["我们", "以", "起", "去"], segment)
    assert ("一起",) in [c.words for c in found]
    assert all(len(c.words[0]) > 1 for c in found)  # no change leaves a lone character
    cand = next(c for c in found if c.words == ("一起",))
    assert (cand.start, cand.end) == (1, 3) and cand.cost == 6.0  # yi / yi: the same sound


def test_recut_keeps_the_shortest_changed_stretch_and_ranks_by_unigram_gain(corrector):
    """爬三 is not a vocabulary word: changing 三 to 山 (san / shan: near) gives 爬山, cut as one
    word; the neighbours 去 and 了 are unchanged, so the candidate is word 1 alone. Fewer than
    `RECUT_CANDIDATES` per word, the one that gains most first."""
    segment = longest_match(WORDS)
    found = corrector._recut(0, 1, ["去", "爬三", "了"], segment)
    assert 0 < len(found) <= RECUT_CANDIDATES
    best = found[0]
    assert (best.start, best.end, best.words) == (1, 2, ("爬山",)) and best.cost == 9.0
    # 爬山 from the tokenizer's dictionary alone (not a vocabulary word) is reached too
    vocab = corrector.vocab
    assert "爬山" in vocab.index
    other = Corrector(LMVocab([w for w in WORDS if w != "爬山"]), corrector.sounds, margin=9.0, costs=(6.0, 9.0, 14.0), n_candidates=10, threshold=4.5)
    found = other._recut(0, 1, ["去", "爬三", "了"], longest_match(WORDS))
    assert found[0].words == ("爬山",)
    # a change that makes no word with its neighbours is not tried
    assert other._recut(0, 1, ["去", "爬三", "了"], longest_match(["去", "了"])) == []


def test_recut_never_writes_a_character_no_vocabulary_word_holds(corrector):
    """衫 sounds like 山 but no vocabulary word holds it: no candidate writes it."""
    found = corrector._recut(0, 0, ["爬三"], longest_match(WORDS + ["爬衫"]))
    assert found and all("衫" not in "".join(c.words) for c in found)


def test_recut_leaves_a_word_the_tokenizer_knows_alone(corrector):
    """爬三 in the tokenizer's dictionary (a name, say): the tokenizer cut it as a word it knows,
    so no character of it is changed by a new cut."""
    assert corrector._recut(0, 1, ["去", "爬三", "了"], longest_match(WORDS + ["爬三"])) == []
    assert corrector._recut(0, 1, ["去", "爬三", "了"], longest_match(WORDS))  # otherwise it is


def test_word_segmenter_cuts_as_the_pipeline_tokenizer_does():
    import spacy

    from spacy_rnnlm.inference.correction import word_segmenter

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    segment = word_segmenter(nlp.tokenizer)
    for text in ["周末我们去爬山了", "我们一起去吃饭吧", "他 用 手机"]:
        assert segment.cut(text) == [t.text for t in nlp(text) if not t.is_space]
    assert segment.is_word("爬山") and not segment.is_word("爬三")
    assert word_segmenter(None) is None
    # any other tokenizer: its cut, and no dictionary to ask
    other = word_segmenter(spacy.blank("en").tokenizer)
    assert other.cut("a  b") == ["a", "b"] and not other.is_word("a")
