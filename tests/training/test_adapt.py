"""`spacy-rnnlm adapt`: a trained pipeline fine-tuned on a user's texts stays a normal pipeline
with the base's vocabulary, and learns the new domain."""
import json
import os
import subprocess
import sys

import pytest
import spacy

from spacy_rnnlm.training.adapt import adapt, split_texts

DOMAIN = [f"请帮我订一张{day}去{city}的火车票。" for day in ("明天", "后天", "周五", "周六") for city in ("上海", "北京", "广州", "杭州", "南京", "成都")]


def test_adapt_split_is_the_corpus_rule():
    train, dev = split_texts(DOMAIN + DOMAIN[:3])
    assert len(train) + len(dev) == len(DOMAIN)  # de-duplicated
    assert not set(train) & set(dev)


def test_adapt_learns_the_domain_and_keeps_the_base(trained_path, trained_nlp, tmp_path):
    from spacy_rnnlm.vectors import context_vectors

    base = spacy.load(trained_path)  # a base that ships context vectors, as the packaged model does
    context_vectors(base, base.get_pipe("rnnlm"), ["我们今天去公园玩。", "天气很好。"])
    base.to_disk(tmp_path / "base")
    park = base.vocab.vectors[base.vocab.strings["公园"]].copy()
    texts = tmp_path / "mine.txt"
    texts.write_text("\n".join(DOMAIN * 2) + "\n", encoding="utf8")
    base_test = tmp_path / "base.txt"
    base_test.write_text("我们今天去公园玩。\n天气很好。\n", encoding="utf8")
    report = adapt(tmp_path / "base", texts, tmp_path / "out", steps=12, learn_rate=0.01, eval_frequency=6, base_test=base_test, replay=base_test)
    assert report["replay_texts"] == 2  # as many as the pool has (a share of 0.5 asks for more)
    assert report["after"]["domain_dev"]["bits_per_char"] < report["before"]["domain_dev"]["bits_per_char"]
    assert set(report["before"]) == {"domain_dev", "base_test"}
    assert json.loads((tmp_path / "out" / "adapt.json").read_text())["steps"] == 12
    adapted = spacy.load(tmp_path / "out" / "model-best")
    lm = adapted.get_pipe("rnnlm")
    base_words = trained_nlp.get_pipe("rnnlm").lm_vocab.words
    assert lm.lm_vocab.words[: len(base_words)] == base_words  # the base's ids are kept
    assert report["new_words"] == len(lm.lm_vocab) - len(base_words) > 0
    assert "火车票" in lm.lm_vocab
    vectors = adapted.vocab.vectors  # the new words' context vectors from the user's texts, the base's kept
    assert vectors.shape[0] == len(lm.lm_vocab) - 4 and abs(vectors[adapted.vocab.strings["火车票"]]).sum() > 0
    assert (vectors[adapted.vocab.strings["公园"]] == park).all()
    doc = adapted("请帮我订一张明天去上海的火车票。")
    assert doc._.lm_logprob is not None and all(t._.lm_logprob is not None for t in doc if not t.is_space)


def test_grow_starts_new_words_from_their_pieces(trained_path):
    import torch

    from spacy_rnnlm.models.architectures import torch_module
    from spacy_rnnlm.training.grow import grow
    from spacy_rnnlm.vocab import UNK_ID

    nlp = spacy.load(trained_path)
    lm = nlp.get_pipe("rnnlm")
    n = len(lm.lm_vocab)
    embed = torch_module(lm.model).embed.weight.detach().clone()
    park, play = lm.lm_vocab.index["公园"], lm.lm_vocab.index["玩"]
    assert grow(lm, [("公园玩", 5), ("Wi-Fi", 3)]) == 2
    assert lm.lm_vocab.words[n:] == ["公园玩", "Wi-Fi"] and lm.lm_vocab.counts[n:] == [5, 3]
    grown = torch_module(lm.model).embed.weight.detach()
    assert torch.allclose(grown[:n], embed)
    assert torch.allclose(grown[n], (embed[park] + embed[play]) / 2)
    assert torch.allclose(grown[n + 1], embed[UNK_ID])
    doc = nlp("我们去公园玩。")
    assert all(t._.lm_logprob is not None and t._.lm_logprob < 0 for t in doc)


