import math
import pickle
import random
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
import spacy
import numpy
import torch
from spacy.tokens import Doc, Span, Token
from spacy.training import Example

from spacy_rnnlm.extensions import install_extensions
from spacy_rnnlm.models.architectures import torch_module
from spacy_rnnlm.models.wrapper import LMBatch
from spacy_rnnlm.vocab import SPECIALS

from ..conftest import TRAIN_TEXTS, blank_zh, make_examples, make_nlp, train

SENTENCE = "代码医生工作室真棒。我们今天去公园玩。"


def token_scores(doc):
    return [(t.text, t._.lm_logprob, t._.lm_alternatives) for t in doc]


def assert_same_scores(doc_a, doc_b, tol=1e-5):
    assert [t.text for t in doc_a] == [t.text for t in doc_b]
    for a, b in zip(doc_a, doc_b):
        if a._.lm_logprob is None:
            assert b._.lm_logprob is None
        else:
            assert a._.lm_logprob == pytest.approx(b._.lm_logprob, abs=tol)
        assert [w for w, _ in a._.lm_alternatives or []] == [w for w, _ in b._.lm_alternatives or []]
    assert doc_a._.lm_perplexity == pytest.approx(doc_b._.lm_perplexity, abs=tol)


def shuffled(nlp, text, seed=1):
    words = [t.text for t in nlp.make_doc(text)]
    rng = random.Random(seed)
    while True:
        new = words[:]
        rng.shuffle(new)
        if new != words:
            return "".join(new)


def check_overfitted(nlp, process=None):
    process = process or nlp
    text = TRAIN_TEXTS[1]
    doc = process(text)
    assert doc._.lm_logprob > process(shuffled(nlp, text))._.lm_logprob
    assert doc._.lm_plausibility > 0.3
    return doc


def test_rnnlm_overfits_training_sentences(trained):
    nlp, history = trained
    assert history[-1] < history[0] / 3
    check_overfitted(nlp)


@pytest.mark.parametrize("how", ["disk", "bytes", "pickle"])
def test_rnnlm_round_trips_give_identical_scores(trained_nlp, trained_path, how):
    nlp2 = make_nlp()
    if how == "disk":
        nlp2 = spacy.load(trained_path)
    elif how == "bytes":
        nlp2.get_pipe("rnnlm").from_bytes(trained_nlp.get_pipe("rnnlm").to_bytes())
    # spaCy's jieba tokenizer cannot be pickled upstream: pickle the component itself
    component = pickle.loads(pickle.dumps(trained_nlp.get_pipe("rnnlm"))) if how == "pickle" else nlp2.get_pipe("rnnlm")
    sentencizer = nlp2.get_pipe("sentencizer")
    doc = check_overfitted(nlp2, lambda text: component(sentencizer(nlp2.make_doc(text))))
    assert_same_scores(doc, trained_nlp(TRAIN_TEXTS[1]))
    unknown = "我们今天去魑魅魍魉玩。"  # the spelling model travels with the weights
    assert_same_scores(component(sentencizer(nlp2.make_doc(unknown))), trained_nlp(unknown))


