"""Shared fixtures: a blank Chinese pipeline, and a tiny rnnlm trained to overfit a few sentences."""
import random
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.training import Example
from spacy.util import registry

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"

TRAIN_TEXTS = [
    "代码医生工作室真棒。我们今天去公园玩。",
    "我们今天去公园玩。天气很好。",
    "我喜欢学习语言模型。代码医生工作室真好。",
    "天气很好，我们去公园散步。",
    "语言模型给句子一个概率。",
    "我们喜欢代码医生工作室。",
]
TINY_MODEL = {
    "embed_width": 32,
    "hidden_width": 48,
    "backward_width": 32,
    "depth": 2,
    "dropout": 0.0,
    "cutoffs": [40, 120],
    "fill_share": 1.0,
}
# the forward-only architecture of the first releases (its pipelines must keep loading and working)
TINY_FORWARD_MODEL = {
    "@architectures": "spacy-rnnlm.LSTMLanguageModel.v1",
    "embed_width": 32,
    "hidden_width": 48,
    "depth": 2,
    "dropout": 0.0,
    "tie_weights": False,
    "cutoffs": [40, 120],
    "div_value": 4.0,
}


def blank_zh() -> Language:
    return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})


def make_nlp(model=None, **cfg) -> Language:
    """A blank pipeline with a tiny rnnlm: the default (two-direction) architecture with
    TINY_MODEL's sizes updated by `model`, or exactly `model` when it names an architecture."""
    nlp = blank_zh()
    nlp.add_pipe("sentencizer")
    config = dict(model) if model and "@architectures" in model else dict(TINY_MODEL, **(model or {}))
    nlp.add_pipe("rnnlm", config={"model": config, **cfg})
    return nlp


def make_examples(nlp: Language, texts=TRAIN_TEXTS):
    return [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in texts]


def train(nlp: Language, texts=TRAIN_TEXTS, steps: int = 120, seed: int = 0, **init):
    """Initialize and train like `spacy train`: the sentencizer annotates the predicted docs."""
    from thinc.api import Adam, fix_random_seed

    fix_random_seed(seed)
    nlp.config["training"]["annotating_components"] = ["sentencizer"]
    if init:  # settings of RNNLM.initialize, as [initialize.components.rnnlm] gives them
        nlp.config["initialize"]["components"]["rnnlm"] = init
    nlp.initialize(lambda: make_examples(nlp, texts))
    optimizer = Adam(0.01)
    rng = random.Random(seed)
    history = []
    for _ in range(steps):
        examples = make_examples(nlp, texts)
        rng.shuffle(examples)
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses, annotates=["sentencizer"])
        history.append(losses["rnnlm"])
    # as `spacy train`'s before_to_disk callback does: static vectors from the trained weights
    registry.callbacks.get("spacy-rnnlm.static_vectors.v1")()(nlp)
    return history


@pytest.fixture(scope="session")
def trained():
    """(nlp, loss history) of a tiny pipeline trained on TRAIN_TEXTS. Do not mutate it."""
    # the toy vocabulary lacks the characters of the tests' typos (圆 in 公圆): let them be changed
    nlp = make_nlp(odd_rare_chars=True)
    history = train(nlp)
    return nlp, history


@pytest.fixture(scope="session")
def trained_nlp(trained):
    return trained[0]


@pytest.fixture(scope="session")
def trained_path(trained_nlp, tmp_path_factory):
    path = tmp_path_factory.mktemp("pipeline") / "nlp"
    trained_nlp.to_disk(path)
    return path


@pytest.fixture
def shared_corpus():
    if not SHARED_CORPUS.exists():
        pytest.skip("../shared/corpus is not beside the checkout")
    return SHARED_CORPUS
