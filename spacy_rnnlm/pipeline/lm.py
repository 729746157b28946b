"""The trainable `rnnlm` pipeline component: trains the LSTM language model with spaCy's own loop
and writes language-model scores to every doc it processes."""
import hashlib
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

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
from ..extensions import SCORES, install_extensions, sentence_spans, span_totals
from ..generation import join_words, sample_continuations
from ..models.architectures import torch_module
from ..models.wrapper import LMBatch, LMOutput
from ..sampling import check_temperature
from ..odd_words import NeighborIndex, candidate_ids, is_checked, n_changed
from ..spelling import SpellingModel
from ..vocab import BOS_ID, EOS_ID, SPECIALS, UNK_ID, LMVocab

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy-rnnlm.LSTMLanguageModel.v1"
embed_width = 256
hidden_width = 384
depth = 1
dropout = 0.25
tie_weights = false
cutoffs = [2000, 10000]
div_value = 4.0
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "rnnlm",
    assigns=[f"doc._.{SCORES}"],
    default_config={
        "model": DEFAULT_MODEL,
        "n_alternatives": 5,
        "temperature": 1.0,
        "seed": 0,
        "max_length": 128,
        "batch_tokens": 4096,
        "inference_dtype": "bfloat16",
        "detect_odd": False,
        "odd_threshold": 6.5,
        "odd_margin": 9.0,
        "odd_candidates": 10,
        "odd_edit_cost": 6.0,
        "scorer": {"@scorers": "spacy-rnnlm.lm_scorer.v1"},
    },
    default_score_weights={"lm_score": 1.0, "lm_perplexity": 0.0},
)
def make_rnnlm(
    nlp: Language,
    name: str,
    model: Model[LMBatch, LMOutput],
    n_alternatives: int,
    temperature: float,
    seed: int,
    max_length: int,
    batch_tokens: int,
    inference_dtype: str,
    detect_odd: bool,
    odd_threshold: float,
    odd_margin: float,
    odd_candidates: int,
    odd_edit_cost: float,
    scorer: Optional[Callable],
) -> "RNNLM":
    """Create an `RNNLM` component.

    model (Model[LMBatch, LMOutput]): The language model, e.g. spacy-rnnlm.LSTMLanguageModel.v1.
    n_alternatives (int): Words drawn per token for `Token._.lm_alternatives`; 0 switches drawing off.
    temperature (float): Temperature (> 0) of the distribution the alternatives are drawn from.
    seed (int): Seed of the draws; with the same text and model, the same seed gives the same draws.
    max_length (int): Training sequences longer than this many tokens are cut into windows.
    batch_tokens (int): Padded tokens per torch batch (sequences sorted by length) in training
        and scoring; bounds memory and padding, not results.
    inference_dtype (str): Precision of the matrix products when scoring and generating:
        "bfloat16" (twice as fast on CPUs with native bf16, e.g. AVX512-BF16, and on GPUs; test
        perplexity changes by < 0.1%) or "float32". Where the hardware lacks bf16, float32 is
        used. Training is always float32.
    detect_odd (bool): Look for odd words (`Token._.lm_is_odd`, `lm_suggestion`,
        `Doc._.lm_odd_tokens`) by rescoring sentences with candidate replacements
        (see spacy_rnnlm/odd_words.py). Off by default: it rescores each suspicious word's
        sentence ~20 times, ~20x slower than scoring; the extensions are None while it is off.
    odd_threshold (float): A word is odd when a replacement raises its sentence's log-prob,
        less `odd_edit_cost` per changed character, by more than this many nats (chosen for F1
        on homophone-corrupted dev sentences, see the README).
    odd_margin (float): Only words this many nats below the model's most likely word at their
        position are rescored (speed; unknown words always are).
    odd_candidates (int): Replacements tried per word: this many of the model's top words and
        this many one-character neighbours.
    odd_edit_cost (float): Nats a replacement pays per character it changes (a noisy channel:
        one slip is likelier than two).
    scorer (Optional[Callable]): The scoring method, reporting `lm_perplexity` and `lm_score`.
    """
    return RNNLM(
        nlp.vocab,
        model,
        name,
        tokenizer=nlp.tokenizer,
        n_alternatives=n_alternatives,
        temperature=temperature,
        seed=seed,
        max_length=max_length,
        batch_tokens=batch_tokens,
        inference_dtype=inference_dtype,
        detect_odd=detect_odd,
        odd_threshold=odd_threshold,
        odd_margin=odd_margin,
        odd_candidates=odd_candidates,
        odd_edit_cost=odd_edit_cost,
        scorer=scorer,
    )


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


