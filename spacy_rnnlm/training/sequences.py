"""What the rnnlm component counts and trains on: the vocabulary from the training texts, and the
training windows of a batch."""
import contextlib
import heapq
from typing import Callable, Iterable, Iterator, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.training import Example

from ..errors import Errors
from ..inference.units import batches_by_padded_size, encode, sequence_units, unit_words
from ..vocab import LMVocab
from .cache import CACHE_KEY, CachedDoc
from .parallel import examples_are_sharded, is_parallel, merge_counts


def annotating_components(nlp: Optional[Language], name: str) -> List[Tuple[str, Callable]]:
    """The components before `name` that annotate during training (e.g. the sentencizer): they
    mark the sentences the rnnlm counts and trains on."""
    if nlp is None:
        return []
    wanted = set(nlp.config["training"].get("annotating_components", []))
    before = nlp.pipe_names[: nlp.pipe_names.index(name)] if name in nlp.pipe_names else []
    return [(n, proc) for n, proc in nlp.pipeline if n in before and n in wanted]


def count_vocabulary(
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
    frequent words left out of it (the spelling model's sample). Under torch.distributed, with a
    reader that shards by process, each process counts its shard and the counts are merged
    (`merge_counts`): every process gets the vocabulary of the whole corpus. Without `corpus`,
    the examples count as shards inside `sharded_examples()` (distributed.py)."""

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


def training_windows(examples: Iterable[Example], vocab: LMVocab, fingerprint: Callable[[], str], max_length: int) -> List[numpy.ndarray]:
    """Training sequences, cut into windows of at most `max_length` predictions: no text is
    dropped, and a window's first id is the context of its first prediction. Examples from a
    token cache bring their ids (training/cache.py), which must match `fingerprint()` (the
    vocabulary's); the others, their text."""
    windows = []
    # spaCy's loop sorts a batch by len(example.predicted), which is 0 for cached examples:
    # they are sorted by their source's length here, as the raw text's examples come
    for eg in sorted(examples, key=_cached_length):
        cached: Optional[CachedDoc] = eg.reference.user_data.get(CACHE_KEY)
        if cached is not None:
            if cached.fingerprint != fingerprint():
                raise ValueError(Errors.E016)
            seqs: Iterable[numpy.ndarray] = cached.sequences()
        else:
            doc = eg.predicted
            seqs = (encode(vocab, (doc[i].text for i in unit)) for unit in sequence_units(doc))
        for seq in seqs:
            for start in range(0, len(seq) - 1, max_length):
                windows.append(seq[start : start + max_length + 1])
    return windows


def length_groups(lengths: List[int], batch_tokens: int, length_ratio: float) -> List[List[int]]:
    """Indices of length-sorted sequences in groups run together by the recurrent networks."""
    return list(batches_by_padded_size(list(range(len(lengths))), lengths, batch_tokens, length_ratio))


def _cached_length(eg: Example) -> int:
    cached = eg.reference.user_data.get(CACHE_KEY)
    return cached.length if cached is not None else 0
