"""Parameter averaging (`use_averages`): thinc's schedule on the torch module's parameters."""
import pytest
import torch
from thinc.api import Adam, Model

from spacy_rnnlm.training.averages import averaged_parameters, averages_key, update_averages


def test_update_averages_follows_thincs_schedule():
    module = torch.nn.Linear(3, 2)
    module.bias.requires_grad_(False)  # frozen parameters are not averaged
    sgd = Adam(0.01, use_averages=True)
    key = averages_key(Model("m", lambda *a: None))
    values = [torch.full((2, 3), float(v)) for v in (1.0, 4.0, -2.0)]
    want = None
    for t, value in enumerate(values, start=1):
        with torch.no_grad():
            module.weight.copy_(value)
        update_averages(sgd, key, module)
        decay = (1.0 + t) / (10.0 + t)
        want = value.clone() if want is None else decay * want + (1 - decay) * value
    averages = sgd.averages[key]
    assert set(averages) == {"weight"}
    assert torch.allclose(averages["weight"], want)
    assert sgd.nr_update[key] == 3
    assert not torch.allclose(averages["weight"], module.weight)  # a copy, not the weights


def test_update_averages_is_a_no_op_without_use_averages():
    sgd = Adam(0.01, use_averages=False)
    update_averages(sgd, ("x", "torch_averages"), torch.nn.Linear(2, 2))
    assert sgd.averages is None


def test_averaged_parameters_swap_in_and_restore_even_on_error():
    module = torch.nn.Linear(2, 2)
    own = {name: p.detach().clone() for name, p in module.named_parameters()}
    averages = {"weight": torch.zeros(2, 2)}
    with pytest.raises(RuntimeError):
        with averaged_parameters(module, averages):
            assert torch.equal(module.weight, averages["weight"])
            assert torch.equal(module.bias, own["bias"])  # not averaged: left alone
            raise RuntimeError("inside")
    for name, p in module.named_parameters():
        assert torch.equal(p, own[name])
