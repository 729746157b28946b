import itertools
import math

import pytest
import torch

from spacy_rnnlm.sampling import (
    apply_top_k,
    apply_top_p,
    check_temperature,
    check_top_k,
    check_top_p,
    draw_distinct,
    make_generator,
)


def plackett_luce(p, seq):
    """Probability of drawing the ordered sequence `seq` without replacement from `p`."""
    prob, left = 1.0, 1.0
    for i in seq:
        prob *= p[i] / left
        left -= p[i]
    return prob


@pytest.mark.parametrize("peaked", [False, True])
def test_sampling_draw_distinct_is_sampling_without_replacement(peaked):
    p = torch.tensor([0.0, 0.5, 0.2, 0.15, 0.1, 0.05]) if not peaked else torch.tensor([0.0, 0.97, 0.01, 0.01, 0.005, 0.005])
    lps = torch.log(p.clamp_min(1e-30)).expand(20000, -1).clone()
    ids, drawn_lps = draw_distinct(lps, 2, exclude=[0], generator=make_generator(3, torch.device("cpu")))
    assert ids.shape == (20000, 2)
    assert torch.all(ids[:, 0] != ids[:, 1]) and torch.all(ids > 0)
    assert torch.allclose(drawn_lps, lps.gather(1, ids))
    counts = {}
    for a, b in ids.tolist():
        counts[(a, b)] = counts.get((a, b), 0) + 1
    for pair in itertools.permutations(range(1, 6), 2):
        expected = plackett_luce(p.tolist(), pair)
        assert counts.get(pair, 0) / 20000 == pytest.approx(expected, abs=4 * math.sqrt(expected / 20000) + 1e-3)


def test_sampling_draw_distinct_excludes_targets_and_is_seeded():
    lps = torch.log_softmax(torch.randn(50, 30), dim=-1)
    targets = lps.argmax(1)
    a, _ = draw_distinct(lps, 5, exclude=[0, 1], exclude_targets=targets, generator=make_generator(1, torch.device("cpu")))
    b, _ = draw_distinct(lps, 5, exclude=[0, 1], exclude_targets=targets, generator=make_generator(1, torch.device("cpu")))
    c, _ = draw_distinct(lps, 5, exclude=[0, 1], exclude_targets=targets, generator=make_generator(2, torch.device("cpu")))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.any(a == targets[:, None]) and torch.all(a >= 2)
    # very low temperature: still n distinct words
    d, _ = draw_distinct(lps, 5, exclude=[0, 1], temperature=1e-4, generator=make_generator(1, torch.device("cpu")))
    assert all(len(set(row)) == 5 for row in d.tolist())


def test_sampling_filters():
    lps = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(apply_top_k(lps, 2)[0, 2:]).all() and torch.isfinite(apply_top_k(lps, 2)[0, :2]).all()
    kept = torch.isfinite(apply_top_p(lps, 0.8))[0].tolist()
    assert kept == [True, True, False, False]
    assert torch.isfinite(apply_top_p(lps, 0.1))[0].tolist() == [True, False, False, False]


@pytest.mark.parametrize("check,bad", [(check_temperature, -1), (check_top_k, -1), (check_top_k, 1.5), (check_top_p, 0), (check_top_p, 1.1)])
def test_sampling_argument_errors(check, bad):
    with pytest.raises(ValueError, match="E005"):
        check(bad)
