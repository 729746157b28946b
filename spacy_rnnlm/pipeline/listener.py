"""The LM's contextual token states as features for other components.

`spacy-rnnlm.RNNLMListener.v1` is a layer for a `textcat`, `tagger` or `ner` model, in the pattern
of spaCy's `Tok2VecListener` (explosion/spaCy:spacy/pipeline/tok2vec.py) and spacy-transformers'
`TransformerListener`: the upstream `rnnlm` component computes the states of a batch once and
hands them to every listener. In training, an `rnnlm` that is updated sends its states with a
callback that backpropagates the listeners' gradients into the LM (fine-tuning); a frozen one
(`frozen_components` + `annotating_components`) writes them to `Doc._.lm_states`, which the
listener reads, as it does at prediction time.
"""
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from ..errors import Errors
from ..extensions import STATES

# The width of the default model's states: embedding 256 + forward 384 + backward 256.
DEFAULT_WIDTH = 896


class RNNLMListener(Model):
    """Hands an upstream `rnnlm` component's token states (one (len(doc), width) array per doc)
    to the model it is part of, and the model's gradients back."""

    name = "rnnlm-listener"

    def __init__(self, upstream_name: str, width: int) -> None:
        Model.__init__(self, name=self.name, forward=forward, dims={"nO": width})
        self.upstream_name = upstream_name
        self._batch_id: Optional[int] = None
        self._outputs: Optional[List[Floats2d]] = None
        self._backprop: Optional[Callable] = None

    @staticmethod
    def get_batch_id(docs: Iterable[Doc]) -> int:
        """A content hash of a batch, to check that the states received are the batch's."""
        return sum(sum(token.orth for token in doc) for doc in docs)

    def receive(self, batch_id: int, outputs: List[Floats2d], backprop: Callable) -> None:
        """Store the states of the training batch `batch_id` and the callback taking their gradient."""
        self._batch_id, self._outputs, self._backprop = batch_id, outputs, backprop


@registry.architectures("spacy-rnnlm.RNNLMListener.v1")
def build_rnnlm_listener(width: int = DEFAULT_WIDTH, upstream: str = "rnnlm") -> RNNLMListener:
    """The `rnnlm` component's per-token states as token features: [input embedding; forward
    state; backward state] (ELMo-style), one (len(doc), width) array per doc; whitespace tokens
    get zeros.

    width (int): Width of the states: embed_width + hidden_width + backward_width of the rnnlm's
        model (896 for the default model; a forward-only model has no backward part). Checked
        when the pipeline is assembled.
    upstream (str): Name of the rnnlm component to listen to.
    RETURNS (RNNLMListener): The layer.
    """
    return RNNLMListener(upstream, width)


def forward(model: RNNLMListener, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    if is_train and model._batch_id is not None:
        batch_id = model.get_batch_id(docs)
        if batch_id == model._batch_id:
            return model._outputs, _backprop_upstream(model)  # type: ignore[return-value]
    # A frozen upstream (or prediction): the states it wrote on the docs. Docs the rnnlm has not
    # processed get zeros of the right shape, as spaCy's Tok2VecListener does, so that a model can
    # be initialized on raw docs; in training that means a frozen rnnlm that is not annotating.
    width = model.get_dim("nO")
    outputs = []
    for doc in docs:
        states = doc._.get(STATES)
        if states is None:
            if is_train and len(doc):
                raise ValueError(Errors.E014.format(name=model.upstream_name))
            states = model.ops.alloc2f(len(doc), width)
        outputs.append(model.ops.asarray2f(states))
    return outputs, lambda d_outputs: []


def _backprop_upstream(model: RNNLMListener) -> Callable:
    backprop = model._backprop

    def backprop_listener(d_outputs: List[Floats2d]) -> List:
        backprop(d_outputs)  # type: ignore[misc]
        return []

    return backprop_listener


class ListenedTo:
    """The upstream side (spaCy's `ListenedToComponent` protocol): which listeners, in which
    downstream components, read this component's states. `listener_map` is set in `__init__`."""

    name: str
    listener_map: Dict[str, List[RNNLMListener]]

    @property
    def listeners(self) -> List[RNNLMListener]:
        return [m for c in self.listening_components for m in self.listener_map[c]]

    @property
    def listening_components(self) -> List[str]:
        return list(self.listener_map.keys())

    def add_listener(self, listener: RNNLMListener, component_name: str) -> None:
        expected = self.state_width
        if listener.get_dim("nO") != expected:
            raise ValueError(
                Errors.E013.format(component=component_name, width=listener.get_dim("nO"), name=self.name, expected=expected)
            )
        self.listener_map.setdefault(component_name, [])
        if listener not in self.listener_map[component_name]:
            self.listener_map[component_name].append(listener)

    def remove_listener(self, listener: RNNLMListener, component_name: str) -> bool:
        if listener in self.listener_map.get(component_name, []):
            self.listener_map[component_name].remove(listener)
            if not self.listener_map[component_name]:
                del self.listener_map[component_name]
            return True
        return False

    def find_listeners(self, component) -> None:
        """Register the `RNNLMListener` layers of `component`'s model that name this component."""
        if isinstance(getattr(component, "model", None), Model):
            for node in component.model.walk():
                if isinstance(node, RNNLMListener) and node.upstream_name == self.name:
                    self.add_listener(node, component.name)

    @property
    def state_width(self) -> int:  # pragma: no cover - provided by the component
        raise NotImplementedError

    def send_states(self, docs: Sequence[Doc], outputs: List[Floats2d], backprop: Callable[[List[Floats2d]], None]) -> None:
        """Hand a training batch's states to every listener. Their gradients are summed and
        backpropagated once, when the last listener has sent its own."""
        batch_id = RNNLMListener.get_batch_id(docs)
        listeners = self.listeners
        total: List[Optional[Floats2d]] = [None]
        pending = [len(listeners)]

        def accumulate(d_outputs: List[Floats2d]) -> None:
            total[0] = d_outputs if total[0] is None else [a + b for a, b in zip(total[0], d_outputs)]
            pending[0] -= 1
            if pending[0] == 0:
                backprop(total[0])

        for listener in listeners:
            listener.receive(batch_id, outputs, accumulate)
