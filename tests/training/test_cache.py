"""The token cache: `spacy-rnnlm preprocess` writes what the rnnlm would train on from the raw
text (the same vocabulary, the same ids, the same documents in the same order), and the
`spacy-rnnlm.TokenCache.v1` reader feeds it to training without jieba."""
import json
import subprocess
import sys

import pytest
from spacy.training import Example

from spacy_rnnlm.training.cache import CacheError, TokenCache, create_token_cache
from spacy_rnnlm.training.corpus import create_stream_corpus
from spacy_rnnlm.training.preprocess import preprocess

from ..conftest import ROOT, TRAIN_TEXTS, make_nlp

SMOKE = ROOT / "configs" / "smoke.cfg"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A .jsonl with repeated and varied texts, and a line without text (it keeps its index)."""
    path = tmp_path_factory.mktemp("corpus") / "texts.jsonl"
    texts = [t.replace("公园", place) for t in TRAIN_TEXTS for place in ("公园", "学校", "北京")] * 3
    lines = [json.dumps({"text": t}, ensure_ascii=False) for t in texts]
    lines.insert(5, json.dumps({"text": "  "}))
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


@pytest.fixture(scope="module")
def cache_one(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("cache") / "one"
    preprocess(corpus, SMOKE, out, jobs=1)
    return out


def raw_vocabulary(corpus):
    """The vocabulary RNNLM.initialize counts from the raw text with smoke.cfg's settings."""
    nlp = make_nlp()
    nlp.config["training"]["annotating_components"] = ["sentencizer"]
    reader = create_stream_corpus(corpus)
    nlp.get_pipe("rnnlm").initialize(lambda: reader(nlp), nlp=nlp, min_freq=2, max_size=5000, thesaurus=None)
    return nlp


def test_cache_vocabulary_and_ids_are_those_of_the_raw_text(corpus, cache_one):
    nlp = raw_vocabulary(corpus)
    lm = nlp.get_pipe("rnnlm")
    cache = TokenCache(cache_one)
    assert cache.vocab().words == lm.lm_vocab.words
    assert cache.vocab().counts == lm.lm_vocab.counts
    raw = list(create_stream_corpus(corpus)(nlp))
    cached = list(create_token_cache(cache_one)(nlp))
    assert len(raw) == len(cached) == cache.n_docs - 1  # the line without text is skipped by both
    sentencizer = nlp.get_pipe("sentencizer")
    for r, c in zip(raw, cached):
        assert len(r) == len(c)  # what spaCy's batchers count
        r_windows = lm._training_windows([Example(sentencizer(r.predicted), r.reference)])
        c_windows = lm._training_windows([c])
        assert [w.tolist() for w in r_windows] == [w.tolist() for w in c_windows]


def test_cache_jobs_write_the_same_corpus(corpus, cache_one, tmp_path):
    two = tmp_path / "two"
    preprocess(corpus, SMOKE, two, jobs=2)
    one, two = TokenCache(cache_one), TokenCache(two)
    assert len(two.shards) == 2
    assert one.vocab().to_dict() == two.vocab().to_dict()
    docs_one = [(d.length, d.tokens.tolist(), d.bounds.tolist()) for d in one.documents()]
    docs_two = [(d.length, d.tokens.tolist(), d.bounds.tolist()) for d in two.documents()]
    assert docs_one == docs_two


def test_cache_reader_shards_as_the_stream_reader(corpus, cache_one, monkeypatch):
    import spacy_rnnlm.training.cache as cache_module
    import spacy_rnnlm.training.corpus as corpus_module

    nlp = raw_vocabulary(corpus)
    lm = nlp.get_pipe("rnnlm")
    for rank in range(2):
        monkeypatch.setattr(cache_module, "world", lambda: (rank, 2))
        monkeypatch.setattr(corpus_module, "world", lambda: (rank, 2))
        raw = [e.reference.text for e in create_stream_corpus(corpus)(nlp)]
        cached = [lm._training_windows([e])[0].tolist() for e in create_token_cache(cache_one)(nlp)]
        assert len(raw) == len(cached)
        expected = [lm._training_windows([Example(nlp.get_pipe("sentencizer")(nlp.make_doc(t)), nlp.make_doc(t))])[0].tolist() for t in raw]
        assert cached == expected