def test_grow_takes_the_domain_counts_into_unigrams_and_spelling(trained_path):
    from collections import Counter

    from spacy_rnnlm.training.grow import grow
    from spacy_rnnlm.vocab import UNK_ID

    nlp = spacy.load(trained_path)
    lm = nlp.get_pipe("rnnlm")
    before_vocab, before_spelling = lm.lm_vocab, lm.spelling
    counts = Counter({"公园": 7, "火车票": 5, "高铁站": 2})
    grow(lm, [("火车票", 5)], counts)
    vocab = lm.lm_vocab
    park = vocab.index["公园"]
    assert vocab.counts[park] == before_vocab.counts[park] + 7
    assert vocab.counts[UNK_ID] == before_vocab.counts[UNK_ID] + 2  # 高铁站 stays unknown
    # the spelling model learned the domain's unknown word, and gives no mass to the new vocabulary word
    assert lm.spelling.logprob("高铁站") > before_spelling.logprob("高铁站")
    assert lm.spelling.vocab_mass == pytest.approx(lm.spelling._mass_of(vocab.words[4:]))
    assert lm.spelling.vocab_mass > lm.spelling._mass_of(before_vocab.words[4:])  # 火车票's mass is out
    # no new words: the counts and the spelling still move, the model keeps its size
    lm2 = spacy.load(trained_path).get_pipe("rnnlm")
    assert grow(lm2, [], counts) == 0
    assert len(lm2.lm_vocab) == len(before_vocab) and lm2.lm_vocab.counts[park] == before_vocab.counts[park] + 7


def test_adapt_bad_input(trained_path, tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("你好。\n再见。\n", encoding="utf8")
    with pytest.raises(ValueError, match="at least"):
        adapt(trained_path, tiny, tmp_path / "out", steps=2)
    assert not (tmp_path / "out").exists()  # nothing half-written
    with pytest.raises(ValueError, match="steps"):
        adapt(trained_path, tiny, tmp_path / "out", steps=0)
    texts = tmp_path / "mine.txt"
    texts.write_text("\n".join(DOMAIN) + "\n", encoding="utf8")
    with pytest.raises(ValueError, match="replay_share"):
        adapt(trained_path, texts, tmp_path / "out", steps=2, replay=tiny, replay_share=1.0)
    assert not (tmp_path / "out").exists()
    no_lm = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    no_lm.add_pipe("sentencizer")
    no_lm.to_disk(tmp_path / "no_lm")
    with pytest.raises(ValueError, match="rnnlm"):
        adapt(tmp_path / "no_lm", texts, tmp_path / "out2", steps=2)


@pytest.mark.slow
def test_adapt_under_torchrun_trains_data_parallel_and_only_process_zero_writes(trained_path, tmp_path):
    """`spacy-rnnlm adapt` under torchrun (2 gloo processes): process 0 grows the vocabulary and
    writes the config, both train it on their shards, one pipeline and one report come out."""
    texts = tmp_path / "mine.txt"
    texts.write_text("\n".join(DOMAIN * 2) + "\n", encoding="utf8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "spacy_rnnlm"]
    cmd += ["adapt", str(trained_path), str(texts), "--output", str(out), "--steps", "4", "--learn-rate", "0.01"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert log.count("Saved pipeline to output directory") == 1
    assert log.count("new words (e.g.") == 1  # process 0 reports, the other returns quietly
    report = json.loads((out / "adapt.json").read_text())
    assert report["steps"] == 4 and report["new_words"] > 0
    adapted = spacy.load(out / "model-best")
    assert "火车票" in adapted.get_pipe("rnnlm").lm_vocab
    assert adapted("请帮我订一张明天去上海的火车票。")._.lm_logprob is not None
