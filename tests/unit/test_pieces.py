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


def q_mass(pieces: Pieces, spelling: SpellingModel, max_len: int) -> float:
    """Σ over every unknown string up to `max_len` of Q(u | <unk>, after <s>)."""
    strings = ["".join(c) for n in range(1, max_len + 1) for c in itertools.product(ALPHABET, repeat=n)]
    strings = [u for u in strings if u not in VOCAB]
    splits = [{0: s} if (s := pieces.split(u)) else {} for u in strings]
    seqs = [[BOS_ID, UNK_ID, EOS_ID]] * len(strings)
    composed = pieces_logprobs(seqs, splits, toy_score)
    return sum(
        math.exp(pieces.combine(spelling.logprob(u), c.get(0), len(s.get(0, ())))) for u, s, c in zip(strings, splits, composed)
    )


@pytest.mark.parametrize("weight,cont", [(0.0, 0.2), (0.5, 0.2), (0.9, 0.5)])
def test_unknown_words_stay_a_distribution(weight, cont):
    """Σ_w P(w | h) over the vocabulary and every string up to length L never exceeds 1 and
    grows with L. With λ > 0 the limit is below 1 (0.95 at λ = 0.5 here): the pieces path loses
    the piece sequences that hold <unk> or </s> (37 % of each step of this toy model) or that
    spell a vocabulary word (甲 + 乙), so the scores are those of a deficient model, never more."""
    spelling = SpellingModel.build(["甲丙", "丙丁", "丁", "乙丙甲"], order=2, universe=4, vocab=VOCAB.words[4:])
    pieces = Pieces(VOCAB, weight, cont)
    p = toy_next(BOS_ID)
    in_vocab = p[4:].sum() + p[EOS_ID]
    totals = [in_vocab + p[UNK_ID] * q_mass(pieces, spelling, n) for n in (4, 6)]
    assert all(t <= 1.0 + 1e-9 for t in totals)
    assert totals[0] < totals[1] and totals[1] > (0.99 if weight == 0 else 0.9)


def test_split_reads_compounds_of_vocabulary_words_only():
    pieces = Pieces(VOCAB, 0.5, 0.2)
    ids = VOCAB.index
    assert pieces.split("甲乙甲") == [ids["甲乙"], ids["甲"]]  # the split with the best unigram sum
    assert pieces.split("乙乙") == [ids["乙"], ids["乙"]]
    for word in ["甲丙", "丙", "甲", "abc", "12", "😀😀", "甲a", "甲" * (MAX_CHARS + 1)]:
        assert pieces.split(word) is None, word
    assert Pieces(VOCAB, 0.0, 0.2).split("乙乙") is None  # λ = 0: the pieces path is off


def test_combine_is_a_mixture():
    pieces = Pieces(VOCAB, 0.25, 0.5)
    spelled, composed = -12.0, -7.0
    expected = math.log(0.75 * math.exp(spelled) + 0.25 * 0.5 * 0.5 * math.exp(composed))  # k = 3
    assert pieces.combine(spelled, composed, 3) == pytest.approx(expected)
    assert pieces.combine(spelled, None) == pytest.approx(math.log(0.75) + spelled)
    assert Pieces(VOCAB, 0.0, 0.5).combine(spelled, composed, 2) == spelled  # λ = 0: today's score
    assert math.isfinite(pieces.combine(-1e4, -1e4, 2))


def test_expanded_prefix_reads_earlier_compounds_as_pieces():
    ids = [BOS_ID, 4, UNK_ID, 5, UNK_ID, 6, EOS_ID]
    splits = {1: [4, 5], 3: [5, 5, 4]}
    assert expanded_prefix(ids, splits) == [BOS_ID, 4, 4, 5, 5, 5, 5, 4]
    (lps,) = pieces_logprobs([ids], [splits], toy_score)
    full = toy_score([expanded_prefix(ids, splits)])[0]
    assert lps[1] == pytest.approx(sum(full[1:3])) and lps[3] == pytest.approx(sum(full[4:7]))


@pytest.mark.parametrize("weight,cont", [(1.0, 0.2), (-0.1, 0.2), (0.5, 1.0), (0.5, "x")])
def test_settings_are_checked(weight, cont):
    with pytest.raises(ValueError, match="E005"):
        Pieces(VOCAB, weight, cont)
