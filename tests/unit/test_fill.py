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
