"""Registered architectures. The thinc model is built empty; its torch module is created on
`initialize`, once the vocabulary (and so the output size `nV`) is known."""
from typing import List, Optional, Union

from spacy.util import registry
from thinc.api import Model

from ..errors import Errors
from ..vocab import PAD_ID, SPECIALS
from .pytorch.bilstm_lm import BiLSTMLanguageModel
from .pytorch.lstm_lm import RNN_CELLS, LSTMLanguageModel
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
    return _build("lstm_lm", settings, nV)


@registry.architectures("spacy-rnnlm.BiLSTMLanguageModel.v1")
def build_bilstm_language_model(
    embed_width: int = 256,
    hidden_width: int = 384,
    depth: int = 1,
    dropout: float = 0.25,
    cutoffs: List[int] = [2000, 10000],
    div_value: float = 4.0,
    cell: str = "lstm",
    backward_width: int = 0,
    fill_width: int = 0,
    fill_share: float = 1.0,
    fill_detach: bool = False,
    nV: Optional[int] = None,
) -> Model[LMBatch, LMOutput]:
    """A two-direction language model: the forward LM that scores (as LSTMLanguageModel.v1), a
    right-to-left network beside it and a fill-in head, P(w_t | w<t, w>t), for substitutes and
    spelling correction. Both objectives train together on the same batches; the backward network
    runs at inference only when alternatives or correction ask for it.

    embed_width (int): Width of the word embeddings (shared by both directions).
    hidden_width (int): Width of each recurrent layer of the forward LM.
    depth (int): Number of stacked recurrent layers in each direction.
    dropout (float): Dropout on embeddings, between layers and on the recurrent outputs.
    cutoffs (List[int]): Adaptive-softmax cluster boundaries in vocabulary rank (shared by the
        forward LM and the fill-in head); empty = full softmax.
    div_value (float): Width divisor of each successive adaptive-softmax cluster.
    cell (str): "lstm" (nn.LSTM) or "gru" (nn.GRU).
    backward_width (int): Width of each recurrent layer of the backward network; 0 = hidden_width.
    fill_width (int): Width of the fill-in head's hidden layer; 0 = hidden_width.
    fill_share (float): Share of the words, drawn afresh each training pass, whose fill-in loss
        is computed (rescaled, so the loss stays an unbiased estimate): trades the fill-in
        softmax's cost against how much each step teaches the head.
    fill_detach (bool): The fill-in loss does not reach the shared embedding nor the forward
        LSTM (it still trains the backward network, the head and the shared softmax): they learn
        from the forward LM's loss alone. Off by default: on the default corpus it did not help
        the forward LM (dev perplexity 192 against 189 after 1,950 steps).
    nV (Optional[int]): Vocabulary size; set by the component on initialize.
    RETURNS (Model[LMBatch, LMOutput]): The model.
    """
    if cell not in RNN_CELLS:
        raise ValueError(Errors.E005.format(name="cell", value=cell, expected=" or ".join(f'"{c}"' for c in RNN_CELLS)))
    for name, value in (("backward_width", backward_width), ("fill_width", fill_width)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(Errors.E005.format(name=name, value=value, expected="an integer >= 0"))
    if not 0.0 < fill_share <= 1.0:
        raise ValueError(Errors.E005.format(name="fill_share", value=fill_share, expected="a number in (0, 1]"))
    settings = dict(
        embed_width=embed_width,
        hidden_width=hidden_width,
        depth=depth,
        dropout=dropout,
        cutoffs=list(cutoffs),
        div_value=div_value,
        cell=cell,
        backward_width=backward_width,
        fill_width=fill_width,
        fill_share=fill_share,
        fill_detach=fill_detach,
    )
    return _build("bilstm_lm", settings, nV)


def _build(name: str, settings: dict, nV: Optional[int]) -> Model[LMBatch, LMOutput]:
    model: Model[LMBatch, LMOutput] = Model(name, forward, init=init, dims={"nV": nV}, attrs={"settings": settings})
    if nV is not None:
        init(model)
    return model


def init(model: Model, X=None, Y=None) -> None:
    """Create the torch module once `nV` is known (idempotent)."""
    if model.layers:
        return
    two_way = model.name == "bilstm_lm"
    cls = BiLSTMLanguageModel if two_way else LSTMLanguageModel
    module = cls(model.get_dim("nV"), pad_id=PAD_ID, n_special=len(SPECIALS), **model.attrs["settings"])
    model.layers.append(wrap_module(module, train_fill=two_way))


def forward(model: Model, X: LMBatch, is_train: bool):
    return model.layers[0](X, is_train)


def state_width(model: Model) -> int:
    """Width of the model's token states (see `token_states`), known from its settings before
    the torch module exists: embedding + forward (+ backward, for a two-direction model)."""
    settings = model.attrs["settings"]
    width = settings["embed_width"] + settings["hidden_width"]
    if model.name == "bilstm_lm":
        width += settings["backward_width"] or settings["hidden_width"]
    return width


def torch_module(model: Model) -> Union[LSTMLanguageModel, BiLSTMLanguageModel]:
    """The wrapped `nn.Module`, for code that works on tensors directly (generation, fill-in)."""
    return model.layers[0].shims[0]._model
