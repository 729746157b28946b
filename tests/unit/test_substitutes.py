import torch

from spacy_rnnlm.inference.substitutes import draw_substitutes, word_meanings
from spacy_rnnlm.models.pytorch.lstm_lm import LSTMLanguageModel
from spacy_rnnlm.sampling import make_generator
from spacy_rnnlm.thesaurus import Thesaurus
from spacy_rnnlm.vocab import LMVocab

V = 60


def setup(rows=6):
    torch.manual_seed(0)
    model = LSTMLanguageModel(V, embed_width=8, hidden_width=16, cutoffs=(10, 30)).eval()
    feats = torch.randn(rows, 16)
    originals = torch.randint(4, V, (rows,))
    return model, feats, originals


def draw(model, feats, originals, seeds=(1, 2), **kw):
    settings = dict(n=4, pool=8, temperature=1.0, similarity=0.0, synonym_bonus=0.0, thesaurus=None)
    settings.update(kw)
    gens = [make_generator(s, feats.device) for s in seeds]
    return draw_substitutes(model, feats, originals, [3, 3], gens, **settings)


def test_substitutes_pool_distribution_and_exclusions():
    model, feats, originals = setup()
    ids, probs = draw(model, feats, originals)
    assert ids.shape == probs.shape == (6, 4)
    assert not (ids == originals.unsqueeze(1)).any() and (ids >= 4).all()
    assert all(len(set(row.tolist())) == 4 for row in ids)
    assert torch.all(probs[:, :-1] >= probs[:, 1:])  # best first
    # q is the fill-in distribution renormalised over the pool (similarity and bonus off)
    with torch.no_grad():
        full = model.log_probs(feats)[:, :30].clone()  # the pool: head and first cluster
    full[:, :4] = float("-inf")
    full[torch.arange(6), originals.clamp_max(29)] = torch.where(originals < 30, float("-inf"), full[torch.arange(6), originals.clamp_max(29)])
    top = torch.topk(full, 8, dim=1)
    q = torch.softmax(top.values, dim=1)
    for r in range(6):
        expected = dict(zip(top.indices[r].tolist(), q[r].tolist()))
        for word, p in zip(ids[r].tolist(), probs[r].tolist()):
            assert abs(expected[word] - p) < 1e-5


def test_substitutes_seeded_per_sequence():
    model, feats, originals = setup()
    a = draw(model, feats, originals, seeds=(1, 2))
    b = draw(model, feats, originals, seeds=(1, 3))
    assert torch.equal(a[0][:3], b[0][:3])  # the first sequence keeps its generator
    draws = {tuple(draw(model, feats, originals, seeds=(s, 2))[0][0].tolist()) for s in range(20)}
    assert len(draws) > 1  # drawn, not the top-k


def test_substitutes_synonym_bonus_and_similarity():
    model, feats, originals = setup()
    original = int(originals[0])
    synonym = 45 if original != 45 else 46  # in the last cluster: outside the fill-in pool
    thesaurus = Thesaurus({original: [synonym]}, "toy")
    ids, probs = draw(model, feats, originals, thesaurus=thesaurus, synonym_bonus=50.0)
    assert int(ids[0, 0]) == synonym and probs[0, 0] > 0.99
    # with an embedding similarity weight, the most similar word rises to the top
    with torch.no_grad():
        model.embed.weight[synonym] = model.embed.weight[original]
    ids, _ = draw(model, feats, originals, thesaurus=thesaurus, similarity=60.0)
    assert int(ids[0, 0]) == synonym


def test_substitutes_unknown_words_mean_what_their_characters_mean():
    model, _, _ = setup()
    vocab = LMVocab([chr(0x4E00 + i) for i in range(V - 4)])
    a, b = vocab.words[10], vocab.words[11]
    meanings = word_meanings(model, [10, 1, 1], [a, a + b + "x", "xyz"], vocab)
    emb = model.embed.weight.detach()
    assert torch.allclose(meanings[0], emb[10])
    assert torch.allclose(meanings[1], (emb[10] + emb[11]) / 2)  # unknown: its known characters
    assert torch.all(meanings[2] == 0)  # nothing known: no similarity term
