import math

import pytest

from spacy_rnnlm import scoring


def test_scoring_formulas_by_hand():
    lps = [math.log(0.5), math.log(0.25), math.log(0.125)]
    total = sum(lps)
    # mean -log p = ln 4 → perplexity 4, plausibility 1/4
    assert scoring.perplexity(total, 3) == pytest.approx(4.0)
    assert scoring.plausibility(total, 3) == pytest.approx(0.25)
    assert scoring.surprisal_bits(math.log(0.125)) == pytest.approx(3.0)
    uni = 3 * math.log(0.1)
    assert scoring.slor(total, uni, 3) == pytest.approx((total - uni) / 3)
    assert scoring.bits_per_char(total, 4) == pytest.approx(6.0 / 4)


def test_scoring_nothing_counted_is_none():
    assert scoring.perplexity(0.0, 0) is None
    assert scoring.plausibility(0.0, 0) is None
    assert scoring.slor(0.0, 0.0, 0) is None
    assert scoring.bits_per_char(0.0, 0) is None
