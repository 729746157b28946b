import pytest
import torch

import itertools
import math

from spacy_rnnlm.models.pytorch.adaptive_draws import draw_distinct_adaptive
from spacy_rnnlm.models.pytorch.lstm_lm import ADAPTIVE_CHUNK_ROWS, CHUNK_ROWS, FastDropout, LSTMLanguageModel
from spacy_rnnlm.sampling import make_generator

from .test_sampling import plackett_luce

V = 50


def make(cutoffs=(), **kwargs):
    torch.manual_seed(0)
    return LSTMLanguageModel(V, embed_width=8, hidden_width=16, depth=2, dropout=0.0, cutoffs=cutoffs, **kwargs).eval()


@pytest.mark.parametrize("cutoffs", [(), (10, 30)])
def test_lstm_lm_shapes_and_normalised(cutoffs):
    model = make(cutoffs)
    ids = torch.randint(4, V, (3, 7))
    h, _ = model.hidden(ids)
    assert h.shape == (3, 7, 16)
    lps = model.log_probs(h.reshape(-1, 16))
    assert lps.shape == (21, V)
    assert torch.allclose(lps.exp().sum(-1), torch.ones(21), atol=1e-5)
    # the cheap path gives the same numbers as the full distribution
    targets = torch.randint(1, V, (21,))
    assert torch.allclose(model.target_logprobs(h.reshape(-1, 16), targets), lps.gather(1, targets[:, None])[:, 0], atol=1e-5)


@pytest.mark.parametrize("cutoffs", [(), (10, 30)])
def test_lstm_lm_padding_ignored(cutoffs):
    model = make(cutoffs)
    seq = torch.tensor([[2, 5, 9, 11, 3]])
    alone = model(seq[:, :-1], seq[:, 1:])
    ids = torch.zeros((2, 9), dtype=torch.long)
    targets = torch.zeros((2, 9), dtype=torch.long)
    ids[0, :4], targets[0, :4] = seq[0, :-1], seq[0, 1:]
    ids[1] = torch.randint(4, V, (9,))
    targets[1] = torch.randint(4, V, (9,))
    batched = model(ids, targets)
    assert torch.allclose(batched[0, :4], alone[0], atol=1e-5)
    assert torch.all(batched[0, 4:] == 0.0)
    assert torch.all(alone < 0)


def test_lstm_lm_tie_weights_shares_embedding():
    model = LSTMLanguageModel(V, embed_width=8, hidden_width=12, tie_weights=True)
    assert model.decoder.weight is model.embed.weight
    assert model.proj is not None and model.proj.out_features == 8
    with pytest.raises(ValueError):
        LSTMLanguageModel(V, tie_weights=True, cutoffs=[10])


@pytest.mark.parametrize("cutoffs", [(), (10, 30)])
def test_lstm_lm_draws_exclude_specials_and_target_and_are_seeded(cutoffs):
    model = make(cutoffs)
    ids = torch.randint(4, V, (2, 6))
    targets = torch.randint(4, V, (2, 6))
    lp1, s1, slp1 = model(ids, targets, n_samples=5, seeds=[1, 2])
    s2 = model(ids, targets, n_samples=5, seeds=[1, 2]).sample_ids
    s3 = model(ids, targets, n_samples=5, seeds=[7, 8]).sample_ids
    assert s1.shape == (2, 6, 5)
    assert torch.equal(s1, s2)
    assert not torch.equal(s1, s3)
    assert torch.all(s1 >= 4)
    assert not torch.any(s1 == targets[..., None])
    for row in s1.reshape(-1, 5):
        assert len(set(row.tolist())) == 5
    full = model.log_probs(model.hidden(ids)[0].reshape(-1, 16)).reshape(2, 6, V)
    assert torch.allclose(slp1, full.gather(2, s1), atol=1e-5)
    # a sequence draws the same words alone as next to another one (its own generator)
    alone = model(ids[1:], targets[1:], n_samples=5, seeds=[2]).sample_ids
    assert torch.equal(alone[0], s1[1])


