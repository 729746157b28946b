"""Registered architectures. The thinc model is built empty; its torch module is created on
`initialize`, once the vocabulary (and so the output size `nV`) is known."""
from typing import List, Optional

from spacy.util import registry
from thinc.api import Model

from ..errors import Errors
from ..vocab import PAD_ID, SPECIALS
from .pytorch.lstm_lm import LSTMLanguageModel
from .wrapper import LMBatch, LMOutput, wrap_module


@registry.architectures("spacy-rnnlm.LSTMLanguageModel.v1")
def build_lstm_language_model(
    embed_width: int = 256,
    hidden_width: int = 384,
    depth: int = 1,
    dropout: float = 0.25,
    tie_weights: bool = False,
    cutoffs: List[int] = [2000, 10000],
    div_value: float = 4.0,
    nV: Optional[int] = None,
) -> Model[LMBatch, LMOutput]:
    """An LSTM language model over word ids.

    embed_width (int): Width of the word embeddings.
    hidden_width (int): Width of each LSTM layer.
    depth (int): Number of stacked LSTM layers.
    dropout (float): Dropout on embeddings, between LSTM layers and on the LSTM output (torch dropout:
        spaCy's `[training] dropout` does not reach it).
    tie_weights (bool): Share the embedding matrix with the output layer (full softmax only).
    cutoffs (List[int]): Adaptive-softmax cluster boundaries in vocabulary rank; empty = full softmax.
    div_value (float): Width divisor of each successive adaptive-softmax cluster.
    nV (Optional[int]): Vocabulary size; set by the component on initialize.
    RETURNS (Model[LMBatch, LMOutput]): The model.
    """
    if tie_weights and cutoffs:
        raise ValueError(Errors.E005.format(name="tie_weights", value=True, expected="cutoffs = [] (a full softmax) to tie"))
    settings = dict(
        embed_width=embed_width,
        hidden_width=hidden_width,
        depth=depth,
        dropout=dropout,
        tie_weights=tie_weights,
        cutoffs=list(cutoffs),
        div_value=div_value,
    )
    model: Model[LMBatch, LMOutput] = Model(
        "lstm_lm", forward, init=init, dims={"nV": nV}, attrs={"settings": settings}
    )
    if nV is not None:
        init(model)
    return model


def init(model: Model, X=None, Y=None) -> None:
    """Create the torch module once `nV` is known (idempotent)."""
    if model.layers:
        return
    module = LSTMLanguageModel(
        model.get_dim("nV"), pad_id=PAD_ID, n_special=len(SPECIALS), **model.attrs["settings"]
    )
    model.layers.append(wrap_module(module))


def forward(model: Model, X: LMBatch, is_train: bool):
    return model.layers[0](X, is_train)


def torch_module(model: Model) -> LSTMLanguageModel:
    """The wrapped `nn.Module`, for code that works on tensors directly (generation)."""
    return model.layers[0].shims[0]._model
