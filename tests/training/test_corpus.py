"""Streaming, sharded corpus readers (spacy_rnnlm/training/corpus.py)."""
import gzip
import json

import pytest
from spacy.training import Example

from spacy_rnnlm.training.corpus import corpus_files, create_sharded_corpus, create_stream_corpus, read_texts

from ..conftest import blank_zh


@pytest.fixture
def corpus_dir(tmp_path):
    """Two files, one gzipped jsonl, with blank lines: 7 documents in all."""
    (tmp_path / "a.txt").write_text("第一行。\n\n第二行。\n第三行。\n", encoding="utf8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf8") as file_:
        for i in range(4):
            file_.write(json.dumps({"text": f"文档编号{i}。", "meta": {}}, ensure_ascii=False) + "\n")
    (tmp_path / "notes.md").write_text("not a corpus file")
    return tmp_path


def test_corpus_stream_every_document_once_per_epoch_across_ranks(corpus_dir):
    files = corpus_files(corpus_dir)
    assert [f.name for f in files] == ["a.txt", "b.jsonl.gz"]
    everything = list(read_texts(files))
    assert len(everything) == 7 and everything[3] == "文档编号0。"
    for world_size in (1, 2, 3, 8):
        shards = [list(read_texts(files, rank, world_size)) for rank in range(world_size)]
        assert sorted(t for shard in shards for t in shard) == sorted(everything)
        assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert list(read_texts(files, limit=5)) == everything[:5]
    assert sum(len(list(read_texts(files, r, 2, limit=5))) for r in range(2)) == 5


def test_corpus_stream_reader_gives_examples_and_clear_errors(corpus_dir, tmp_path):
    nlp = blank_zh()
    examples = list(create_stream_corpus(corpus_dir, max_length=4)(nlp))
    assert [eg.reference.text for eg in examples] == ["第一行。", "第二行。", "第三行。"]
    with pytest.raises(ValueError, match="not found"):
        create_stream_corpus(tmp_path / "missing.txt")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(ValueError, match="No corpus files"):
        create_stream_corpus(tmp_path / "empty_dir")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "好"}\n{"no_text": 1}\n', encoding="utf8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        list(create_stream_corpus(bad)(nlp))


def test_corpus_sharded_wraps_any_reader(monkeypatch):
    import spacy_rnnlm.training.corpus as corpus

    nlp = blank_zh()
    texts = [f"句子{i}。" for i in range(7)]

    def inner(nlp):  # a reader that knows nothing of ranks
        for text in texts:
            doc = nlp.make_doc(text)
            yield Example(doc, doc)

    wrapped = create_sharded_corpus(inner)
    monkeypatch.setattr(corpus, "world", lambda: (1, 3))
    assert [eg.reference.text for eg in wrapped(nlp)] == texts[1::3]


def test_corpus_stream_counts_the_vocabulary_from_the_whole_stream(tmp_path):
    """With max_epochs = -1 spaCy initializes from the first 100 examples only; the rnnlm's
    `corpus` setting counts the vocabulary from the whole streamed corpus."""
    from spacy import util
    from spacy.training.initialize import init_nlp

    from ..conftest import ROOT

    words = [f"词{i:03d}" for i in range(300)]
    lines = [f"{words[i]}和{words[(i * 7 + 1) % 300]}。" for i in range(300)] * 2
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf8")
    overrides = {
        "paths.train": str(tmp_path / "train.txt"),
        "paths.dev": str(tmp_path / "train.txt"),
        "corpora.train": {"@readers": "spacy-rnnlm.StreamCorpus.v1", "path": "${paths.train}"},
        "training.max_epochs": -1,
    }
    config = util.load_config(ROOT / "configs" / "smoke.cfg", overrides=overrides, interpolate=False)
    few = init_nlp(config).get_pipe("rnnlm").lm_vocab
    config["initialize"]["components"]["rnnlm"]["corpus"] = "${corpora.train}"
    config = util.load_config_from_str(config.to_str(), interpolate=False)
    full = init_nlp(config).get_pipe("rnnlm").lm_vocab
    assert len(full) > len(few) + 100
