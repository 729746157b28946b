import pytest
import torch

from spacy_rnnlm.models.pytorch.lstm_lm import CHUNK_ROWS, LSTMLanguageModel

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


def test_lstm_lm_draws_exclude_specials_and_target_and_are_seeded():
    model = make()
    ids = torch.randint(4, V, (2, 6))
    targets = torch.randint(4, V, (2, 6))
    lp1, s1, slp1 = model(ids, targets, n_samples=5, seeds=[1, 2])
    _, s2, _ = model(ids, targets, n_samples=5, seeds=[1, 2])
    _, s3, _ = model(ids, targets, n_samples=5, seeds=[7, 8])
    assert s1.shape == (2, 6, 5)
    assert torch.equal(s1, s2)
    assert not torch.equal(s1, s3)
    assert torch.all(s1 >= 4)
    assert not torch.any(s1 == targets[..., None])
    for row in s1.reshape(-1, 5):
        assert len(set(row.tolist())) == 5
    full = model.log_probs(model.hidden(ids)[0].reshape(-1, 16)).reshape(2, 6, V)
    assert torch.allclose(slp1, full.gather(2, s1), atol=1e-5)


def test_lstm_lm_long_sequence_is_chunked():
    model = make((10, 30))
    n = CHUNK_ROWS * 3 + 5
    ids = torch.randint(4, V, (1, n))
    out, drawn, _ = model(ids, ids.roll(-1, 1), n_samples=2, seeds=[0])
    assert out.shape == (1, n) and drawn.shape == (1, n, 2)
    assert torch.isfinite(out).all()