def test_rnnlm_spacy_load_in_fresh_process_needs_no_import(trained_path):
    code = (
        "import spacy, sys; nlp = spacy.load(sys.argv[1]); doc = nlp('我们今天去公园玩。');"
        "assert 'spacy_rnnlm' in sys.modules; print(round(doc._.lm_perplexity, 4))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(trained_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    expected = spacy.load(trained_path)("我们今天去公园玩。")._.lm_perplexity
    assert float(out.stdout.strip().splitlines()[-1]) == pytest.approx(expected, abs=1e-3)


def test_rnnlm_span_and_doc_scores_match_hand_computation(trained_nlp):
    doc = trained_nlp(SENTENCE)
    record = doc._.lm_scores
    sents = list(doc.sents)
    assert len(sents) == 2
    total_lp, total_n = 0.0, 0
    for sent in sents:
        lps = [t._.lm_logprob for t in sent]
        ends = [lp for i, lp, _ in record["ends"] if sent.start <= i < sent.end]
        assert len(ends) == 1  # one end-of-sentence event per sentence
        lp = sum(lps) + ends[0]
        n = len(lps) + 1
        assert sent._.lm_logprob == pytest.approx(lp)
        assert sent._.lm_perplexity == pytest.approx(math.exp(-lp / n))
        assert sent._.lm_plausibility == pytest.approx(1 / sent._.lm_perplexity)
        uni = sum(record["unigram"][t.i] for t in sent) + [u for i, _, u in record["ends"] if sent.start <= i < sent.end][0]
        assert sent._.lm_slor == pytest.approx((lp - uni) / n)
        total_lp, total_n = total_lp + lp, total_n + n
    assert doc._.lm_logprob == pytest.approx(total_lp)
    assert doc._.lm_perplexity == pytest.approx(math.exp(-total_lp / total_n))
    for token in doc:
        assert token._.lm_surprisal == pytest.approx(-token._.lm_logprob / math.log(2))
        assert token._.lm_surprisal > 0
        assert isinstance(token._.lm_logprob, float)
    assert 0 < doc._.lm_plausibility <= 1


def test_rnnlm_alternatives_drawn_not_topk(trained_nlp, trained_path):
    doc = trained_nlp(SENTENCE)
    for token in doc:
        alts = token._.lm_alternatives
        words = [w for w, _ in alts]
        probs = [p for _, p in alts]
        assert 1 <= len(alts) <= 5 and len(set(words)) == len(words)
        assert token.text not in words
        assert not set(words) & set(SPECIALS)
        assert probs == sorted(probs, reverse=True)
        assert all(isinstance(p, float) and 0 < p <= 1 for p in probs)
        assert probs[-1] >= 0.1 * probs[0]  # the min-p cut: nothing from the far tail
    again = trained_nlp(SENTENCE)
    assert token_scores(doc) == token_scores(again)
    # the overfit model's pool is so peaked that the min-p cut leaves one word: seeds show without it
    whole = spacy.load(trained_path, config={"components": {"rnnlm": {"alternatives_min_p": 0.0}}})(SENTENCE)
    other_seed = spacy.load(trained_path, config={"components": {"rnnlm": {"seed": 7, "alternatives_min_p": 0.0}}})(SENTENCE)
    assert [t._.lm_alternatives for t in other_seed] != [t._.lm_alternatives for t in whole]
    assert [t._.lm_logprob for t in other_seed] == pytest.approx([t._.lm_logprob for t in doc], abs=1e-5)


def test_rnnlm_alternatives_off(trained_path):
    nlp = spacy.load(trained_path, config={"components": {"rnnlm": {"n_alternatives": 0}}})
    doc = nlp("代码医生工作室真棒。\n\n我们今天去公园玩。")  # a whitespace token between the sentences
    assert any(t.is_space for t in doc)
    assert all(t._.lm_alternatives == ([] if not t.is_space else None) for t in doc)
    assert doc._.lm_scores["alternatives"] is None  # nothing drawn: no list per token
    assert doc._.lm_perplexity > 1
    # a doc read back from bytes gives the same
    restored = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert [t._.lm_alternatives for t in restored] == [t._.lm_alternatives for t in doc]


def test_rnnlm_batch_independence(trained_nlp):
    target = "我们今天去公园玩。天气很好。"
    others = ["好。", "代码医生工作室真棒。" * 8, "", "我喜欢学习语言模型，天气很好，我们去公园散步，代码医生工作室真好。"]
    alone = trained_nlp(target)
    for batch_size in (1, 2, 5):
        docs = list(trained_nlp.pipe(others[:2] + [target] + others[2:], batch_size=batch_size))
        assert_same_scores(docs[2], alone)


BAD_INPUTS = {
    "empty": "",
    "whitespace": "  \n\t ",
    "emoji": "我们今天去公园玩😀🎉！",
    "latin": "spaCy is a library for NLP. It is fast.",
    "full_width_digits": "１２月３１日，１９９８年。",
    "unknown_words": "魑魅魍魉饕餮貔貅。",
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_rnnlm_bad_inputs_get_scores(trained_nlp, name):
    text = BAD_INPUTS[name]
    doc = trained_nlp(text)
    counted = [t for t in doc if not t.is_space]
    assert all(t._.lm_logprob is None for t in doc if t.is_space)
    assert all(t._.lm_logprob is not None and t._.lm_logprob <= 0 for t in counted)
    if counted:
        assert doc._.lm_perplexity >= 1
        assert doc._.lm_n_counted == len(counted) + len(list(doc.sents))
    else:
        assert doc._.lm_logprob == 0.0
        assert doc._.lm_perplexity is None and doc._.lm_plausibility is None and doc._.lm_slor is None


def test_rnnlm_long_unbroken_paragraph(trained_nlp):
    rng = random.Random(0)
    chars = "我们今天去公园玩天气很好代码医生工作室真棒喜欢学习语言模型"
    text = "".join(rng.choice(chars) for _ in range(20_000))
    doc = trained_nlp(text)
    assert len(list(doc.sents)) == 1
    assert all(t._.lm_logprob is not None for t in doc)
    assert math.isfinite(doc._.lm_perplexity)
    assert 1 <= len(doc[-1]._.lm_alternatives) <= 5


def test_rnnlm_unknown_words_are_spelled_out(trained_nlp):
    """An unknown word without pieces costs P(<unk> | context) × P_spell(word), in every score."""
    lm = trained_nlp.get_pipe("rnnlm")
    doc = trained_nlp("我们今天去魑魅魍魉玩。")
    record = doc._.lm_scores
    unknown = [t for t in doc if t.text not in lm.lm_vocab]
    assert unknown and all(math.isfinite(t._.lm_logprob) for t in doc)
    spelling = lm.spelling
    try:
        lm.spelling = None  # the closed-vocabulary scores, for comparison
        closed = trained_nlp(doc.text)
    finally:
        lm.spelling = spelling
    for t in doc:
        if t in unknown:
            assert lm.inference().pieces.split(t.text) is None
            assert record["spelling"][t.i] == pytest.approx(spelling.logprob(t.text))
            assert record["spelling"][t.i] < 0
            assert t._.lm_logprob == pytest.approx(closed[t.i]._.lm_logprob + record["spelling"][t.i])
        else:
            assert record["spelling"][t.i] is None
            assert t._.lm_logprob == pytest.approx(closed[t.i]._.lm_logprob)
    penalty = sum(record["spelling"][t.i] for t in unknown)
    assert doc._.lm_logprob == pytest.approx(closed._.lm_logprob + penalty)
    assert doc._.lm_perplexity > closed._.lm_perplexity
    assert doc._.lm_slor == pytest.approx(closed._.lm_slor)  # the spelling cost is in both terms
    # a longer unknown string costs more than a shorter one
    assert spelling.logprob("魑魅魍魉饕餮") < spelling.logprob("魑魅")


def test_rnnlm_compounds_of_known_words_are_read_through_their_pieces(trained_nlp):
    """今天天气 (one jieba token, not in the vocabulary) adds to its spelled path (P(<unk>) P_spell)
    the path through its pieces, λ π_2 P(今天) P(天气 | 今天); λ = 0 gives the spelling alone;
    other words' scores do not move."""
    lm = trained_nlp.get_pipe("rnnlm")
    text = "今天天气很好。"
    doc = trained_nlp(text)
    pos = [t.text for t in doc].index("今天天气")
    split = lm.inference().pieces.split("今天天气")
    assert split == [lm.lm_vocab.index["今天"], lm.lm_vocab.index["天气"]]
    weight = lm.pieces_weight
    try:
        lm.pieces_weight = 0.0
        spelled = trained_nlp(text)
    finally:
        lm.pieces_weight = weight
    spell = spelled._.lm_scores["spelling"][pos]
    assert spell == pytest.approx(lm.spelling.logprob("今天天气"))
    prefix = numpy.asarray([2] + split, dtype="int64")  # <s> 今天 天气
    composed = float(lm.model.predict(LMBatch([prefix])).logprobs[0].sum())
    unk = spelled[pos]._.lm_logprob - spell  # log P(<unk> | <s>)
    expected = lm.inference().pieces.combine(spell, lm.inference().pieces.path_logprob(composed, 2), unk)
    assert expected > spell
    assert doc._.lm_scores["spelling"][pos] == pytest.approx(expected, abs=1e-3)
    assert doc[pos]._.lm_logprob - spelled[pos]._.lm_logprob == pytest.approx(expected - spell, abs=1e-3)
    others = [i for i in range(len(doc)) if i != pos]
    assert [doc[i]._.lm_logprob for i in others] == pytest.approx([spelled[i]._.lm_logprob for i in others])
    assert doc._.lm_perplexity != spelled._.lm_perplexity


def test_rnnlm_model_without_spelling_loads_closed_vocabulary(trained_path, tmp_path, caplog):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(trained_path, old)
    (old / "rnnlm" / "spelling.json").unlink()
    nlp = spacy.load(old)
    assert nlp.get_pipe("rnnlm").spelling is None
    doc = nlp("我们今天去魑魅魍魉玩。")
    assert all(v is None for v in doc._.lm_scores["spelling"]) and doc._.lm_perplexity > 1


def test_rnnlm_before_initialize_raises_coded_error():
    nlp = make_nlp()
    with pytest.raises(ValueError, match=r"\[E001\].*initialize"):
        nlp("我们今天去公园玩。")
    with pytest.raises(ValueError, match="E001"):
        nlp.get_pipe("rnnlm").to_bytes()


def test_rnnlm_initialize_without_text_raises():
    nlp = make_nlp()
    with pytest.raises(ValueError, match="E002"):
        nlp.initialize(lambda: make_examples(nlp, [""]))


def test_rnnlm_initialize_reads_a_stream_once():
    """spaCy's check of `get_examples` iterates what it gets: a streamed corpus must not be read
    (segmented, counted into the shared vocabulary) twice."""
    nlp = make_nlp()
    texts = TRAIN_TEXTS * 50
    read = []

    def stream():
        for text in texts:
            read.append(text)
            yield Example(nlp.make_doc(text), nlp.make_doc(text))

    nlp.get_pipe("rnnlm").initialize(stream, nlp=nlp)
    assert len(texts) <= len(read) <= len(texts) + 100  # one pass, and the first 100 checked
    assert "公园" in nlp.get_pipe("rnnlm").lm_vocab


def test_rnnlm_missing_or_corrupted_model_file(trained_path, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained_path, broken)
    (broken / "rnnlm" / "model").unlink()
    with pytest.raises(ValueError, match="E003"):
        spacy.load(broken)
    (broken / "rnnlm" / "model").write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="E004"):
        spacy.load(broken)
    data = bytearray((trained_path / "rnnlm" / "model").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    (broken / "rnnlm" / "model").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="E004"):
        spacy.load(broken)
    (broken / "rnnlm" / "lm_vocab.json").write_text("{not json")
    with pytest.raises(ValueError, match="E00[47]"):
        spacy.load(broken)


def test_rnnlm_model_file_cannot_run_code(trained_path, tmp_path):
    """A pickled object that would run code on load is refused (weights_only loading)."""
    import io
    import os
    import shutil

    import srsly
    import torch

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    target = tmp_path / "evil"
    shutil.copytree(trained_path, target)
    msg = srsly.msgpack_loads((trained_path / "rnnlm" / "model").read_bytes())
    buffer = io.BytesIO()
    torch.save({"evil": Evil()}, buffer)
    # thinc nests the shim bytes; replace every shim payload with the malicious one
    for shim_bytes in msg["shims"]:
        for i, _ in enumerate(shim_bytes):
            inner = srsly.msgpack_loads(shim_bytes[i])
            inner["state"] = buffer.getvalue()
            shim_bytes[i] = srsly.msgpack_dumps(inner)
    (target / "rnnlm" / "model").write_bytes(srsly.msgpack_dumps(msg))
    with pytest.raises(ValueError, match="E004"):
        spacy.load(target)
    assert not (tmp_path / "pwned").exists()


def test_rnnlm_invalid_settings():
    with pytest.raises(ValueError, match="E005"):
        make_nlp(temperature=0)
    with pytest.raises(ValueError, match="E005"):
        make_nlp(n_alternatives=-1)
    with pytest.raises(ValueError, match="E005"):
        make_nlp(alternatives_context="right")
    with pytest.raises(ValueError, match="E005"):
        make_nlp(model={"cell": "rnn"})
    with pytest.raises(ValueError, match="E005"):
        make_nlp(odd_look_cost=-1.0)


def test_rnnlm_extensions_registered_idempotently():
    install_extensions()
    install_extensions()
    nlp = make_nlp()
    nlp.add_pipe("rnnlm", name="rnnlm2")
    for name in ("lm_logprob", "lm_perplexity", "lm_plausibility", "lm_slor", "lm_bits_per_char"):
        assert Doc.has_extension(name) and Span.has_extension(name)
    for name in ("lm_logprob", "lm_surprisal", "lm_alternatives"):
        assert Token.has_extension(name)


def test_rnnlm_entry_points_listed():
    assert "rnnlm" in {e.name for e in entry_points(group="spacy_factories")}
    names = {e.name for e in entry_points(group="spacy_architectures")}
    assert {"spacy-rnnlm.LSTMLanguageModel.v1", "spacy-rnnlm.BiLSTMLanguageModel.v1"} <= names


def test_rnnlm_scorer_reports_perplexity_and_higher_is_better_score(trained_nlp):
    scores = trained_nlp.evaluate(make_examples(trained_nlp, TRAIN_TEXTS))
    assert scores["lm_perplexity"] > 1
    assert 0 < scores["lm_score"] <= 1
    worse = trained_nlp.evaluate(make_examples(trained_nlp, [shuffled(trained_nlp, t) for t in TRAIN_TEXTS]))
    assert worse["lm_perplexity"] > scores["lm_perplexity"]
    assert worse["lm_score"] < scores["lm_score"]


def test_rnnlm_update_with_no_tokens_is_a_no_op():
    nlp = make_nlp()
    train(nlp, steps=1)
    losses = nlp.update(make_examples(nlp, ["", " "]))
    assert losses["rnnlm"] == 0.0


def test_rnnlm_update_is_an_adamw_step_with_the_thinc_settings():
    """The component's step (torch's fused kernel where there is one) moves every parameter
    exactly as a plain AdamW with the thinc optimizer's rate, betas, eps and decoupled L2 would,
    from the clipped gradients."""
    from thinc.api import Adam
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    nlp = make_nlp()
    train(nlp, steps=1)
    module = torch_module(nlp.get_pipe("rnnlm").model)
    sgd = Adam(0.01, beta1=0.8, beta2=0.95, eps=1e-6, L2=0.1, L2_is_weight_decay=True, grad_clip=0.5)
    seen = {}

    def record(optimizer, args, kwargs):
        seen["before"] = [p.detach().clone() for p in module.parameters()]
        seen["grads"] = [p.grad.detach().clone() for p in module.parameters()]

    handle = register_optimizer_step_pre_hook(record)
    try:
        nlp.update(make_examples(nlp), sgd=sgd, annotates=["sentencizer"])
    finally:
        handle.remove()
    assert torch.sqrt(sum(g.pow(2).sum() for g in seen["grads"])) <= 0.5 + 1e-4  # clipped first
    expected = [torch.nn.Parameter(p) for p in seen["before"]]
    for p, g in zip(expected, seen["grads"]):
        p.grad = g
    reference = torch.optim.AdamW(expected, lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, foreach=False)
    reference.step()
    for got, want in zip(module.parameters(), expected):
        assert torch.allclose(got.detach(), want.detach(), atol=1e-6)
    assert any(not torch.equal(got.detach(), b) for got, b in zip(module.parameters(), seen["before"]))


def test_rnnlm_multiprocess_matches_single(trained_path):
    nlp = spacy.load(trained_path)
    texts = TRAIN_TEXTS + [SENTENCE, "天气很好。"]
    single = [nlp(t) for t in texts]
    multi = list(nlp.pipe(texts, n_process=2, batch_size=2))
    for a, b in zip(single, multi):
        assert_same_scores(a, b)


def test_rnnlm_without_sentences_scores_whole_doc(trained_nlp):
    nlp = blank_zh()
    nlp.add_pipe("rnnlm", source=trained_nlp)
    doc = nlp(SENTENCE)
    assert len(doc._.lm_scores["ends"]) == 1
    assert doc._.lm_n_counted == len(doc) + 1


TYPOS = [
    # (text with a typo, the odd token, the suggestion)
    ("我们今天去公圆玩。", "公圆", "公园"),
    ("我们今天去公园玩。天气很号。", "号", "好"),
    ("我喜欢学习语言模形。", "模形", "模型"),
]


def test_rnnlm_odd_words_found_in_hand_made_typos(trained_path):
    nlp = spacy.load(trained_path, config={"components": {"rnnlm": {"detect_odd": True}}})
    for text, odd, suggestion in TYPOS:
        doc = nlp(text)
        # the typo is flagged, and is the oddest token (words after a typo can look odd too)
        gains = {t.text: doc._.lm_scores["odd"][t.i][0] for t in doc._.lm_odd_tokens}
        assert odd in gains and max(gains, key=gains.get) == odd, (text, gains)
        token = next(t for t in doc if t.text == odd)
        assert token._.lm_is_odd and token._.lm_suggestion == suggestion
        assert all(t._.lm_is_odd is False and t._.lm_suggestion is None for t in doc if t.text not in gains)
        fixed = nlp(text.replace(odd, suggestion))
        assert suggestion not in [t.text for t in fixed._.lm_odd_tokens]
        assert fixed._.lm_plausibility > doc._.lm_plausibility
    vocab = nlp.get_pipe("rnnlm").lm_vocab
    for text in TRAIN_TEXTS:  # clean sentences of known words: nothing odd
        for sent in nlp(text).sents:
            if all(t.text in vocab for t in sent):
                assert sent._.lm_odd_tokens == [], sent.text
    # a span sees only its own odd tokens
    first, second = list(nlp(TYPOS[1][0]).sents)
    assert first._.lm_odd_tokens == [] and [t.text for t in second._.lm_odd_tokens] == ["号"]


def test_rnnlm_substitutes_min_p_cut_and_no_function_words(trained_path):
    """Without the cut every position gets its 5 draws; with it, only words within a factor of
    the best one; a content word never gets a particle or punctuation as a substitute."""
    from spacy_rnnlm.inference.substitutes import FUNCTION_WORDS

    whole = spacy.load(trained_path, config={"components": {"rnnlm": {"alternatives_min_p": 0.0}}})
    cut = spacy.load(trained_path, config={"components": {"rnnlm": {"alternatives_min_p": 0.5}}})
    for text in TRAIN_TEXTS:
        for token, same in zip(whole(text), cut(text)):
            assert len(token._.lm_alternatives) == 5
            probs = [p for _, p in same._.lm_alternatives]
            assert 1 <= len(probs) <= 5 and probs[-1] >= 0.5 * probs[0]
            if token.text not in FUNCTION_WORDS and any(c.isalnum() for c in token.text):
                for word, _ in token._.lm_alternatives:
                    assert word not in FUNCTION_WORDS and any(c.isalnum() for c in word), (token.text, word)
    with pytest.raises(ValueError, match="E005"):
        make_nlp(alternatives_min_p=1.0)


def test_rnnlm_odd_words_off_by_default(trained_nlp):
    doc = trained_nlp("我们今天去公圆玩。")
    assert doc._.lm_odd_tokens is None and all(t._.lm_is_odd is None for t in doc)
    assert all(t._.lm_suggestion is None for t in doc)


@pytest.fixture(scope="module")
def with_thesaurus():
    """A tiny two-direction pipeline initialized with the Cilin thesaurus."""
    nlp = make_nlp(alternatives_synonym_bonus=1000.0)  # the overfit model is very sure of its words
    train(nlp, thesaurus="cilin", min_freq=1)
    return nlp


def test_rnnlm_substitutes_come_from_both_sides_and_the_thesaurus(with_thesaurus, tmp_path):
    nlp = with_thesaurus
    lm = nlp.get_pipe("rnnlm")
    assert lm.has_fill_in and lm.thesaurus is not None
    assert "好" in {lm.lm_vocab.words[i] for i in lm.thesaurus(lm.lm_vocab.index["喜欢"])}
    doc = nlp("我们喜欢代码医生工作室。")
    token = next(t for t in doc if t.text == "喜欢")
    # with a bonus larger than any difference in fit, the thesaurus's synonym comes first
    assert token._.lm_alternatives[0][0] == "好"
    probs = [p for _, p in token._.lm_alternatives]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    # "left" gives continuations from P(w | left context), drawn through the other path
    left = spacy.load(_saved(nlp, tmp_path), config={"components": {"rnnlm": {"alternatives_context": "left"}}})
    left_doc = left("我们喜欢代码医生工作室。")
    assert [t._.lm_logprob for t in left_doc] == pytest.approx([t._.lm_logprob for t in doc], abs=1e-5)
    assert [t._.lm_alternatives for t in left_doc] != [t._.lm_alternatives for t in doc]
    # the thesaurus and the sound table travel with the weights
    again = spacy.load(_saved(nlp, tmp_path))
    assert again.get_pipe("rnnlm").thesaurus.synonyms == lm.thesaurus.synonyms
    assert again.get_pipe("rnnlm").sounds.readings == lm.sounds.readings
    assert len(lm.glyphs) and again.get_pipe("rnnlm").glyphs.to_dict() == lm.glyphs.to_dict()
    assert_same_scores(again("我们喜欢代码医生工作室。"), doc)


def test_rnnlm_substitutes_for_any_stretch_and_for_dictionary_words_outside_the_vocabulary(with_thesaurus):
    from spacy_rnnlm.spans import as_one_word, span_alternatives

    nlp = with_thesaurus
    lm = nlp.get_pipe("rnnlm")
    text = "我们喜欢代码医生工作室。"
    doc = nlp(text)
    # a stretch that is one jieba token: the token's own alternatives (same words, same draws)
    start = text.index("喜欢")
    assert span_alternatives(nlp, text, start, start + 2) == [tuple(p) for p in next(t for t in doc if t.text == "喜欢")._.lm_alternatives]
    # across tokens, and inside one: the stretch becomes one word, the rest is cut as before
    cut, i = as_one_word(nlp, text, start, start + 4)
    assert cut[i].text == "喜欢代码" and cut.text == text
    inside, j = as_one_word(nlp, text, 1, 2)
    assert inside[j].text == "们" and inside.text == text and [t.text for t in inside][: j + 1] == ["我", "们"]
    across = span_alternatives(nlp, text, start, start + 4)
    assert across  # drawn for the stretch
    span = doc.char_span(start, start + 4)  # Span._.lm_alternatives: the same, from a scored doc
    assert span is not None and len(span) == 2 and span._.lm_alternatives == across
    assert doc[1:2]._.lm_alternatives == doc[1]._.lm_alternatives
    for bad in [(3, 3), (-1, 2), (0, 99), (5, 2)]:
        with pytest.raises(ValueError, match="E005"):
            as_one_word(nlp, text, *bad)
    # a dictionary word outside the vocabulary gets its synonyms by spelling (bonus 1000: first)
    assert "喜爱" not in lm.lm_vocab and lm.thesaurus.unknown.get("喜爱")
    token = next(t for t in nlp("我们喜爱代码医生工作室。") if t.text == "喜爱")
    assert token._.lm_alternatives[0][0] in {lm.lm_vocab.words[i] for i in lm.thesaurus.unknown["喜爱"]}


def _saved(nlp, tmp_path):
    path = tmp_path / "nlp"
    if not path.exists():
        nlp.to_disk(path)
    return path


def test_rnnlm_forward_only_model_still_trains_scores_and_corrects(tmp_path):
    """Pipelines of the first releases (LSTMLanguageModel.v1) keep working under the new
    defaults: left-context alternatives, correction from the left context."""
    from ..conftest import TINY_FORWARD_MODEL

    nlp = make_nlp(model=TINY_FORWARD_MODEL, detect_odd=True)
    history = train(nlp)
    assert history[-1] < history[0] / 3
    assert not nlp.get_pipe("rnnlm").has_fill_in
    doc = check_overfitted(nlp)
    assert all(len(t._.lm_alternatives) == 5 for t in doc)
    assert doc._.lm_corrected == doc.text
    nlp.to_disk(tmp_path / "old")
    assert_same_scores(spacy.load(tmp_path / "old")(TRAIN_TEXTS[1]), doc)


def test_rnnlm_corrected_text_and_clean_sentences_unchanged(trained_path):
    nlp = spacy.load(trained_path, config={"components": {"rnnlm": {"detect_odd": True}}})
    for text in TRAIN_TEXTS:
        doc = nlp(text)
        assert doc._.lm_corrected == text and doc._.lm_corrections == []
    doc = nlp("我们今天去公圆玩。天气很号。")
    assert doc._.lm_corrected == "我们今天去公园玩。天气很好。"
    assert [(e["start"], e["end"], e["text"], e["suggestion"]) for e in doc._.lm_corrections] == [
        (5, 7, "公圆", "公园"),
        (12, 13, "号", "好"),
    ]
    assert trained_path and spacy.load(trained_path)("我们今天去公圆玩。")._.lm_corrected is None
    # by default a character no vocabulary word holds is never changed (圆 is none of the toy's)
    strict = spacy.load(trained_path, config={"components": {"rnnlm": {"detect_odd": True, "odd_rare_chars": False}}})
    assert strict("我们今天去公圆玩。")._.lm_corrected == "我们今天去公圆玩。"
    for text in BAD_INPUTS.values():  # no crash, nothing invented
        doc = nlp(text)
        assert doc._.lm_corrected == text or doc._.lm_corrections


class _OneEditPerRound:
    """A stand-in corrector: per unit, one edit at its first CJK word that is not frozen (merged
    with the next word when that is CJK too), so the rounds' bookkeeping can be checked."""

    def __init__(self):
        self.calls = []

    def __call__(self, units, words, fill_levels, score_texts, frozen=None, segment=None):
        from spacy_rnnlm.sounds import is_cjk

        self.calls.append([list(ws) for ws in words])
        for unit, ws, fixed in zip(units, words, frozen):
            unit.odd, unit.edits = [None] * len(ws), []
            free = [p for p, w in enumerate(ws) if is_cjk(w) and p not in fixed]
            if free:
                p = free[0]
                merge = p + 1 < len(ws) and is_cjk(ws[p + 1]) and p + 1 not in fixed
                unit.edits = [(p, p + 2, ("合并",), 1.0)] if merge else [(p, p + 1, ("改",), 1.0)]
                unit.odd[p] = (1.0, unit.edits[0][2][0])


@pytest.mark.parametrize("rounds", [1, 2, 3, 5])
def test_rnnlm_correction_rounds_look_again_with_corrections_in_place(trained_path, rounds):
    nlp = spacy.load(trained_path, config={"components": {"rnnlm": {"detect_odd": True, "odd_rounds": rounds}}})
    lm = nlp.get_pipe("rnnlm")
    fake = _OneEditPerRound()
    lm.inference()  # builds the real one; the stand-in takes its place for the same settings
    lm._tables._corrector = (lm._tables._corrector[0], fake)
    doc = nlp("我们今天去公园玩。")
    assert [t.text for t in doc] == ["我们", "今天", "去", "公园", "玩", "。"]
    expected = [(0, 2, "合并"), (2, 4, "合并"), (4, 5, "改")][:rounds]
    assert [tuple(e[:3]) for e in doc._.lm_scores["edits"]] == expected
    assert len(fake.calls) == min(rounds, 4)  # a fourth round finds nothing to change: the last
    if rounds >= 2:  # the second round reads the first's correction in place of the two words
        assert fake.calls[1] == [["合并", "去", "公园", "玩", "。"]]
    assert doc._.lm_corrected == {1: "合并去公园玩。", 2: "合并合并玩。"}.get(rounds, "合并合并改。")


def test_rnnlm_use_averages_evaluates_and_saves_the_averaged_weights(tmp_path):
    """With `use_averages`, spaCy's `nlp.use_params(optimizer.averages)` (its evaluation and
    checkpoints) scores with the running average of the weights; training goes on with, and
    the block restores, the current ones."""
    from thinc.api import Adam

    nlp = make_nlp()
    train(nlp, steps=1)
    sgd = Adam(0.01, use_averages=True)
    for _ in range(4):
        nlp.update(make_examples(nlp), sgd=sgd, annotates=["sentencizer"])
    component = nlp.get_pipe("rnnlm")
    averages = sgd.averages[(component.model.id, "torch_averages")]
    module = torch_module(component.model)
    assert set(averages) == {name for name, p in module.named_parameters() if p.requires_grad}
    current = nlp(SENTENCE)._.lm_logprob
    with nlp.use_params(sgd.averages):
        for name, p in module.named_parameters():
            assert torch.equal(p, averages[name])
        averaged = nlp(SENTENCE)._.lm_logprob
        nlp.to_disk(tmp_path / "nlp")
    assert averaged != pytest.approx(current, abs=1e-4)
    assert nlp(SENTENCE)._.lm_logprob == pytest.approx(current, abs=1e-6)
    assert spacy.load(tmp_path / "nlp")(SENTENCE)._.lm_logprob == pytest.approx(averaged, abs=1e-5)
