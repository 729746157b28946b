import pytest
import torch

from spacy_rnnlm.inference.fill import PoolLogprobs
from spacy_rnnlm.models.pytorch.lstm_lm import LSTMLanguageModel

V = 60


@pytest.mark.parametrize("cutoffs", [(), (10, 30)])
def test_fill_pool_logprobs_are_exact(cutoffs):
    torch.manual_seed(0)
    model = LSTMLanguageModel(V, embed_width=8, hidden_width=16, cutoffs=cutoffs).eval()
    feats = torch.randn(7, 16)
    with torch.inference_mode():
        full = model.log_probs(feats)
        levels = PoolLogprobs(model, feats, None)
        ids = torch.randint(0, V, (7, 9))
        assert torch.allclose(levels.lookup(ids), full.gather(1, ids), atol=1e-5)
        exclude = torch.randint(4, V, (7,))
        top_ids, top_lps = levels.top(5, exclude, n_special=4)
    # the top words among the pool's (all words, or the head's and the first cluster's)
    pool = full[:, : levels.pool_size].clone()
    pool[:, :4] = float("-inf")
    pool[torch.arange(7), exclude.clamp_max(levels.pool_size - 1)] = torch.where(
        exclude < levels.pool_size, torch.tensor(float("-inf")), pool[torch.arange(7), exclude.clamp_max(levels.pool_size - 1)]
    )
    expected = torch.topk(pool, 5, dim=1)
    assert torch.equal(top_ids, expected.indices) and torch.allclose(top_lps, expected.values, atol=1e-5)
    assert levels.pool_size == (30 if cutoffs else V)


def test_fill_in_reads_an_unknown_word_as_its_pieces_where_that_path_wins():
    """The fill-in features of the words around an unknown word read through its pieces are
    those of the sentence written with the pieces (穿点 → 穿 点): the neighbours see the pieces,
    not <unk>; a word whose spelled path wins is read as <unk>; the word-level log-probs stay."""
    import numpy

    from spacy_rnnlm.inference.fill import context_features
    from spacy_rnnlm.inference.units import Unit
    from spacy_rnnlm.models.pytorch.bilstm_lm import BiLSTMLanguageModel
    from spacy_rnnlm.vocab import BOS_ID, EOS_ID, UNK_ID

    from thinc.api import get_current_ops

    torch.manual_seed(0)
    model = BiLSTMLanguageModel(V, embed_width=8, hidden_width=16, backward_width=8, fill_width=12).eval()
    ops = get_current_ops()
    w1, p1, p2, w3 = 10, 11, 12, 13

    def unit(ids, **kw):
        return Unit(list(range(len(ids) - 2)), ids=numpy.asarray(ids, dtype="int64"), **kw)

    compound = unit([BOS_ID, w1, UNK_ID, w3, EOS_ID], spelling=[None, -30.0, None], pieces=[None, -5.0, None], splits={1: [p1, p2]})
    named = unit([BOS_ID, w1, UNK_ID, w3, EOS_ID], spelling=[None, -1.0, None], pieces=[None, -40.0, None], splits={1: [p1, p2]})
    written = unit([BOS_ID, w1, p1, p2, w3, EOS_ID])
    plain = unit([BOS_ID, w1, UNK_ID, w3, EOS_ID])
    feats = context_features(model, [compound, named, written, plain], both_sides=True, batch_tokens=64, compute_dtype=None, ops=ops)
    assert feats[0].shape == feats[1].shape == feats[3].shape and feats[0].shape[0] == 3
    assert torch.allclose(feats[0][0], feats[2][0], atol=1e-5) and torch.allclose(feats[0][2], feats[2][3], atol=1e-5)
    assert not torch.allclose(feats[0][0], feats[3][0], atol=1e-3)  # <unk> is not what it read
    assert torch.allclose(feats[1], feats[3], atol=1e-5)  # a name: spelled out, read as <unk>
    assert compound.logprobs.shape == (4,) and numpy.allclose(compound.logprobs, plain.logprobs, atol=1e-5)
