"""Units: the independently scored sequences of a doc (its sentences), their ids, and batching."""
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import IS_SPACE
from spacy.tokens import Doc

from ..extensions import sentence_spans
from ..pieces import Pieces
from ..vocab import BOS_ID, EOS_ID, LMVocab


@dataclass
class Unit:
    """One scored sequence of a doc: the indices of its counted tokens and what the model said."""

    token_ids: List[int]
    ids: Optional[numpy.ndarray] = None  # (n + 2,): <s>, the tokens' vocabulary ids, </s>
    logprobs: Optional[numpy.ndarray] = None  # (n + 1,): each token, then the end of sentence
    # (n,): unknown words' log Q(word | <unk>, context): spelled out or read through their pieces
    # (spacy_rnnlm/pieces.py); the spelling alone until `fold_pieces` adds the pieces path
    spelling: Optional[List[Optional[float]]] = None
    # (n,): unknown words' pieces-path log-probs (log λ π_k Π P(p_i | …)), None where they have
    # none; folded into `spelling` once `logprobs` (with P(<unk> | context)) are known
    pieces: Optional[List[Optional[float]]] = None
    # unknown words' vocabulary pieces (ids, by position), where they have a split
    splits: Optional[Dict[int, List[int]]] = None
    # (n, k) each: alternatives as vocabulary ids and their probabilities (any context)
    alt_ids: Optional[numpy.ndarray] = None
    alt_probs: Optional[numpy.ndarray] = None
    # corrections: (start token pos, end token pos, replacement words, gain in nats), positions in the unit
    edits: List[Tuple[int, int, Tuple[str, ...], float]] = field(default_factory=list)
    # (n,): for each word examined by the corrector, its best (gain, replacement); None if not examined
    odd: Optional[List[Optional[Tuple[float, str]]]] = None
    # (n, width): the words' contextual states, for listeners (see states.py); None unless asked for
    states: Optional[numpy.ndarray] = None

    def fold_pieces(self) -> None:
        """Add each unknown word's pieces path to its `spelling` term (log Q = log (P_spell +
        path / P(<unk> | context))); needs `logprobs`; a second call does nothing."""
        if self.pieces is None or self.spelling is None:
            return
        if self.logprobs is None:
            raise RuntimeError("fold_pieces needs the unit's forward log-probs")
        for pos, path in enumerate(self.pieces):
            if path is not None:
                self.spelling[pos] = Pieces.combine(self.spelling[pos], path, float(self.logprobs[pos]))  # type: ignore[arg-type]
        self.pieces = None

    def total_logprob(self) -> float:
        """The open-vocabulary log-prob of the whole sequence, its end included (pieces folded in)."""
        self.fold_pieces()
        if self.logprobs is None:
            raise RuntimeError("total_logprob needs the unit's forward log-probs")
        return float(self.logprobs.sum()) + sum(s for s in self.spelling or () if s is not None)


def read_units(unit: Unit) -> Tuple[numpy.ndarray, List[Tuple[int, int]]]:
    """The ids a network reads for `unit` when each unknown word whose pieces path is its more
    probable one (more than spelling it out after `<unk>`) is read as its pieces (穿点 → 穿 点),
    and for each word the [first, end) of its targets there. Needs `logprobs`, and the
    unfolded `spelling` and `pieces`."""
    ids = unit.ids.tolist()  # type: ignore[union-attr]
    splits = unit.splits or {}
    out, spans = [ids[0]], []
    for pos, idx in enumerate(ids[1:-1]):
        first = len(out) - 1
        out.extend(splits[pos] if pos in splits and _pieces_win(unit, pos) else [idx])
        spans.append((first, len(out) - 1))
    out.append(ids[-1])
    return numpy.asarray(out, dtype="int64"), spans


def _pieces_win(unit: Unit, pos: int) -> bool:
    """Whether unknown word `pos`'s pieces path is more probable than `<unk>` spelled out."""
    path = None if unit.pieces is None else unit.pieces[pos]
    if path is None or unit.spelling is None or unit.logprobs is None:
        return False
    return path > float(unit.logprobs[pos]) + (unit.spelling[pos] or 0.0)


def sequence_units(doc: Doc) -> List[List[int]]:
    """Token indices of each independently scored sequence: the sentences if the doc has
    sentence boundaries, else the whole doc; whitespace tokens are left out."""
    # one array read, not a Token object per token (a few % of scoring time)
    spaces = doc.to_array(IS_SPACE).astype(bool)
    units = []
    for span in sentence_spans(doc):
        if spaces[span.start : span.end].any():
            unit = [i for i in range(span.start, span.end) if not spaces[i]]
        else:
            unit = list(range(span.start, span.end))
        if unit:
            units.append(unit)
    return units


def unit_words(doc: Doc, annotators: Sequence[Tuple[str, Callable[[Doc], Doc]]] = ()) -> List[List[str]]:
    """The words of each sequence of `doc` once `annotators` (the annotating components before
    the rnnlm, e.g. the sentencizer) have run on it: what the rnnlm counts and trains on."""
    for _, proc in annotators:
        doc = proc(doc)
    return [[doc[i].text for i in unit] for unit in sequence_units(doc)]


def encode(vocab: LMVocab, words: Iterable[str]) -> numpy.ndarray:
    """`[<s>, ids…, </s>]` of a word sequence."""
    return numpy.asarray([BOS_ID] + vocab.encode(words) + [EOS_ID], dtype="int64")


def unit_seed(seed: int, words: Sequence[str]) -> int:
    """Seed of a unit's draws: from the config seed and its text, nothing else (so draws do not
    depend on the batch, the doc around the sentence, or the process)."""
    text = "\x1f".join(words)
    return (seed * 1_000_003 + zlib.crc32(text.encode("utf8"))) % (2**63)


def batches_by_padded_size(
    order: List[int], lengths: List[int], max_padded: int, max_ratio: Optional[float] = None
) -> Iterator[List[int]]:
    """Split `order` (indices sorted by length) into batches whose padded size stays within
    `max_padded`; a single longer sequence gets a batch of its own. With `max_ratio`, a batch's
    longest sequence is also at most `max_ratio` times its shortest: sentence lengths have a long
    tail, and without this bound about half of an LSTM's steps run on padding."""
    batch: List[int] = []
    shortest = 0
    for i in order:
        too_wide = max_ratio is not None and lengths[i] > max_ratio * shortest
        if batch and ((len(batch) + 1) * lengths[i] > max_padded or too_wide):
            yield batch
            batch = []
        if not batch:
            shortest = max(lengths[i], 1)
        batch.append(i)
    if batch:
        yield batch


def length_batches(seqs: Sequence[Sequence[int]], max_padded: int) -> Iterator[List[int]]:
    """Indices of `seqs` in length-sorted batches of bounded padded size."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    return batches_by_padded_size(order, [len(s) for s in seqs], max_padded)
