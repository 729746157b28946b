"""The rnnlm component's loss and optimizer step: a torch optimizer driven by spaCy's thinc one.

thinc's `PyTorchShim.finish_update` round-trips every parameter through numpy on each step; with
this model it leaked ~30 MB per step (thinc 8.3.14) and is slower than torch's own Adam. So the
step is taken by a torch optimizer that reads, on every call, the thinc optimizer's scheduled
`learn_rate`, `beta1`/`beta2`, `eps` and `L2` (decoupled weight decay when `L2_is_weight_decay`,
as in thinc), and clips the global gradient norm to `grad_clip` (thinc clips each parameter
separately; the global norm is the usual choice for LSTMs). `b1 = b2 = 0` (thinc's SGD) gives
plain SGD. With `use_averages`, the parameters' running average is kept as thinc keeps it
(training/averages.py); spaCy evaluates and saves it through the component's `use_params`.
"""
from typing import List, Optional, Tuple

import torch
from thinc.api import Model, Ops, Optimizer

from ..models.wrapper import LMOutput

from ..models.architectures import torch_module
from .averages import averages_key, update_averages
from .parallel import sum_gradients


def nll_and_gradients(
    output: LMOutput, ops: Ops, normalizer: Optional[int] = None, fill_normalizer: Optional[int] = None
) -> Tuple[float, Tuple[List, ...]]:
    """Negative log-likelihood of the predicted tokens divided by `normalizer` (default: their
    number, i.e. the mean per token), and its gradient w.r.t. each log-prob. With fill-in
    log-probs (a two-direction model in training), their mean negative log-likelihood over the
    words (`fill_normalizer`; each sequence's last entry, the end of sentence, has none) is
    added, and the gradients come as a pair (forward, fill-in)."""
    n = normalizer or sum(len(lp) for lp in output.logprobs)
    if n == 0:
        return 0.0, ([lp * 0 for lp in output.logprobs],)
    loss = -sum(float(lp.sum()) for lp in output.logprobs) / n
    grads: Tuple[List, ...] = ([ops.alloc1f(len(lp)) - 1.0 / n for lp in output.logprobs],)
    if output.fill_logprobs:
        m = fill_normalizer or sum(max(len(lp) - 1, 0) for lp in output.fill_logprobs)
        d_fill = [ops.alloc1f(len(lp)) for lp in output.fill_logprobs]
        if m > 0:
            loss -= sum(float(lp.sum()) for lp in output.fill_logprobs) / m
            for d in d_fill:
                d[:-1] = -1.0 / m
        grads += (d_fill,)
    return loss, grads


class TorchSteps:
    """Takes optimizer steps on a thinc-wrapped torch module; holds the torch optimizer (and its
    moments) of one thinc optimizer and one module."""

    def __init__(self) -> None:
        self._held: Optional[Tuple[Optimizer, torch.nn.Module, torch.optim.Optimizer]] = None

    def step(self, sgd: Optimizer, model: Model) -> None:
        module = torch_module(model)
        params = [p for p in module.parameters() if p.requires_grad]
        # compared by identity: an id() can be reused once an earlier optimizer is collected
        held = self._held
        if held is None or held[0] is not sgd or held[1] is not module:
            held = self._held = (sgd, module, torch_optimizer(sgd, params))
        optimizer = held[2]
        for group in optimizer.param_groups:
            group["lr"] = float(sgd.learn_rate)
            if "betas" in group:
                group["betas"] = (float(sgd.b1), float(sgd.b2))
                group["eps"] = float(sgd.eps)
            group["weight_decay"] = float(sgd.L2)
        sum_gradients(params)  # data parallelism (torchrun): every process takes the same step
        if sgd.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, float(sgd.grad_clip))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        update_averages(sgd, averages_key(model), module)

    def __getstate__(self) -> dict:
        return {"_held": None}  # training state, not part of the component


def torch_optimizer(sgd: Optimizer, params: List[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The torch counterpart of a thinc optimizer (hyper-parameters are refreshed every step).

    Adam and SGD run as torch's fused kernels where the parameters' device has them (CPU and
    CUDA): on 2 CPU cores the default per-tensor Adam step took 31 ms for this model's 11.7 M
    parameters, the fused one 6 ms (the optimizer step alone, best of 3 × 10 steps). The update
    is the same (`test_rnnlm_update_is_an_adamw_step_with_the_thinc_settings`)."""
    fused = {"fused": True} if params and all(p.device.type in ("cpu", "cuda") for p in params) else {}
    if getattr(sgd, "use_radam", False):
        return torch.optim.RAdam(params, decoupled_weight_decay=bool(sgd.L2_is_weight_decay), foreach=True)
    if sgd.b1 == 0 and sgd.b2 == 0:
        return torch.optim.SGD(params, **fused)
    return (torch.optim.AdamW if sgd.L2_is_weight_decay else torch.optim.Adam)(params, **fused)