def test_cache_from_a_pipeline_uses_its_vocabulary_and_another_is_refused(corpus, trained_path, trained_nlp, tmp_path):
    out = tmp_path / "cache"
    preprocess(corpus, trained_path, out, jobs=1)
    assert TokenCache(out).vocab().words == trained_nlp.get_pipe("rnnlm").lm_vocab.words
    # a cache with another vocabulary (smoke.cfg's, counted) is refused when training starts
    other = tmp_path / "other"
    preprocess(corpus, SMOKE, other, jobs=1)
    nlp = make_nlp()
    nlp.initialize(lambda: [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in TRAIN_TEXTS])
    examples = list(create_token_cache(other)(nlp))
    with pytest.raises(ValueError, match="another vocabulary"):
        nlp.get_pipe("rnnlm").update(examples[:4])


def test_cache_initialize_takes_the_vocabulary_from_the_cache(corpus, cache_one):
    nlp = make_nlp()
    reader = create_token_cache(cache_one)
    nlp.initialize(lambda: reader(nlp))
    assert nlp.get_pipe("rnnlm").lm_vocab.words == TokenCache(cache_one).vocab().words
    losses = nlp.update(list(reader(nlp))[:8])
    assert losses["rnnlm"] > 0


def test_cache_bad_input(corpus, cache_one, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf8")
    with pytest.raises(ValueError, match="No text"):
        preprocess(empty, SMOKE, tmp_path / "none", jobs=1)
    assert not (tmp_path / "none").exists() and not (tmp_path / "none.partial").exists()  # nothing half-written
    with pytest.raises(ValueError, match="not empty"):
        preprocess(corpus, SMOKE, cache_one, jobs=1)
    no_lm = make_nlp()
    no_lm.remove_pipe("rnnlm")
    no_lm.to_disk(tmp_path / "no_lm")
    with pytest.raises(ValueError, match="no rnnlm"):
        preprocess(corpus, tmp_path / "no_lm", tmp_path / "c", jobs=1)
    with pytest.raises(CacheError, match="no manifest"):
        TokenCache(tmp_path)
    broken = tmp_path / "broken"
    preprocess(corpus, SMOKE, broken, jobs=1)
    tokens = broken / "0.tokens"
    tokens.write_bytes(tokens.read_bytes()[:-4])
    with pytest.raises(CacheError, match="incomplete or corrupted"):
        create_token_cache(broken)


def test_cache_cli(corpus, tmp_path):
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "spacy_rnnlm", "preprocess", str(corpus), "--model-or-config", str(SMOKE), "--output", str(out), "--jobs", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((out / "manifest.json").read_text())["n_docs"] == TokenCache(out).n_docs
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr
    (out / "stale").write_text("x")
    replaced = subprocess.run(cmd + ["--overwrite", "--limit", "10"], capture_output=True, text=True, timeout=300)
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert TokenCache(out).n_docs == 10 and not (out / "stale").exists()


@pytest.mark.slow
def test_cache_training_matches_raw_training(corpus, cache_one, tmp_path):
    """`spacy train` from the cache gives the same losses and dev scores at the same steps."""
    from spacy import util

    config = util.load_config(SMOKE, interpolate=False)
    config["corpora"]["train"] = {"@readers": "spacy-rnnlm.StreamCorpus.v1", "path": "${paths.train}"}
    stream_cfg = tmp_path / "stream.cfg"
    config.to_disk(stream_cfg)
    logs = {}
    for name, cfg, train in [("raw", stream_cfg, corpus), ("cache", SMOKE, cache_one)]:
        cmd = [sys.executable, "-m", "spacy", "train", str(cfg), "--paths.train", str(train), "--paths.dev", str(corpus)]
        cmd += ["--training.max_steps", "6", "--training.eval_frequency", "3", "--output", str(tmp_path / name)]
        cmd += ["--training.logger.curve_path", str(tmp_path / f"{name}.jsonl"), "--nlp.batch_size", "16"]
        if name == "cache":
            cmd += ["--corpora.train.@readers", "spacy-rnnlm.TokenCache.v1"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        logs[name] = [json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    assert len(logs["raw"]) == 3
    for raw, cached in zip(logs["raw"], logs["cache"]):
        assert raw["step"] == cached["step"]
        assert raw["lm_perplexity_closed_vocab"] == pytest.approx(cached["lm_perplexity_closed_vocab"], rel=1e-9)
        assert raw["loss"] == pytest.approx(cached["loss"], rel=1e-9)
