"""The rnnlm's token states as features of another component (spacy-rnnlm.RNNLMListener.v1)."""
import numpy
import pytest
import torch
from spacy.training import Example
from thinc.api import Adam, fix_random_seed

from spacy_rnnlm.models.architectures import torch_module

from ..conftest import TRAIN_TEXTS, make_nlp, train

WIDTH = 32 + 48 + 32  # TINY_MODEL: embedding + forward + backward
LABELLED = [(text, "POS" if "好" in text or "喜欢" in text or "棒" in text else "NEG") for text in TRAIN_TEXTS]


def textcat_config(width=WIDTH):
    return {
        "model": {
            "@architectures": "spacy.TextCatReduce.v1",
            "exclusive_classes": True,
            "use_reduce_first": False,
            "use_reduce_last": False,
            "use_reduce_max": True,
            "use_reduce_mean": True,
            "tok2vec": {"@architectures": "spacy-rnnlm.RNNLMListener.v1", "width": width, "upstream": "rnnlm"},
        }
    }


def examples(nlp):
    out = []
    for text, label in LABELLED:
        cats = {"POS": float(label == "POS"), "NEG": float(label == "NEG")}
        out.append(Example.from_dict(nlp.make_doc(text), {"cats": cats}))
    return out


def listener_pipeline():
    """A tiny trained rnnlm with a textcat listening to it (not trained yet)."""
    nlp = make_nlp()
    train(nlp, steps=30)
    nlp.add_pipe("textcat", config=textcat_config())
    textcat = nlp.get_pipe("textcat")
    for label in ("POS", "NEG"):
        textcat.add_label(label)
    textcat.initialize(lambda: examples(nlp), nlp=nlp)
    return nlp


def lm_weights(nlp):
    return torch.cat([p.detach().flatten().clone() for p in torch_module(nlp.get_pipe("rnnlm").model).parameters()])


def fit(nlp, steps, exclude=(), annotates=("sentencizer",)):
    fix_random_seed(0)
    optimizer = Adam(0.01)
    history = []
    for _ in range(steps):
        losses = {}
        nlp.update(examples(nlp), sgd=optimizer, losses=losses, exclude=list(exclude), annotates=list(annotates))
        history.append(losses["textcat"])
    return history


def test_listener_is_linked_and_width_checked():
    nlp = listener_pipeline()
    rnnlm = nlp.get_pipe("rnnlm")
    assert rnnlm.listening_components == ["textcat"] and rnnlm.state_width == WIDTH
    other = make_nlp()
    with pytest.raises(ValueError, match=r"\[E013\].*width = 112"):
        other.add_pipe("textcat", config=textcat_config(width=100))


def test_listener_fine_tunes_the_lm_in_the_same_step():
    """The textcat's gradient reaches the LM: its weights move away from those of the same
    updates without the textcat (from the second update: the textcat's output layer starts at
    zero, so the first sends no gradient)."""
    nlp = listener_pipeline()
    alone = make_nlp()
    train(alone, steps=30)
    assert torch.equal(lm_weights(nlp), lm_weights(alone))
    for pipeline in (nlp, alone):
        fix_random_seed(0)
        optimizer = Adam(0.01)
        for _ in range(2):
            pipeline.update(examples(pipeline), sgd=optimizer, annotates=["sentencizer"])
    assert not torch.allclose(lm_weights(nlp), lm_weights(alone))
    history = fit(nlp, 25)
    assert history[-1] < 0.5 * history[0]


def test_listener_with_frozen_lm_reads_the_annotated_states():
    nlp = listener_pipeline()
    before = lm_weights(nlp)
    history = fit(nlp, 25, exclude=["rnnlm"], annotates=["sentencizer", "rnnlm"])
    assert torch.equal(before, lm_weights(nlp))
    assert history[-1] < 0.5 * history[0]
    with pytest.raises(ValueError, match=r"\[E014\]"):
        fit(nlp, 1, exclude=["rnnlm"])  # frozen but not annotating: no states to read


def test_listener_states_and_predictions_survive_to_disk(tmp_path):
    nlp = listener_pipeline()
    fit(nlp, 15)
    texts = ["天气很好。", "我们喜欢学习。代码医生工作室真棒。", "好", "🙂 ok 123"]
    # an empty doc gets empty states (spaCy's reduce_max layers reject empty docs: not sent to textcat)
    assert nlp.get_pipe("rnnlm")(nlp.make_doc(""))._.lm_states.shape == (0, WIDTH)
    docs = list(nlp.pipe(texts))
    for doc in docs:
        assert doc._.lm_states.shape == (len(doc), WIDTH)
    nlp.to_disk(tmp_path / "nlp")
    import spacy

    loaded = spacy.load(tmp_path / "nlp")
    assert loaded.get_pipe("rnnlm").listening_components == ["textcat"]
    for doc, again in zip(docs, loaded.pipe(texts)):
        assert doc.cats == pytest.approx(again.cats, abs=1e-6)
        numpy.testing.assert_allclose(doc._.lm_states, again._.lm_states, atol=1e-6)


def test_listener_states_do_not_depend_on_the_batch():
    nlp = listener_pipeline()
    text = "我们今天去公园玩。天气很好。"
    alone = nlp(text)
    batched = list(nlp.pipe(["语言模型给句子一个概率。" * 3, text, "好"], batch_size=3))[1]
    numpy.testing.assert_allclose(alone._.lm_states, batched._.lm_states, atol=1e-5)
    assert alone.cats == pytest.approx(batched.cats, abs=1e-5)
    # whitespace tokens are not read by the LM: zero states
    doc = nlp("天气  很好")
    spaces = [t.i for t in doc if t.is_space]
    assert spaces and not doc._.lm_states[spaces].any() and doc._.lm_states[[t.i for t in doc if not t.is_space]].any()
    # without alternatives, the scores come from the states' pass (the forward LSTM runs once):
    # the same as the LM's alone
    nlp.get_pipe("rnnlm").n_alternatives = 0
    alone = nlp(text)
    listened = [t._.lm_logprob for t in alone]
    nlp.get_pipe("rnnlm").listener_map.clear()
    plain = nlp.get_pipe("rnnlm")(nlp.get_pipe("sentencizer")(nlp.make_doc(text)))
    assert plain._.lm_states is None
    assert listened == pytest.approx([t._.lm_logprob for t in plain], abs=1e-5)
    assert alone._.lm_perplexity == pytest.approx(plain._.lm_perplexity, rel=1e-5)


def test_listener_reads_a_forward_only_model():
    """The LSTMLanguageModel.v1 pipelines of earlier releases give [embedding; forward] states."""
    from ..conftest import TINY_FORWARD_MODEL

    nlp = make_nlp(TINY_FORWARD_MODEL)
    train(nlp, steps=5)
    nlp.add_pipe("textcat", config=textcat_config(width=32 + 48))
    textcat = nlp.get_pipe("textcat")
    for label in ("POS", "NEG"):
        textcat.add_label(label)
    textcat.initialize(lambda: examples(nlp), nlp=nlp)
    doc = nlp("天气很好。")
    assert doc._.lm_states.shape == (len(doc), 80) and set(doc.cats) == {"POS", "NEG"}
