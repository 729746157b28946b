import pytest
import torch

from spacy_rnnlm.models.pytorch.bilstm_lm import BiLSTMLanguageModel, TrainOutputs
from spacy_rnnlm.models.pytorch.lstm_lm import LSTMLanguageModel

V = 50


def make(cell="lstm", cutoffs=(10, 30), **kwargs):
    torch.manual_seed(0)
    return BiLSTMLanguageModel(
        V, embed_width=8, hidden_width=16, depth=2, dropout=0.0, cutoffs=cutoffs, cell=cell, **kwargs
    ).eval()


def pair(seq):
    """(ids, targets) of one sequence [<s>, w…, </s>] as a batch of one."""
    seq = torch.tensor([seq])
    return seq[:, :-1], seq[:, 1:]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bilstm_lm_fill_in_never_sees_its_own_word(cell):
    model = make(cell)
    base = [2, 5, 9, 11, 7, 3]
    ids, targets = pair(base)
    feats, mask, _ = model.fill_in(ids, targets)
    assert feats.shape == (1, 5, 16) and mask[0].tolist() == [True, True, True, True, False]
    for pos in range(1, 5):  # each word in turn replaced: its own column is unchanged, others move
        other = list(base)
        other[pos] = 20
        feats2, _, _ = model.fill_in(*pair(other))
        col = pos - 1
        assert torch.allclose(feats[0, col], feats2[0, col], atol=1e-6)
        changed = [c for c in range(4) if c != col and not torch.allclose(feats[0, c], feats2[0, c], atol=1e-6)]
        assert changed == [c for c in range(4) if c != col]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bilstm_lm_rows_independent_of_padding_and_batch(cell):
    model = make(cell)
    ids, targets = pair([2, 5, 9, 11, 3])
    alone, _, alone_lps = model.fill_in(ids, targets)
    batch_ids = torch.zeros((2, 8), dtype=torch.long)
    batch_targets = torch.zeros((2, 8), dtype=torch.long)
    batch_ids[0, :4], batch_targets[0, :4] = ids[0], targets[0]
    batch_ids[1] = torch.randint(4, V, (8,))
    batch_targets[1] = torch.randint(4, V, (8,))
    feats, mask, lps = model.fill_in(batch_ids, batch_targets)
    assert torch.allclose(feats[0, :3], alone[0, :3], atol=1e-5)
    assert torch.allclose(lps[0, :4], alone_lps[0], atol=1e-5) and torch.all(lps[0, 4:] == 0)
    assert mask[0].tolist() == [True] * 3 + [False] * 5


def test_bilstm_lm_scoring_is_the_forward_lm_alone():
    """Without `fill`, the forward LM's log-probs, exactly: the backward network does not run."""
    model = make()
    forward_only = LSTMLanguageModel(V, embed_width=8, hidden_width=16, depth=2, dropout=0.0, cutoffs=(10, 30)).eval()
    own = {k: v for k, v in model.state_dict().items() if k in forward_only.state_dict()}
    forward_only.load_state_dict(own)
    ids, targets = pair([2, 5, 9, 11, 3])
    calls = []
    model.backward_rnn.register_forward_hook(lambda *args: calls.append(1))
    assert torch.allclose(model(ids, targets), forward_only(ids, targets), atol=1e-6)
    assert calls == []
    _, _, lps = model.fill_in(ids, targets)
    assert torch.allclose(lps, forward_only(ids, targets), atol=1e-5) and calls == [1]


def test_bilstm_lm_training_outputs_and_fill_distribution_normalised():
    model = make(fill_share=1.0).train()
    ids, targets = pair([2, 5, 9, 11, 3])
    out = model(ids, targets, fill=True)
    assert isinstance(out, TrainOutputs)
    assert torch.all(out.logprobs < 0) and torch.all(out.fill_logprobs[0, :3] < 0) and out.fill_logprobs[0, 3] == 0
    (-(out.logprobs.sum() + out.fill_logprobs.sum())).backward()
    assert model.backward_rnn.weight_ih_l0.grad.abs().sum() > 0 and model.fill[0].weight.grad.abs().sum() > 0
    model.eval()
    feats, mask, _ = model.fill_in(ids, targets)
    full = model.log_probs(feats[mask])
    assert torch.allclose(full.exp().sum(1), torch.ones(3), atol=1e-5)
    # the cheap path (training) and the full distribution agree
    assert torch.allclose(model(ids, targets, fill=True).fill_logprobs[0, :3], full.gather(1, targets[0, :3, None])[:, 0], atol=1e-5)


