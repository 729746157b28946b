"""Gradual unfreezing (spacy_rnnlm/training/unfreeze.py): the top trains first, one more level
below every `every` steps, and a level that opens joins the optimizer's step."""
import pytest
import torch
from thinc.api import Adam

from spacy_rnnlm.models.architectures import torch_module
from spacy_rnnlm.training.unfreeze import make_gradual_unfreezing, unfreeze_level

from ..conftest import make_examples, make_nlp, train


def test_levels_go_from_the_output_down_to_the_embedding():
    assert unfreeze_level("adaptive.head.weight", 2) == unfreeze_level("fill.0.weight", 2) == 0
    assert unfreeze_level("lstm.weight_ih_l1", 2) == 1  # the top recurrent layer
    assert unfreeze_level("backward_rnn.weight_hh_l0", 2) == unfreeze_level("lstm.bias_ih_l0", 2) == 2
    assert unfreeze_level("embed.weight", 2) == 3


def test_unfrozen_levels_by_step_and_they_join_the_step():
    nlp = make_nlp()
    train(nlp, steps=1)
    module = torch_module(nlp.get_pipe("rnnlm").model)
    callback = make_gradual_unfreezing(every=2)
    sgd = Adam(0.01)

    def step(at: int):
        callback(nlp, {"step": at})
        before = {n: p.detach().clone() for n, p in module.named_parameters()}
        nlp.update(make_examples(nlp), sgd=sgd, annotates=["sentencizer"])
        return {n for n, p in module.named_parameters() if not torch.equal(p.detach(), before[n])}

    moved = step(0)  # the output layers only (the tiny model's softmax is a plain decoder)
    assert moved and not any(unfreeze_level(n, 2) for n in moved) and "fill.0.weight" in moved
    moved = step(2)  # and the recurrent layers (the tiny model has 2: the top one)
    assert any("_l1" in n for n in moved) and not any("_l0" in n or n.startswith("embed") for n in moved)
    moved = step(6)  # everything, the embedding last: the optimizer made at step 0 steps it too
    assert "embed.weight" in moved and any("_l0" in n for n in moved)


def test_unfreezing_needs_a_positive_interval():
    with pytest.raises(ValueError, match="every"):
        make_gradual_unfreezing(every=0)