@pytest.mark.parametrize("target", [5, 20])  # observed word in the head / in a cluster
def test_lstm_lm_adaptive_draws_are_sampling_without_replacement(target):
    """Two-level draws through the adaptive softmax follow the full distribution exactly."""
    model = make((10, 30))
    with torch.no_grad():  # give the clusters real mass, so both levels are exercised
        model.adaptive.head.weight[10:] *= 0.0
        model.adaptive.head.weight[:10] *= 0.0
        model.adaptive.head.weight[:, 0] = torch.linspace(-1, 2, 12)
    h = torch.ones(1, 16).expand(20000, -1)
    targets = torch.full((20000,), target)
    full = model.log_probs(h[:1])[0].exp()
    lps = model.target_logprobs(h, targets)
    gen = make_generator(5, torch.device("cpu"))
    ids, drawn_lps = draw_distinct_adaptive(model.adaptive, h, targets, lps, 2, [(0, 20000, gen)], range(4))
    assert torch.allclose(drawn_lps, full.log()[ids], atol=1e-5)
    assert torch.all(ids >= 4) and not torch.any(ids == target) and torch.all(ids[:, 0] != ids[:, 1])
    p = full.clone()
    p[:4] = 0.0
    p[target] = 0.0
    p = (p / p.sum()).tolist()
    firsts = torch.bincount(ids[:, 0], minlength=V).tolist()
    for word in range(V):
        assert firsts[word] / 20000 == pytest.approx(p[word], abs=4 * math.sqrt(p[word] / 20000) + 1e-3)
    counts = {}
    for a, b in ids.tolist():
        counts[(a, b)] = counts.get((a, b), 0) + 1
    top = sorted(range(V), key=lambda w: -p[w])[:6]
    for pair in itertools.permutations(top, 2):
        expected = plackett_luce(p, pair)
        assert counts.get(pair, 0) / 20000 == pytest.approx(expected, abs=4 * math.sqrt(expected / 20000) + 1e-3)


@pytest.mark.parametrize("cutoffs,temperature,chunk", [((10, 30), 1.0, ADAPTIVE_CHUNK_ROWS), ((10, 30), 0.7, CHUNK_ROWS), ((), 1.0, CHUNK_ROWS)])
def test_lstm_lm_long_sequence_is_chunked(cutoffs, temperature, chunk):
    model = make(cutoffs)
    n = chunk * 2 + 5
    ids = torch.randint(4, V, (2, n))
    ids[1, 7:] = 0  # a short sequence next to the long one
    targets = ids.roll(-1, 1)
    out, drawn, _ = model(ids, targets, n_samples=2, temperature=temperature, seeds=[0, 1])
    assert out.shape == (2, n) and drawn.shape == (2, n, 2)
    assert torch.isfinite(out).all()
    valid = targets != 0
    assert torch.all(drawn[valid] >= 4) and torch.all(drawn[~valid] == 0)


def sorted_batch(lengths, seed=0):
    """Right-padded (ids, targets) of random sequences with these lengths (sorted, as training
    and scoring sort them)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.zeros((len(lengths), max(lengths)), dtype=torch.long)
    targets = torch.zeros_like(ids)
    for row, n in enumerate(sorted(lengths)):
        ids[row, :n] = torch.randint(4, V, (n,), generator=gen)
        targets[row, :n] = torch.randint(4, V, (n,), generator=gen)
    return ids, targets


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_lstm_lm_length_groups_give_the_padded_results(cell):
    model = make((10, 30), cell=cell)
    ids, targets = sorted_batch([1, 2, 2, 3, 5, 8, 9])
    padded = model(ids, targets)
    for sizes in ([7], [3, 1, 3], [1] * 7, [2, 0, 5]):
        assert torch.allclose(model(ids, targets, group_sizes=sizes), padded, atol=1e-5)
    with pytest.raises(ValueError, match="group sizes"):
        model(ids, targets, group_sizes=[3, 3])


def test_fast_dropout_keeps_the_expectation_and_is_off_in_eval():
    drop = FastDropout(0.25).train()
    torch.manual_seed(0)
    out = drop(torch.ones(200, 500))
    zeros = (out == 0).float().mean().item()
    assert 0.24 < zeros < 0.26 and torch.allclose(out[out != 0], torch.full_like(out[out != 0], 1 / 0.75))
    assert abs(out.mean().item() - 1.0) < 0.01
    assert torch.equal(drop.eval()(out), out)
    assert torch.equal(FastDropout(1.0).train()(torch.ones(3)), torch.zeros(3))