@dataclass
class Unit:
    """One scored sequence of a doc: the indices of its counted tokens and what the model said."""

    token_ids: List[int]
    ids: Optional[numpy.ndarray] = None  # (n + 2,): <s>, the tokens' vocabulary ids, </s>
    logprobs: Optional[numpy.ndarray] = None  # (n + 1,): each token, then the end of sentence
    sample_ids: Optional[numpy.ndarray] = None  # (n + 1, n_alternatives)
    sample_logprobs: Optional[numpy.ndarray] = None
    spelling: Optional[List[Optional[float]]] = None  # (n,): log P_spell of unknown words
    top_ids: Optional[numpy.ndarray] = None  # (n + 1, odd_candidates): most likely words
    top_logprobs: Optional[numpy.ndarray] = None
    odd: Optional[List[Optional[Tuple[float, int]]]] = None  # (n,): best (gain, word id) if rescored


def sequence_units(doc: Doc) -> List[List[int]]:
    """Token indices of each independently scored sequence: the sentences if the doc has
    sentence boundaries, else the whole doc; whitespace tokens are left out."""
    units = [[t.i for t in span if not t.is_space] for span in sentence_spans(doc)]
    return [unit for unit in units if unit]


class RNNLM(TrainablePipe):
    """Scores each token by the probability an LSTM language model gives it after its left context.

    Sets `Doc._.lm_scores`, read by the `lm_` extensions on `Token`, `Span` and `Doc`.
    """

    def __init__(
        self,
        vocab,
        model: Model[LMBatch, LMOutput],
        name: str = "rnnlm",
        *,
        n_alternatives: int = 5,
        temperature: float = 1.0,
        seed: int = 0,
        max_length: int = 128,
        batch_tokens: int = 4096,
        inference_dtype: str = "bfloat16",
        detect_odd: bool = False,
        odd_threshold: float = 6.5,
        odd_margin: float = 9.0,
        odd_candidates: int = 10,
        odd_edit_cost: float = 6.0,
        scorer: Optional[Callable] = lm_score,
        tokenizer: Optional[Callable[[str], Doc]] = None,
    ) -> None:
        check_temperature(temperature, allow_zero=False)
        for key, value, ok, expected in (
            ("n_alternatives", n_alternatives, isinstance(n_alternatives, int) and n_alternatives >= 0, "an integer >= 0"),
            ("max_length", max_length, isinstance(max_length, int) and max_length >= 2, "an integer >= 2"),
            ("batch_tokens", batch_tokens, isinstance(batch_tokens, int) and batch_tokens >= 1, "an integer >= 1"),
            ("inference_dtype", inference_dtype, inference_dtype in INFERENCE_DTYPES, " or ".join(INFERENCE_DTYPES)),
            ("detect_odd", detect_odd, isinstance(detect_odd, bool), "true or false"),
            ("odd_threshold", odd_threshold, isinstance(odd_threshold, (int, float)), "a number (nats)"),
            ("odd_margin", odd_margin, isinstance(odd_margin, (int, float)) and odd_margin >= 0, "a number >= 0 (nats)"),
            ("odd_candidates", odd_candidates, isinstance(odd_candidates, int) and odd_candidates >= 1, "an integer >= 1"),
            ("odd_edit_cost", odd_edit_cost, isinstance(odd_edit_cost, (int, float)) and odd_edit_cost >= 0, "a number >= 0 (nats)"),
        ):
            if not ok:
                raise ValueError(Errors.E005.format(name=key, value=value, expected=expected))
        self.vocab = vocab
        self.model = model
        self.name = name
        self.n_alternatives = n_alternatives
        self.temperature = float(temperature)
        self.seed = int(seed)
        self.max_length = max_length
        self.batch_tokens = batch_tokens
        self.inference_dtype = inference_dtype
        self.detect_odd = detect_odd
        self.odd_threshold = float(odd_threshold)
        self.odd_margin = float(odd_margin)
        self.odd_candidates = odd_candidates
        self.odd_edit_cost = float(odd_edit_cost)
        self._neighbors: Optional[NeighborIndex] = None
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {}
        self.lm_vocab: Optional[LMVocab] = None
        # Spells out unknown words (open vocabulary); None only for models saved without one.
        self.spelling: Optional[SpellingModel] = None
        self._optimizer: Optional[Tuple[Any, torch.optim.Optimizer]] = None
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
        self.lm_vocab = vocab
        self._neighbors = None  # built from the vocabulary on first use
        self.model.layers.clear()
        self.model.set_dim("nV", len(vocab), force=True)
        self.model.initialize()

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        min_freq: int = 2,
        max_size: Optional[int] = 30000,
        spelling_order: int = 3,
    ) -> None:
        """Build the word vocabulary and the spelling model from the training texts, then the model.

        get_examples (Callable[[], Iterable[Example]]): The training data.
        nlp (Language): The pipeline; its annotating components before this one (e.g. the
            `sentencizer`) mark sentences, so `</s>` is counted per sentence as in training.
        min_freq (int): Keep words seen at least this often.
        max_size (Optional[int]): Keep at most this many words (the most frequent).
        spelling_order (int): Order of the character n-gram model that spells unknown words
            (trained on the training words left out of the vocabulary).
        """
        validate_get_examples(get_examples, "RNNLM.initialize")
        annotators = self._annotators(nlp)

        def sequences() -> Iterator[List[str]]:
            for eg in get_examples():
                doc = eg.predicted
                for _, proc in annotators:
                    doc = proc(doc)
                for unit in sequence_units(doc):
                    yield [doc[i].text for i in unit]

        freqs, n_sequences = LMVocab.count(sequences())
        vocab = LMVocab.from_counts(freqs, n_sequences, min_freq=min_freq, max_size=max_size)
        if vocab.counts[EOS_ID] == 0:
            raise ValueError(Errors.E002)
        if len(vocab) < 10:
            util.logger.warning(Warnings.W001.format(n=len(vocab)))
        unknown = [w for w in freqs if w not in vocab]
        self.spelling = SpellingModel.build(unknown, order=spelling_order, vocab=vocab.words[len(SPECIALS) :])
        self._build_model(vocab)

    def _annotators(self, nlp: Optional[Language]) -> List[Tuple[str, Callable]]:
        if nlp is None:
            return []
        wanted = set(nlp.config["training"].get("annotating_components", []))
        before = nlp.pipe_names[: nlp.pipe_names.index(self.name)] if self.name in nlp.pipe_names else []
        return [(name, proc) for name, proc in nlp.pipeline if name in before and name in wanted]

    # -- sequences ----------------------------------------------------------------------------

    def _encode(self, doc: Doc, unit: Sequence[int]) -> numpy.ndarray:
        ids = self.lm_vocab.encode(doc[i].text for i in unit)  # type: ignore[union-attr]
        return numpy.asarray([BOS_ID] + ids + [EOS_ID], dtype="int64")

    def _unit_seed(self, doc: Doc, unit: Sequence[int]) -> int:
        """Seed of a unit's draws: from the config seed and its text, nothing else (so draws do
        not depend on the batch, the doc around the sentence, or the process)."""
        text = "\x1f".join(doc[i].text for i in unit)
        return (self.seed * 1_000_003 + zlib.crc32(text.encode("utf8"))) % (2**63)

    def _training_windows(self, docs: Iterable[Doc]) -> List[numpy.ndarray]:
        """Training sequences, cut into windows of at most `max_length` predictions: no text is
        dropped, and a window's first id is the context of its first prediction."""
        windows = []
        for doc in docs:
            for unit in sequence_units(doc):
                seq = self._encode(doc, unit)
                for start in range(0, len(seq) - 1, self.max_length):
                    windows.append(seq[start : start + self.max_length + 1])
        return windows

    # -- prediction ---------------------------------------------------------------------------

    def predict(self, docs: Iterable[Doc]) -> List[List[Unit]]:
        """Score every sentence of every doc. Sequences are sorted by length and batched by
        padded size, so padding costs little and memory stays bounded; results do not depend
        on the batch (right padding never reaches a position's output, and each sentence draws
        with its own generator)."""
        self._require_initialized()
        docs = list(docs)
        per_doc = [[Unit(unit) for unit in sequence_units(doc)] for doc in docs]
        flat = [(doc, unit) for doc, units in zip(docs, per_doc) for unit in units]
        for doc, unit in flat:
            unit.ids = self._encode(doc, unit.token_ids)
        seqs = [unit.ids for _, unit in flat]
        seeds = [self._unit_seed(doc, unit.token_ids) for doc, unit in flat]
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        for batch in _batches_by_padded_size(order, [len(s) for s in seqs], self.batch_tokens):
            output = self.model.predict(
                LMBatch(
                    [seqs[i] for i in batch],
                    n_samples=self.n_alternatives,
                    temperature=self.temperature,
                    seeds=[seeds[i] for i in batch],
                    compute_dtype=self._compute_dtype(),
                    n_top=self.odd_candidates if self.detect_odd else 0,
                )
            )
            for j, i in enumerate(batch):
                unit = flat[i][1]
                unit.logprobs = self.model.ops.to_numpy(output.logprobs[j])
                if self.n_alternatives:
                    unit.sample_ids = self.model.ops.to_numpy(output.sample_ids[j])
                    unit.sample_logprobs = self.model.ops.to_numpy(output.sample_logprobs[j])
                if self.detect_odd:
                    unit.top_ids = self.model.ops.to_numpy(output.top_ids[j])
                    unit.top_logprobs = self.model.ops.to_numpy(output.top_logprobs[j])
        for doc, unit in flat:
            unit.spelling = [
                self.spelling.logprob(doc[i].text) if unit.ids[pos + 1] == UNK_ID and self.spelling else None
                for pos, i in enumerate(unit.token_ids)
            ]
        if self.detect_odd:
            self._find_odd(flat)
        return per_doc

    def _find_odd(self, flat: List[Tuple[Doc, Unit]]) -> None:
        """Rescore each sentence with candidate replacements of its suspicious words, all in one
        batch, and keep each word's best (gain in nats, replacement id) in `unit.odd`."""
        if self._neighbors is None:
            self._neighbors = NeighborIndex(self.lm_vocab)  # type: ignore[arg-type]
        jobs: List[Tuple[Unit, int, str, int]] = []  # (sentence, position, word, replacement id)
        seqs: List[numpy.ndarray] = []
        words = self.lm_vocab.words  # type: ignore[union-attr]
        for doc, unit in flat:
            unit.odd = [None] * len(unit.token_ids)
            for pos, i in enumerate(unit.token_ids):
                text = doc[i].text
                observed = float(unit.logprobs[pos]) + (unit.spelling[pos] or 0.0)
                if not is_checked(text) or observed >= float(unit.top_logprobs[pos][0]) - self.odd_margin:
                    continue
                word_id = int(unit.ids[pos + 1])
                for cand in candidate_ids(text, word_id, unit.top_ids[pos], self._neighbors, words, self.odd_candidates):
                    seq = unit.ids.copy()
                    seq[pos + 1] = cand
                    jobs.append((unit, pos, text, cand))
                    seqs.append(seq)
        for (unit, pos, text, cand), total in zip(jobs, self._sequence_logprobs(seqs)):
            # other unknown words cost the same spelling in both sentences: it cancels
            gain = total - float(unit.logprobs.sum()) - (unit.spelling[pos] or 0.0)
            gain -= self.odd_edit_cost * n_changed(text, words[cand])
            if unit.odd[pos] is None or gain > unit.odd[pos][0]:
                unit.odd[pos] = (gain, cand)

    def _sequence_logprobs(self, seqs: List[numpy.ndarray]) -> List[float]:
        """Closed-vocabulary log-prob of each id sequence (its words and its end)."""
        totals = [0.0] * len(seqs)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        for batch in _batches_by_padded_size(order, [len(s) for s in seqs], self.batch_tokens):
            output = self.model.predict(LMBatch([seqs[i] for i in batch], compute_dtype=self._compute_dtype()))
            for j, i in enumerate(batch):
                totals[i] = float(output.logprobs[j].sum())
        return totals

    def _compute_dtype(self) -> Optional[torch.dtype]:
        """The autocast dtype for inference, or None for plain float32."""
        if self.inference_dtype == "float32":
            return None
        device = next(torch_module(self.model).parameters()).device
        return torch.bfloat16 if _has_native_bf16(device) else None

    def set_annotations(self, docs: Iterable[Doc], units_per_doc: List[List[Unit]]) -> None:
        """Write `Doc._.lm_scores`. An unknown word's log-prob is the open-vocabulary one,
        log P(<unk> | context) + log P_spell(word); `spelling[i]` keeps the second term."""
        vocab = self._require_initialized()
        for doc, units in zip(docs, units_per_doc):
            n = len(doc)
            logprob: List[Optional[float]] = [None] * n
            unigram: List[Optional[float]] = [None] * n
            spelling: List[Optional[float]] = [None] * n
            alternatives: List[Optional[list]] = [None] * n
            odd: List[Optional[list]] = [None] * n
            ends = []
            for unit in units:
                for pos, i in enumerate(unit.token_ids):
                    idx = int(unit.ids[pos + 1])
                    logprob[i] = float(unit.logprobs[pos])
                    unigram[i] = vocab.unigram_logprob(idx)
                    spelling[i] = unit.spelling[pos]
                    if spelling[i] is not None:
                        logprob[i] += spelling[i]
                        unigram[i] += spelling[i]
                    alternatives[i] = self._alternatives(unit, pos)
                    if unit.odd is not None and unit.odd[pos] is not None:
                        gain, word_id = unit.odd[pos]
                        odd[i] = [gain, vocab.words[word_id]]
                ends.append([unit.token_ids[-1], float(unit.logprobs[-1]), vocab.unigram_logprob(EOS_ID)])
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
                record["odd_threshold"] = self.odd_threshold
            doc._.set(SCORES, record)

    def _alternatives(self, unit: Unit, pos: int) -> list:
        if unit.sample_ids is None:
            return []
        words = self.lm_vocab.words  # type: ignore[union-attr]
        pairs = [
            [words[int(idx)], float(math.exp(lp))]
            for idx, lp in zip(unit.sample_ids[pos], unit.sample_logprobs[pos])
        ]
        return sorted(pairs, key=lambda pair: -pair[1])

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
        """Learn from a batch: next-token cross-entropy over its sequences (padding masked).
        `drop` is not used: dropout is the model's own setting (torch dropout)."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)  # validate_examples would exhaust a generator
        validate_examples(examples, "RNNLM.update")
        self._require_initialized()
        windows = self._training_windows(eg.predicted for eg in examples)
        n_total = sum(len(w) - 1 for w in windows)
        if n_total == 0:
            return losses
        # Length-sorted sub-batches: padding (and so wasted LSTM steps) stays small. Gradients
        # accumulate in the torch module across sub-batches; one optimizer step follows.
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        for group in _batches_by_padded_size(order, [len(w) for w in windows], self.batch_tokens):
            output, backprop = self.model.begin_update(LMBatch([windows[i] for i in group]))
            loss, d_logprobs = self.get_loss(examples, output, normalizer=n_total)
            backprop(d_logprobs)
            losses[self.name] += loss
        if sgd is not None:
            self.finish_update(sgd)
        return losses

    def get_loss(
        self, examples: Iterable[Example], output: LMOutput, *, normalizer: Optional[int] = None
    ) -> Tuple[float, List]:
        """Negative log-likelihood of the predicted tokens divided by `normalizer` (default: their
        number, i.e. the mean per token), and its gradient w.r.t. each log-prob."""
        n = normalizer or sum(len(lp) for lp in output.logprobs)
        if n == 0:
            return 0.0, [lp * 0 for lp in output.logprobs]
        loss = -sum(float(lp.sum()) for lp in output.logprobs) / n
        return loss, [self.model.ops.alloc1f(len(lp)) - 1.0 / n for lp in output.logprobs]

    def finish_update(self, sgd: Optimizer) -> None:
        """One optimizer step on the torch module, configured from spaCy's thinc optimizer.

        thinc's `PyTorchShim.finish_update` round-trips every parameter through numpy on each
        step; with this model it leaked ~30 MB per step (thinc 8.3.14) and is slower than torch's
        own Adam. So the step is taken by a torch optimizer that reads, on every call, the thinc
        optimizer's scheduled `learn_rate`, `beta1`/`beta2`, `eps` and `L2` (decoupled weight
        decay when `L2_is_weight_decay`, as in thinc), and clips the global gradient norm to
        `grad_clip` (thinc clips each parameter separately; the global norm is the usual choice
        for LSTMs). `b1 = b2 = 0` (thinc's SGD) gives plain SGD. Parameter averaging
        (`use_averages`) is not applied.
        """
        module = torch_module(self.model)
        params = [p for p in module.parameters() if p.requires_grad]
        key = (id(sgd), id(module))
        if self._optimizer is None or self._optimizer[0] != key:
            self._optimizer = (key, _torch_optimizer(sgd, params))
        optimizer = self._optimizer[1]
        for group in optimizer.param_groups:
            group["lr"] = float(sgd.learn_rate)
            if "betas" in group:
                group["betas"] = (float(sgd.b1), float(sgd.b2))
                group["eps"] = float(sgd.eps)
            group["weight_decay"] = float(sgd.L2)
        if sgd.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, float(sgd.grad_clip))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def __reduce__(self):
        # TrainablePipe's Cython pickling copies __dict__ as is; leave out what must not travel.
        # vocab, model, cfg, scorer and name are Cython attributes, outside __dict__.
        state = dict(self.__dict__)
        state.update({key: getattr(self, key) for key in _CYTHON_ATTRS})
        state["_optimizer"] = None  # training state, not part of the component
        state["tokenizer"] = None  # spaCy's jieba tokenizer cannot be pickled
        state["_neighbors"] = None  # rebuilt from the vocabulary
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
            "model": lambda: model_bytes,
        }
        return util.to_bytes(serialize, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "RNNLM":
        try:
            msg = srsly.msgpack_loads(bytes_data)
            self.cfg.update(srsly.json_loads(msg["cfg"]))
            vocab = LMVocab.from_bytes(msg["lm_vocab"])
            spelling = srsly.msgpack_loads(msg["spelling"]) if "spelling" in msg else None
        except Exception as err:
            raise ValueError(Errors.E004.format(path="<bytes>", err=err)) from err
        self.spelling = _load_spelling(spelling)
        self._build_model(vocab)
        self._load_model_bytes(msg["model"], "<bytes>")
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        model_bytes = self._model_bytes()
        serialize = {
            "cfg": lambda p: srsly.write_json(p, self.cfg),
            "lm_vocab.json": lambda p: self.lm_vocab.to_disk(p),  # type: ignore[union-attr]
            "spelling.json": lambda p: srsly.write_json(p, self.spelling.to_dict() if self.spelling else None),
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
        except Exception as err:
            raise ValueError(Errors.E004.format(path=path, err=err)) from err
        self.spelling = _load_spelling(spelling)
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


def _has_native_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix products are fast here (emulated bf16 on older CPUs is slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def _torch_optimizer(sgd: Optimizer, params: List[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The torch counterpart of a thinc optimizer (hyper-parameters are refreshed every step)."""
    if getattr(sgd, "use_radam", False):
        return torch.optim.RAdam(params, decoupled_weight_decay=bool(sgd.L2_is_weight_decay))
    if sgd.b1 == 0 and sgd.b2 == 0:
        return torch.optim.SGD(params)
    return (torch.optim.AdamW if sgd.L2_is_weight_decay else torch.optim.Adam)(params)


def _batches_by_padded_size(order: List[int], lengths: List[int], max_padded: int) -> Iterator[List[int]]:
    """Split `order` (indices sorted by length) into batches whose padded size stays within
    `max_padded`; a single longer sequence gets a batch of its own."""
    batch: List[int] = []
    for i in order:
        if batch and (len(batch) + 1) * lengths[i] > max_padded:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch
