import itertools
import math

import numpy
import pytest

from spacy_rnnlm.pieces import MAX_CHARS, Pieces, expanded_prefix, pieces_logprobs
from spacy_rnnlm.spelling import SpellingModel
from spacy_rnnlm.vocab import BOS_ID, EOS_ID, UNK_ID, LMVocab

# a toy language: four characters, three vocabulary words
ALPHABET = "甲乙丙丁"
VOCAB = LMVocab(["甲", "乙", "甲乙"], [0, 5, 0, 10, 30, 20, 10])


def toy_next(prev: int) -> numpy.ndarray:
    """A toy word model: P(next id | previous id) over the 7 ids (no <pad>, no <s>)."""
    logits = numpy.array([-numpy.inf, 0.0, -numpy.inf, 0.5, 1.0, 0.2, -0.5]) + 0.3 * (numpy.arange(7) == prev)
    p = numpy.exp(logits - logits.max())
    return p / p.sum()


def toy_score(seqs, wanted=None):
    """Forward log-probs of the predicted ids (all, or those `wanted`), as the component gives them."""
    rows = [[math.log(toy_next(seq[i])[seq[i + 1]]) for i in range(len(seq) - 1)] for seq in seqs]
    return rows if wanted is None else [[row[i] for i in w] for row, w in zip(rows, wanted)]


# a toy segmenter's dictionary: bigger than the vocabulary, as jieba's is (乙乙, 乙甲 and 甲甲乙 are
# compounds of vocabulary words; 丙丁 has no pieces)
SEGMENTER = {"甲", "乙", "甲乙", "乙乙", "乙甲", "甲甲乙", "丙丁"}
SPELLING = SpellingModel.build(["甲丙", "丙丁", "丁", "乙丙甲", "乙乙"], order=2, universe=4, vocab=VOCAB.words[4:])


def segment(text: str) -> list:
    """Forward maximum matching with SEGMENTER (a character outside it stands alone)."""
    out, i = [], 0
    while i < len(text):
        j = next(j for j in range(min(len(text), i + 3), i, -1) if text[i:j] in SEGMENTER or j == i + 1)
        out.append(text[i:j])
        i = j
    return out


def text_logprob(pieces: Pieces, text: str) -> float:
    """log P(text) as the component scores it: the toy model's forward log-probs of the segmented
    text (`<unk>` for unknown words) plus each unknown word's log Q, the pieces path folded in."""
    words = segment(text)
    ids = [BOS_ID] + VOCAB.encode(words) + [EOS_ID]
    lps = toy_score([ids])[0]
    splits = {p: s for p, w in enumerate(words) if ids[p + 1] == UNK_ID and (s := pieces.split(w))}
    (composed,) = pieces_logprobs([ids], [splits], toy_score)
    total = sum(lps)
    for p, w in enumerate(words):
        if ids[p + 1] == UNK_ID:
            path = pieces.path_logprob(composed.get(p), len(splits.get(p, ())))
            total += Pieces.combine(SPELLING.logprob(w), path, lps[p])
    return total


def paths_logprob(pieces: Pieces, text: str) -> float:
    """log P(text) summed exactly over its paths: each unknown word with pieces spelled or
    written as its pieces (2^m token sequences, each scored in its own context). Different texts
    never share a path, so these sum to at most 1 over all texts."""
    words = segment(text)
    ids = [BOS_ID] + VOCAB.encode(words) + [EOS_ID]
    splits = {p: s for p, w in enumerate(words) if ids[p + 1] == UNK_ID and (s := pieces.split(w))}
    paths = []
    for mask in itertools.product((False, True), repeat=len(splits)):
        as_pieces = {p for p, m in zip(splits, mask) if m}
        seq, extra = [BOS_ID], 0.0
        for p, w in enumerate(words):
            if p in as_pieces:
                seq += splits[p]
                extra += math.log(pieces.weight) + pieces.log_length_prior(len(splits[p]))
            else:
                seq.append(ids[p + 1])
                extra += SPELLING.logprob(w) if ids[p + 1] == UNK_ID else 0.0
        paths.append(sum(toy_score([seq + [EOS_ID]])[0]) + extra)
    return float(numpy.logaddexp.reduce(paths))


def text_mass(logprob, pieces: Pieces, max_len: int) -> float:
    """Σ exp(logprob(pieces, text)) over every text of 1 to `max_len` characters of the alphabet."""
    texts = ("".join(c) for n in range(1, max_len + 1) for c in itertools.product(ALPHABET, repeat=n))
    return sum(math.exp(logprob(pieces, t)) for t in texts)


@pytest.mark.parametrize("weight,cont", [(0.0, 0.2), (0.5, 0.2), (1.0, 0.05), (1.0, 0.5)])
def test_texts_stay_a_distribution(weight, cont):
    """Σ P(text) over every text up to length L grows with L and stays at most 1. The component's
    per-token score (later words read after `<unk>` whichever path an unknown word took) moves
    single texts by −0.3 to +0.7 nats against the exact sum over paths on this toy language, but
    the totals agree within 0.2 % (by L = 6: 0.253 with the spelling alone, 0.329 at λ = 1,
    ρ = 0.05). The totals are far from 1 because the toy segmenter never emits most of what the
    toy model writes (甲 + 乙 apart, a spelled 甲乙, 丙丙 as one word): that mass is lost, not
    moved."""
    pieces = Pieces(VOCAB, weight, cont)
    masses = [text_mass(text_logprob, pieces, n) for n in (4, 6)]
    exact = text_mass(paths_logprob, pieces, 6)
    assert masses[0] < masses[1] <= 1.0 and exact <= 1.0
    assert masses[1] == pytest.approx(exact, rel=0.01)
    if weight > 0:
        assert masses[1] > text_mass(text_logprob, Pieces(VOCAB, 0.0, cont), 6) * 1.05  # the second path adds mass


def test_split_reads_compounds_of_vocabulary_words_only():
    pieces = Pieces(VOCAB, 0.5, 0.2)
    ids = VOCAB.index
    assert pieces.split("甲乙甲") == [ids["甲乙"], ids["甲"]]  # the split with the best unigram sum
    assert pieces.split("乙乙") == [ids["乙"], ids["乙"]]
    for word in ["甲丙", "丙", "甲", "abc", "12", "😀😀", "甲a", "甲" * (MAX_CHARS + 1)]:
        assert pieces.split(word) is None, word
    assert Pieces(VOCAB, 0.0, 0.2).split("乙乙") is None  # λ = 0: the pieces path is off


def test_combine_adds_the_two_paths():
    pieces = Pieces(VOCAB, 0.25, 0.5)
    spelled, composed, unk = -12.0, -7.0, -2.0
    path = pieces.path_logprob(composed, 3)
    assert path == pytest.approx(math.log(0.25 * 0.5 * 0.5) + composed)  # λ π_3 Π
    # P(<unk>) Q = P(<unk>) P_spell + path
    assert unk + Pieces.combine(spelled, path, unk) == pytest.approx(math.log(math.exp(unk + spelled) + math.exp(path)))
    assert Pieces.combine(spelled, None, unk) == spelled  # no pieces: the spelling alone
    assert Pieces(VOCAB, 0.0, 0.5).path_logprob(composed, 2) is None  # λ = 0: the spelling alone
    assert pieces.path_logprob(None, 0) is None
    assert Pieces(VOCAB, 1.0, 0.0).path_logprob(composed, 3) is None  # ρ = 0: two pieces only
    assert math.isfinite(Pieces.combine(-1e4, pieces.path_logprob(-1e4, 2), -50.0))


def test_expanded_prefix_reads_earlier_compounds_as_pieces():
    ids = [BOS_ID, 4, UNK_ID, 5, UNK_ID, 6, EOS_ID]
    splits = {1: [4, 5], 3: [5, 5, 4]}
    assert expanded_prefix(ids, splits) == [BOS_ID, 4, 4, 5, 5, 5, 5, 4]
    (lps,) = pieces_logprobs([ids], [splits], toy_score)
    full = toy_score([expanded_prefix(ids, splits)])[0]
    assert lps[1] == pytest.approx(sum(full[1:3])) and lps[3] == pytest.approx(sum(full[4:7]))


@pytest.mark.parametrize("weight,cont", [(1.5, 0.2), (-0.1, 0.2), (0.5, 1.0), (0.5, "x"), (True, 0.2)])
def test_settings_are_checked(weight, cont):
    with pytest.raises(ValueError, match="E005"):
        Pieces(VOCAB, weight, cont)
