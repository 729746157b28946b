import pytest

from spacy_rnnlm.generation import join_words
from spacy_rnnlm.vocab import SPECIALS


def test_generation_same_seed_same_text(trained_nlp):
    lm = trained_nlp.get_pipe("rnnlm")
    a = lm.generate("我们", seed=3, n=4, max_new_tokens=12)
    b = lm.generate("我们", seed=3, n=4, max_new_tokens=12)
    assert a == b and len(a) == 4
    assert all(isinstance(text, str) for text in a)
    many = {text for seed in range(8) for text in lm.generate("我们", seed=seed, n=2, max_new_tokens=12)}
    assert len(many) > 1  # sampling, not greedy


def test_generation_greedy_is_deterministic_and_learned(trained_nlp):
    lm = trained_nlp.get_pipe("rnnlm")
    greedy = lm.generate("我们今天去", temperature=0, max_new_tokens=5, n=3)
    assert len(set(greedy)) == 1
    assert greedy[0].startswith("公园")  # the overfitted continuation


def test_generation_never_emits_specials(trained_nlp):
    lm = trained_nlp.get_pipe("rnnlm")
    for text in lm.generate("魑魅魍魉", seed=0, n=8, max_new_tokens=20, temperature=2.0, stop_at_sentence_end=False):
        assert not any(special in text for special in SPECIALS)
        assert len(trained_nlp.make_doc(text)) >= 10  # no early stop without sentence ends


def test_generation_top_k_1_equals_greedy(trained_nlp):
    lm = trained_nlp.get_pipe("rnnlm")
    assert lm.generate("代码", top_k=1, seed=5, max_new_tokens=8) == lm.generate("代码", temperature=0, max_new_tokens=8)


@pytest.mark.parametrize(
    "kwargs", [{"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"top_k": -2}, {"n": 0}, {"max_new_tokens": -1}]
)
def test_generation_argument_errors(trained_nlp, kwargs):
    with pytest.raises(ValueError, match="E005"):
        trained_nlp.get_pipe("rnnlm").generate("我们", **kwargs)


def test_generation_join_words():
    assert join_words(["我们", "去", "公园"]) == "我们去公园"
    assert join_words(["spaCy", "is", "好"]) == "spaCy is好"
    assert join_words(["fast"], after="spaCy") == " fast"


def test_generation_after_pickle_needs_a_tokenizer(trained_nlp):
    import pickle

    lm = pickle.loads(pickle.dumps(trained_nlp.get_pipe("rnnlm")))
    with pytest.raises(ValueError, match="E009"):
        lm.generate("我们")
