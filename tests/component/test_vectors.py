"""The LM's word vectors as the pipeline's static vectors."""
import numpy
import pytest
import spacy
import torch
from spacy.util import registry

from spacy_rnnlm.models.architectures import torch_module
from spacy_rnnlm.vectors import VECTORS_NAME, lm_word_vectors, set_static_vectors

from ..conftest import make_nlp, train


def embeddings(nlp):
    lm = nlp.get_pipe("rnnlm")
    module = torch_module(lm.model)
    return lm, module.embed.weight.detach().numpy()


def test_vectors_after_initialize_are_the_input_embeddings():
    nlp = make_nlp()
    train(nlp, steps=0, static_vectors="input")
    lm, table = embeddings(nlp)
    vectors = nlp.vocab.vectors
    assert vectors.name == VECTORS_NAME
    assert vectors.shape == (len(lm.lm_vocab) - torch_module(lm.model).n_special, table.shape[1])
    for word in ("我们", "公园", "。"):
        assert numpy.allclose(nlp.vocab[word].vector, table[lm.lm_vocab.index[word]])


def test_vectors_follow_training_and_survive_a_disk_round_trip(trained_nlp, trained_path):
    lm = trained_nlp.get_pipe("rnnlm")
    words, table = lm_word_vectors(lm)  # the default kind: the output word vectors
    assert table.shape[1] == 48
    assert numpy.allclose(trained_nlp.vocab["公园"].vector, table[words.index("公园")])
    nlp = spacy.load(trained_path)
    assert nlp.vocab.vectors.shape == trained_nlp.vocab.vectors.shape
    assert numpy.allclose(nlp.vocab["公园"].vector, trained_nlp.vocab["公园"].vector)
    doc = nlp("我们今天去公园玩。")
    assert all(t.has_vector for t in doc)
    assert doc[0].similarity(doc[0]) == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= doc[0].similarity(doc[3]) < 1.0
    assert doc.similarity(nlp("天气很好。")) < doc.similarity(doc) + 1e-6
    oov = nlp("犇骉")
    assert not any(t.has_vector for t in oov) and numpy.all(oov[0].vector == 0)
    keys, _, scores = nlp.vocab.vectors.most_similar(nlp.vocab["公园"].vector[None, :], n=3)
    assert nlp.vocab.strings[int(keys[0, 0])] == "公园" and scores[0, 0] == pytest.approx(1.0, abs=1e-4)


def test_vectors_callback_refreshes_and_own_vectors_are_kept():
    nlp = make_nlp()
    train(nlp, steps=0, static_vectors="input")
    lm, table = embeddings(nlp)
    with torch.no_grad():
        torch_module(lm.model).embed.weight.add_(1.0)
    before = nlp.vocab["公园"].vector.copy()
    registry.callbacks.get("spacy-rnnlm.static_vectors.v1")()(nlp)
    assert numpy.allclose(nlp.vocab["公园"].vector, before + 1.0)
    # a pipeline that brings its own vectors keeps them
    nlp.vocab.reset_vectors(width=4)
    nlp.vocab.set_vector("公园", numpy.ones(4, dtype="float32"))
    assert set_static_vectors(lm) is False
    assert nlp.vocab.vectors.name != VECTORS_NAME and nlp.vocab.vectors.shape[1] == 4
    assert numpy.allclose(nlp.vocab.get_vector("公园"), numpy.ones(4))


@pytest.mark.parametrize("kind,width", [("output", 48), ("input+output", 32 + 48)])
def test_vectors_of_each_kind(kind, width):
    nlp = make_nlp()
    train(nlp, steps=0, static_vectors=kind)
    lm = nlp.get_pipe("rnnlm")
    assert nlp.vocab.vectors.shape == (len(lm.lm_vocab) - torch_module(lm.model).n_special, width)
    assert nlp.vocab.get_vector("公园") @ nlp.vocab.get_vector("公园") > 0
    if kind == "input+output":  # both halves unit length
        vec = nlp.vocab.get_vector("公园")
        assert numpy.linalg.norm(vec[:32]) == pytest.approx(1.0, abs=1e-5)
        assert numpy.linalg.norm(vec[32:]) == pytest.approx(1.0, abs=1e-5)


def test_vectors_none_leaves_the_table_and_bad_kind_is_an_error():
    nlp = make_nlp()
    train(nlp, steps=0, static_vectors=None)
    assert nlp.vocab.vectors.shape[0] == 0
    with pytest.raises(ValueError, match="E005"):
        train(make_nlp(), steps=0, static_vectors="hidden")


def test_vectors_context_are_mean_states_and_survive_saving(trained_path, tmp_path):
    from spacy_rnnlm.inference.states import eval_states
    from spacy_rnnlm.inference.units import encode, sequence_units
    from spacy_rnnlm.vectors import CONTEXT, context_vectors

    from ..conftest import TRAIN_TEXTS

    nlp = spacy.load(trained_path)
    lm = nlp.get_pipe("rnnlm")
    module = torch_module(lm.model)
    seen = context_vectors(nlp, lm, TRAIN_TEXTS, batch_size=4)  # several batches
    part = slice(module.embed.embedding_dim, module.embed.embedding_dim + module.lstm.hidden_size)
    assert nlp.vocab.vectors.shape == (len(lm.lm_vocab) - module.n_special, module.lstm.hidden_size)
    assert 0 < seen <= nlp.vocab.vectors.shape[0] and lm.cfg["static_vectors"] == CONTEXT
    # 我们 by hand: its states in every sentence it occurs in, averaged
    rows = []
    for doc in nlp.pipe(TRAIN_TEXTS):
        for unit in sequence_units(doc):
            words = [doc[i].text for i in unit]
            states = eval_states(module, [encode(lm.lm_vocab, words)], batch_tokens=4096, compute_dtype=lm.compute_dtype(), ops=lm.model.ops)[0]
            rows += [states[k, part].numpy() for k, w in enumerate(words) if w == "我们"]
    assert len(rows) >= 3
    numpy.testing.assert_allclose(nlp.vocab["我们"].vector, numpy.mean(rows, axis=0), atol=1e-4)
    # saving again keeps them (the callback does not put weight vectors back), and they load
    registry.callbacks.get("spacy-rnnlm.static_vectors.v1")()(nlp)
    nlp.to_disk(tmp_path / "ctx")
    loaded = spacy.load(tmp_path / "ctx")
    numpy.testing.assert_allclose(loaded.vocab["我们"].vector, numpy.mean(rows, axis=0), atol=1e-4)
    assert loaded.get_pipe("rnnlm").cfg["static_vectors"] == CONTEXT
    with pytest.raises(ValueError, match="from text"):
        lm_word_vectors(loaded.get_pipe("rnnlm"))
