import pytest
import torch
from torch.nn import functional as F

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


def expected_pools(model, feats, originals, pool=8, similarity=0.0, bonus=0.0, thesaurus=None):
    """q over each row's pool, computed from the whole distribution: the `pool` head words (ids
    < 10) most likely there, the `pool` words (ids < 30: head and first cluster) nearest to the
    original by embedding cosine, and its synonyms; never a special nor the original."""
    with torch.no_grad():
        full = model.log_probs(feats)
        emb = F.normalize(model.embed.weight, dim=1)
        cos = emb[originals] @ emb.T
    pools = []
    for r, o in enumerate(originals.tolist()):
        fits = [w for w in full[r, :10].argsort(descending=True).tolist() if w >= 4 and w != o][:pool]
        near = [w for w in cos[r, :30].argsort(descending=True).tolist() if w >= 4 and w != o][:pool]
        syn = thesaurus(o) if thesaurus else []
        cands = sorted(set(fits) | set(near) | set(syn))
        score = torch.stack([full[r, w] + similarity * cos[r, w] + bonus * (w in syn) for w in cands])
        pools.append(dict(zip(cands, torch.softmax(score.double(), 0).tolist())))
    return pools


@pytest.mark.parametrize("similarity,bonus", [(0.0, 0.0), (3.0, 2.0)])
def test_substitutes_pool_distribution_and_exclusions(similarity, bonus):
    model, feats, originals = setup()
    thesaurus = Thesaurus({int(o): [5, 45, 50] for o in originals if int(o) not in (5, 45, 50)}, "toy") if bonus else None
    ids, probs = draw(model, feats, originals, similarity=similarity, synonym_bonus=bonus, thesaurus=thesaurus)
    assert ids.shape == probs.shape == (6, 4)
    assert not (ids == originals.unsqueeze(1)).any() and (ids >= 4).all()
    assert all(len(set(row.tolist())) == 4 for row in ids)
    assert torch.all(probs[:, :-1] >= probs[:, 1:])  # best first
    for r, expected in enumerate(expected_pools(model, feats, originals, similarity=similarity, bonus=bonus, thesaurus=thesaurus)):
        for word, p in zip(ids[r].tolist(), probs[r].tolist()):
            assert abs(expected[word] - p) < 1e-5


def test_substitutes_draws_follow_the_pool_distribution():
    """Over many seeds, the first draw's frequencies match q (the drawn distribution)."""
    model, feats, originals = setup(rows=3)
    expected = expected_pools(model, feats, originals, similarity=2.0)[0]
    counts = {}
    for seed in range(400):
        gens = [make_generator(seed, feats.device)]
        ids, _ = draw_substitutes(model, feats, originals, [3], gens, n=1, pool=8, temperature=1.0, similarity=2.0, synonym_bonus=0.0, thesaurus=None)
        counts[int(ids[0, 0])] = counts.get(int(ids[0, 0]), 0) + 1
    for word, p in expected.items():
        assert abs(counts.get(word, 0) / 400 - p) < 0.08
    assert set(counts) <= set(expected)


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
    model, feats, _ = setup(rows=3)
    vocab = LMVocab([chr(0x4E00 + i) for i in range(V - 4)])
    a, b = vocab.words[10], vocab.words[11]
    meanings, parts = word_meanings(model, [10, 1, 1], [a, a + b + "x", "xyz"], vocab)
    emb = model.embed.weight.detach()
    assert torch.allclose(meanings[0], emb[10])
    assert torch.allclose(meanings[1], (emb[10] + emb[11]) / 2)  # unknown: its known characters
    assert torch.all(meanings[2] == 0)  # nothing known: no similarity term
    assert parts.tolist() == [[-1, -1], [10, 11], [-1, -1]]
    # its characters are the words nearest to its meaning, but never drawn as its substitutes
    originals = torch.tensor([10, 1, 1])
    gens = [make_generator(s, feats.device) for s in range(3)]
    kw = dict(n=4, pool=8, temperature=1.0, similarity=50.0, synonym_bonus=0.0, thesaurus=None, meanings=meanings)
    ids, _ = draw_substitutes(model, feats, originals, [1, 1, 1], gens, **kw)
    assert {10, 11} & set(ids[1].tolist())  # drawn when not left out: by far the nearest
    ids, _ = draw_substitutes(model, feats, originals, [1, 1, 1], gens, parts=parts, **kw)
    assert not {10, 11} & set(ids[1].tolist())


def test_substitutes_of_an_unknown_word_include_its_dictionary_synonyms():
    """A word outside the vocabulary with thesaurus synonyms (by spelling) gets them as candidates
    with the synonym bonus; rows of known words are untouched."""
    model, feats, originals = setup()
    originals = originals.clone()
    originals[0] = 1  # <unk>
    synonym = 45  # in the last cluster: outside the fill-in pool and the nearest words
    extra = torch.full((6, 1), -1, dtype=torch.long)
    extra[0, 0] = synonym
    ids, probs = draw(model, feats, originals, synonym_bonus=50.0, unknown_synonyms=extra)
    assert int(ids[0, 0]) == synonym and probs[0, 0] > 0.99
    plain_ids, plain_probs = draw(model, feats, originals, synonym_bonus=50.0)
    assert synonym not in plain_ids[0].tolist()
    for row in range(1, 3):  # its sentence-mates: the same pool distribution q
        got = dict(zip(ids[row].tolist(), probs[row].tolist()))
        want = dict(zip(plain_ids[row].tolist(), plain_probs[row].tolist()))
        assert all(got[w] == pytest.approx(want[w]) for w in set(got) & set(want))
    # the other sequence draws exactly as before, although the batch's pool grew wider for it
    assert torch.equal(ids[3:], plain_ids[3:]) and torch.allclose(probs[3:], plain_probs[3:])


def test_substitutes_min_p_cut_is_per_row():
    """After the min-p cut each row draws every word left above it (up to n), whatever the other
    rows of its sentence keep; drawn words are within min_p of the row's best, renormalised."""
    model, feats, originals = setup()
    feats = feats.clone()
    feats[0] *= 50.0  # a very sure row: the cut leaves it one or two words
    ids, probs = draw(model, feats, originals, min_p=0.2)
    _, whole = draw(model, feats, originals, min_p=0.0)
    kept = (probs > 0).sum(1)
    assert int(kept[0]) < 4 and kept[1:3].tolist() == [4, 4]  # row 0 does not cap its sentence-mates (rows 1, 2)
    for row in range(6):
        p = probs[row][probs[row] > 0]
        assert float(p.min()) >= 0.2 * float(p.max()) - 1e-12 and float(p.sum()) <= 1 + 1e-9
    assert (whole > 0).all()
