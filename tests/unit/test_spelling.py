import itertools
import math

import pytest

from spacy_rnnlm.spelling import SpellingModel

TRAIN = ["ab", "aab", "ba", "b", "bb", "aba", "c"]  # "c" once: trained as the unseen-character event


def total_mass(model, alphabet, max_len, exclude=()):
    return sum(
        math.exp(model.logprob("".join(chars)))
        for n in range(1, max_len + 1)
        for chars in itertools.product(alphabet, repeat=n)
        if "".join(chars) not in exclude
    )


@pytest.mark.parametrize("order", [1, 2, 3])
def test_spelling_is_a_distribution_over_strings(order):
    """Summed over every string up to length L, P_spell approaches 1 as L grows, never above."""
    # a toy universe of 4 characters: a, b seen; c (seen once) and d share the unseen event
    model = SpellingModel.build(TRAIN, order=order, universe=4)
    assert model.alphabet == ["a", "b"]
    masses = [total_mass(model, "abcd", n) for n in range(1, 9)]
    assert all(m <= 1.0 + 1e-9 for m in masses)
    assert all(b > a for a, b in zip(masses, masses[1:]))
    gaps = [1.0 - m for m in masses]
    assert gaps[-1] < 0.1 and gaps[-1] < 0.5 * gaps[3]  # the missing mass shrinks towards 0


def test_spelling_vocabulary_words_get_no_mass():
    vocab = ["a", "ab", "b"]
    model = SpellingModel.build(TRAIN, order=2, universe=4, vocab=vocab)
    assert 0 < model.vocab_mass < 1
    masses = [total_mass(model, "abcd", n, exclude=vocab) for n in (5, 8)]
    assert masses[0] < masses[1] <= 1.0 + 1e-9 and masses[1] > 0.9
    assert model.logprob("aab") > model.raw_logprob("aab")


def test_spelling_scores_seen_shapes_higher_and_round_trips():
    model = SpellingModel.build(TRAIN, order=3)
    assert model.logprob("ab") > model.logprob("ba") > model.logprob("zq")
    assert model.logprob("ab") > model.logprob("ababababab")  # longer strings cost more
    assert math.isinf(model.logprob("")) and model.logprob("\x03") < 0  # a control char is just unseen
    back = SpellingModel.from_dict(model.to_dict())
    for word in ["ab", "zq", "abc", "公园"]:
        assert back.logprob(word) == pytest.approx(model.logprob(word))
    with pytest.raises(ValueError, match="E010"):
        SpellingModel.from_dict({"order": 3})