def test_bilstm_lm_fill_share_samples_positions_and_keeps_the_scale():
    model = make(fill_share=0.5).train()
    torch.manual_seed(1)
    ids = torch.randint(4, V, (64, 12))
    targets = torch.randint(4, V, (64, 12))
    out = model(ids, targets, fill=True)
    picked = out.fill_logprobs[:, :-1] != 0
    assert 0.35 < picked.float().mean() < 0.65
    model.fill_share = 1.0
    torch.manual_seed(1)
    full = model(ids, targets, fill=True)
    # sampled entries are the full ones divided by the share (an unbiased estimate of the sum)
    assert torch.allclose(out.fill_logprobs[:, :-1][picked], full.fill_logprobs[:, :-1][picked] / 0.5, atol=1e-5)


def test_bilstm_lm_bad_settings():
    with pytest.raises(ValueError, match="cell"):
        BiLSTMLanguageModel(V, cell="rnn")
    with pytest.raises(ValueError, match="fill_share"):
        BiLSTMLanguageModel(V, fill_share=0.0)
    with pytest.raises(ValueError, match="tie_weights"):
        BiLSTMLanguageModel(V, embed_width=8, hidden_width=8, tie_weights=True)


@pytest.mark.parametrize("detach", [False, True])
def test_bilstm_lm_fill_detach_keeps_the_fill_loss_off_the_forward_lm(detach):
    model = make(fill_share=1.0, fill_detach=detach).train()
    ids, targets = pair([2, 5, 9, 11, 3])
    model(ids, targets, fill=True).fill_logprobs.sum().backward()  # the fill-in loss alone
    reached = [p.grad is not None and p.grad.abs().sum() > 0 for p in (model.embed.weight, model.lstm.weight_ih_l0)]
    assert reached == [not detach, not detach]
    assert model.backward_rnn.weight_ih_l0.grad.abs().sum() > 0 and model.adaptive.head.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bilstm_lm_length_groups_give_the_padded_results(cell):
    """Training runs the rows in length groups: the same log-probs of both objectives."""
    model = make(cell, fill_share=1.0).train()  # dropout 0: training outputs are deterministic
    lengths = [2, 2, 3, 5, 8, 9]
    gen = torch.Generator().manual_seed(0)
    ids = torch.zeros((len(lengths), 9), dtype=torch.long)
    targets = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(4, V, (n,), generator=gen)
        targets[row, :n] = torch.randint(4, V, (n,), generator=gen)
    padded = model(ids, targets, fill=True)
    grouped = model(ids, targets, fill=True, group_sizes=[3, 1, 2])
    assert torch.allclose(grouped.logprobs, padded.logprobs, atol=1e-5)
    assert torch.allclose(grouped.fill_logprobs, padded.fill_logprobs, atol=1e-5)
    assert torch.all(grouped.fill_logprobs[torch.arange(6), torch.tensor(lengths) - 1] == 0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bilstm_lm_token_states_are_each_direction_read_up_to_the_word(cell):
    """Word j's states: [embedding; forward network over <s> w1..wj; backward network over
    </s> wn..wj], whatever else is in the batch and however it is grouped."""
    model = make(cell)
    seq = [2, 5, 9, 11, 7, 3]  # <s> w1..w4 </s>
    ids, targets = pair(seq)
    states = model.token_states(ids, targets)
    assert states.shape == (4, model.state_width) == (4, 8 + 16 + 16)
    for j in range(1, 5):
        fwd, _ = model.lstm(model.embed(torch.tensor([seq[: j + 1]])))
        bwd, _ = model.backward_rnn(model.embed(torch.tensor([seq[j:][::-1]])))
        expected = torch.cat([model.embed.weight[seq[j]], fwd[0, -1], bwd[0, -1]])
        assert torch.allclose(states[j - 1], expected, atol=1e-5)
    other = torch.randint(4, V, (1, 9))
    batch_ids = torch.zeros((2, 9), dtype=torch.long)
    batch_targets = torch.zeros((2, 9), dtype=torch.long)
    batch_ids[0], batch_targets[0] = other[0], torch.randint(4, V, (9,))
    batch_ids[1, :5], batch_targets[1, :5] = ids[0], targets[0]
    batched = model.token_states(batch_ids, batch_targets, group_sizes=[1, 1])
    assert batched.shape == (8 + 4, model.state_width)
    assert torch.allclose(batched[8:], states, atol=1e-5)


def test_lstm_lm_token_states_are_embedding_and_forward_state():
    model = LSTMLanguageModel(V, embed_width=8, hidden_width=16, dropout=0.0, cutoffs=(10, 30)).eval()
    seq = [2, 5, 9, 11, 3]
    states = model.token_states(*pair(seq))
    fwd, _ = model.lstm(model.embed(torch.tensor([seq[:-1]])))
    assert states.shape == (3, model.state_width) == (3, 24)
    assert torch.allclose(states[:, 8:], fwd[0, 1:], atol=1e-5)
    assert torch.allclose(states[:, :8], model.embed.weight[seq[1:4]], atol=1e-6)
