"""The thinc side of the model: `PyTorchWrapper_v3` with our own converters and serializers.

Input is an `LMBatch` of integer id sequences (`[<s>, w1, …, wn, </s>]`); the converters pad them
into (batch, seq_len) tensors on the model's device, with no gradient on the ids (integers cannot
have one), and turn the torch outputs back into one array per sequence.
"""
import io
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple, cast

import torch
from thinc.api import ArgsKwargs, Model, PyTorchShim, PyTorchWrapper_v3, torch2xp, xp2torch
from thinc.types import Floats1d, Floats2d, Ints1d, Ints2d

from ..errors import Errors
from .pytorch.bilstm_lm import TrainOutputs
from .pytorch.lstm_lm import Outputs


@dataclass
class LMBatch:
    """Sequences to score. Each row of `sequences` predicts its elements 1..n from 0..n-1."""

    sequences: List[Ints1d]
    n_samples: int = 0
    temperature: float = 1.0
    seeds: Optional[List[int]] = None
    compute_dtype: Optional[torch.dtype] = None  # matrix-product precision (autocast); None: float32
    # Sequences come sorted by length; the recurrent networks run over groups of this many
    # consecutive sequences, each cut at its longest (see `run_rows`). None: one padded call.
    group_sizes: Optional[List[int]] = None


@dataclass
class LMOutput:
    """Per sequence: log P of each predicted element; optionally drawn alternatives."""

    logprobs: List[Floats1d]
    sample_ids: List[Ints2d] = field(default_factory=list)
    sample_logprobs: List[Floats2d] = field(default_factory=list)
    # Training a two-direction model: per sequence, log P(word | both sides) of each word
    # (the end of sentence has no fill-in prediction: its entry is 0 and has no gradient).
    fill_logprobs: List[Floats1d] = field(default_factory=list)


def convert_inputs(model: Model, X: LMBatch, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    shim = cast(PyTorchShim, model.shims[0])
    ids, targets = pad_sequences(X.sequences, model.ops)
    kwargs = {
        "n_samples": X.n_samples,
        "temperature": X.temperature,
        "seeds": X.seeds,
        "compute_dtype": X.compute_dtype,
        "group_sizes": X.group_sizes,
    }
    if is_train and model.attrs.get("train_fill"):
        kwargs = {"fill": True, "group_sizes": X.group_sizes, "compute_dtype": X.compute_dtype}
    args = (ids.to(shim.device), targets.to(shim.device))
    return ArgsKwargs(args=args, kwargs=kwargs), lambda d_inputs: X


def pad_sequences(sequences: List[Ints1d], ops) -> Tuple[torch.Tensor, torch.Tensor]:
    """Id sequences → right-padded (batch, seq_len) inputs (all but the last id) and targets
    (all but the first), on the CPU."""
    lengths = [max(len(seq) - 1, 0) for seq in sequences]
    width = max(lengths, default=0)
    ids = torch.zeros((len(lengths), width), dtype=torch.long)
    targets = torch.zeros((len(lengths), width), dtype=torch.long)
    for row, (seq, n) in enumerate(zip(sequences, lengths)):
        if n:
            values = torch.as_tensor(ops.to_numpy(seq), dtype=torch.long)
            ids[row, :n] = values[:-1]
            targets[row, :n] = values[1:]
    return ids, targets


def convert_outputs(model: Model, X_Ytorch: Tuple[LMBatch, Any], is_train: bool) -> Tuple[LMOutput, Callable]:
    shim = cast(PyTorchShim, model.shims[0])
    X, Ytorch = X_Ytorch
    lengths = [max(len(seq) - 1, 0) for seq in X.sequences]

    def rows(values_t: torch.Tensor) -> list:
        values = torch2xp(values_t.detach()) if values_t.numel() else model.ops.alloc2f(len(lengths), 0)
        return [values[row, :n] for row, n in enumerate(lengths)]

    logprobs_t = Ytorch.logprobs if isinstance(Ytorch, (Outputs, TrainOutputs)) else Ytorch  # (batch, seq_len)
    output = LMOutput(rows(logprobs_t))
    outputs_t = [logprobs_t]
    if isinstance(Ytorch, TrainOutputs):
        output.fill_logprobs = rows(Ytorch.fill_logprobs)
        outputs_t.append(Ytorch.fill_logprobs)
    elif isinstance(Ytorch, Outputs):
        for name in ("sample_ids", "sample_logprobs"):
            setattr(output, name, rows(getattr(Ytorch, name)))

    def backprop(d_outputs: Tuple[List[Floats1d], ...]) -> ArgsKwargs:
        """`d_outputs`: the gradient of each output that has one (forward log-probs, then the
        fill-in log-probs when training a two-direction model), one array per sequence."""
        grads = []
        for values_t, d_values in zip(outputs_t, d_outputs):
            grad = torch.zeros_like(values_t)
            for row, (d_row, n) in enumerate(zip(d_values, lengths)):
                if n:
                    grad[row, :n] = xp2torch(d_row, device=shim.device)
            grads.append(grad)
        return ArgsKwargs(args=(tuple(outputs_t),), kwargs={"grad_tensors": tuple(grads)})

    return output, backprop


def serialize_state(module: torch.nn.Module) -> bytes:
    """The weights only, as a state dict: never the pickled module."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getvalue()


def deserialize_state(module: torch.nn.Module, data: bytes, device: "torch.device") -> torch.nn.Module:
    """Load weights with `weights_only=True`: a file can hold tensors, never code to run."""
    try:
        state = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
        module.load_state_dict(state)
    except Exception as err:  # torch raises many types for bad bytes; one coded error for all
        raise ValueError(Errors.E004.format(path="<bytes>", err=f"{type(err).__name__}: {err}")) from err
    return module.to(device)


def wrap_module(module: torch.nn.Module, train_fill: bool = False) -> Model[LMBatch, LMOutput]:
    """`train_fill`: the module is a two-direction model whose training pass also returns the
    fill-in log-probs (`LMOutput.fill_logprobs`); its backprop then takes a pair of gradients."""
    model = PyTorchWrapper_v3(
        module,
        convert_inputs=convert_inputs,
        convert_outputs=convert_outputs,
        serialize_model=serialize_state,
        deserialize_model=deserialize_state,
    )
    model.attrs["train_fill"] = train_fill
    return model
