import math

import pytest

from spacy_rnnlm.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, LMVocab


def test_vocab_build_keeps_frequent_words_in_order():
    seqs = [["b", "a", "a", "c"], ["b", "a", "d"], ["c", "e"]]
    vocab = LMVocab.build(seqs, min_freq=2)
    # a:3, then b:2 and c:2 tied and ordered by string, d/e dropped
    assert vocab.words == list(SPECIALS) + ["a", "b", "c"]
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert vocab.counts[UNK_ID] == 2  # d and e
    assert vocab.counts[EOS_ID] == 3  # one end per sequence
    assert vocab.encode(["a", "zzz", "<s>"]) == [4, UNK_ID, UNK_ID]
    assert "a" in vocab and "d" not in vocab and "<unk>" not in vocab


def test_vocab_max_size_and_min_freq():
    seqs = [list("aaaabbbccd")]
    assert LMVocab.build(seqs, min_freq=1, max_size=2).words[4:] == ["a", "b"]
    assert LMVocab.build(seqs, min_freq=3).words[4:] == ["a", "b"]


def test_vocab_unigram_is_a_distribution():
    vocab = LMVocab.build([["x", "y", "x"], ["x", "z"]], min_freq=1)
    total = sum(math.exp(vocab.unigram_logprob(i)) for i in range(len(vocab)))
    assert total == pytest.approx(1.0)
    assert vocab.unigram_logprob(vocab.index["x"]) > vocab.unigram_logprob(vocab.index["y"])


def test_vocab_round_trips(tmp_path):
    vocab = LMVocab.build([["我们", "去", "公园"], ["我们"]], min_freq=1)
    for other in (LMVocab.from_bytes(vocab.to_bytes()), _via_disk(vocab, tmp_path / "v.json")):
        assert other.words == vocab.words and other.counts == vocab.counts


def _via_disk(vocab, path):
    vocab.to_disk(path)
    return LMVocab.from_disk(path)


def test_vocab_corrupted_data_raises_coded_error(tmp_path):
    with pytest.raises(ValueError, match="E007"):
        LMVocab.from_bytes(b"\x00garbage")
    path = tmp_path / "v.json"
    path.write_text('{"words": ["a"]}')
    with pytest.raises(ValueError, match="E007"):
        LMVocab.from_disk(path)


def test_vocab_count_bounded_keeps_the_frequent_words():
    """With max_types, rare words are dropped while counting (word2vec's ReduceVocab), the
    frequent ones stay with their counts."""
    import random

    rng = random.Random(0)
    frequent = [f"w{i}" for i in range(20)]
    sequences = [[rng.choice(frequent) for _ in range(5)] + [f"rare{k}"] for k in range(2000)]
    exact, n = LMVocab.count(sequences)
    bounded, n_bounded = LMVocab.count(sequences, max_types=100)
    assert n == n_bounded == 2000
    assert len(exact) == 2020 and len(bounded) <= 101
    assert all(bounded[w] == exact[w] for w in frequent)
