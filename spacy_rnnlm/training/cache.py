"""A corpus segmented once: token ids in memory-mapped shards, read without jieba.

`spacy-rnnlm preprocess` (training/preprocess.py) writes a cache folder; the reader
`spacy-rnnlm.TokenCache.v1` feeds it to `spacy train` and `train-dist` in place of raw text:

    manifest.json   format, the vocabulary's fingerprint, the shards' sizes, how it was made
    lm_vocab.json   the vocabulary the ids refer to, with this corpus's counts
    unknown.json    the most frequent words outside the vocabulary and their counts (the
                    spelling model learns from them at initialize)
    K.tokens        int32: shard K's sequences as the model reads them, `<s> ids </s>`, end to end
    K.units         int64: the end offset (in tokens) of each sequence
    K.docs          int64: the end index (in sequences) of each document
    K.lengths       int32: each document's length in spaCy tokens (what batchers count), -1
                    for a line that holds no text (kept so that indices stay aligned)

Document i of the corpus (its non-empty lines in order, as `StreamCorpus` counts them) is
document i // N of shard i % N, for N shards. The reader walks i in order and, under
torch.distributed, keeps the documents with i % world size == rank: the same documents, in the
same order, as `spacy-rnnlm.StreamCorpus.v1` gives from the raw text.

An example read from the cache carries no text: its predicted doc is empty (one shared doc:
spaCy's `update` copies it as any, at almost no cost), its reference doc holds the sequences' ids
in `user_data[CACHE_KEY]`, and `len(example)` is the source doc's length, so spaCy's batchers
make the batches they would make from the raw text. spaCy's training loop also sorts a batch by
`len(example.predicted)` before `update`; the rnnlm sorts cached examples by their source length
instead, so that it sees the same sequence of windows as from the raw text. Only the rnnlm learns
from such examples.
"""
import hashlib
import json
from pathlib import Path
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Union

import numpy
import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from ..vocab import LMVocab
from .parallel import world

FORMAT = "spacy-rnnlm.TokenCache"
VERSION = 1
CACHE_KEY = "rnnlm_cached"
SUFFIXES = {"tokens": "int32", "units": "int64", "docs": "int64", "lengths": "int32"}


class CacheError(ValueError):
    """A cache folder that is missing, incomplete, or made for another vocabulary."""


def vocab_fingerprint(vocab: LMVocab) -> str:
    """What the ids mean: a hash of the vocabulary's words in id order (not of its counts)."""
    return hashlib.sha256("\n".join(vocab.words).encode("utf8")).hexdigest()


class CachedDoc(NamedTuple):
    """A cached document: its length in spaCy tokens, and its sequences, `tokens[start:end]` for
    consecutive (start, end) in `bounds`, each `<s> ids </s>` as `inference.units.encode` makes it."""

    fingerprint: str
    length: int
    tokens: numpy.ndarray  # int64
    bounds: numpy.ndarray  # int64, (n sequences + 1,)

    def sequences(self) -> List[numpy.ndarray]:
        return [self.tokens[a:b] for a, b in zip(self.bounds[:-1], self.bounds[1:])]


class CachedExample(Example):
    """An example read from a token cache; `cache` is the TokenCache it came from."""

    cache: "TokenCache"

    def __len__(self) -> int:
        return self.reference.user_data[CACHE_KEY].length


class ShardWriter:
    """Appends documents to one shard's files, buffered, in bounded memory."""

    def __init__(self, folder: Path, index: int, buffer_tokens: int = 1 << 20):
        self.files = {kind: (folder / f"{index}.{kind}").open("wb") for kind in SUFFIXES}
        self.buffers: Dict[str, List[numpy.ndarray]] = {kind: [] for kind in SUFFIXES}
        self.buffered = 0
        self.buffer_tokens = buffer_tokens
        self.n_tokens = self.n_units = self.n_docs = 0

    def add(self, sequences: Sequence[numpy.ndarray], length: int) -> None:
        """One document: its encoded sequences and its length in spaCy tokens (-1: no text)."""
        ends = numpy.cumsum([len(s) for s in sequences], dtype="int64") + self.n_tokens
        for seq in sequences:
            self.buffers["tokens"].append(numpy.asarray(seq, dtype="int32"))
        self.buffers["units"].append(ends)
        self.n_tokens = int(ends[-1]) if len(ends) else self.n_tokens
        self.n_units += len(sequences)
        self.buffers["docs"].append(numpy.asarray([self.n_units], dtype="int64"))
        self.buffers["lengths"].append(numpy.asarray([length], dtype="int32"))
        self.n_docs += 1
        self.buffered += sum(len(s) for s in sequences) + 1
        if self.buffered >= self.buffer_tokens:
            self.flush()

    def flush(self) -> None:
        for kind, parts in self.buffers.items():
            if parts:
                numpy.concatenate(parts).astype(SUFFIXES[kind], copy=False).tofile(self.files[kind])
            parts.clear()
        self.buffered = 0

    def close(self) -> Dict[str, int]:
        self.flush()
        for file_ in self.files.values():
            file_.close()
        return {"docs": self.n_docs, "units": self.n_units, "tokens": self.n_tokens}


def _map(path: Path, dtype: str, expected: int) -> numpy.ndarray:
    if not path.exists():
        raise CacheError(f"Token cache file missing: {path}")
    size = path.stat().st_size
    itemsize = numpy.dtype(dtype).itemsize
    if size != expected * itemsize:
        raise CacheError(f"Token cache file {path} has {size} bytes, the manifest says {expected * itemsize}: incomplete or corrupted")
    if expected == 0:
        return numpy.zeros(0, dtype=dtype)
    # a plain view of the mapped file: slicing a numpy.memmap costs twice as much
    return numpy.memmap(path, dtype=dtype, mode="r").view(numpy.ndarray)


class TokenCache:
    """A cache folder opened for reading: the vocabulary and the shards, memory-mapped."""

    def __init__(self, path: Union[str, Path]):
        self.path = Path(path)
        manifest_path = self.path / "manifest.json"
        if not manifest_path.exists():
            raise CacheError(f"No token cache at {self.path} (no manifest.json): make one with `spacy-rnnlm preprocess`")
        try:
            self.manifest = srsly.read_json(manifest_path)
            shards = self.manifest["shards"]
            fmt, version = self.manifest["format"], self.manifest["version"]
        except (ValueError, KeyError, TypeError) as err:
            raise CacheError(f"Token cache manifest {manifest_path} is not readable: {err}") from err
        if fmt != FORMAT or version != VERSION:
            raise CacheError(f"{manifest_path} is a {fmt} v{version}, not a {FORMAT} v{VERSION}")
        self.fingerprint: str = self.manifest["vocab_fingerprint"]
        self.shards = []
        for k, sizes in enumerate(shards):
            expected = {"tokens": sizes["tokens"], "units": sizes["units"], "docs": sizes["docs"], "lengths": sizes["docs"]}
            self.shards.append({kind: _map(self.path / f"{k}.{kind}", SUFFIXES[kind], expected[kind]) for kind in SUFFIXES})
        self.n_docs = sum(s["docs"] for s in shards)

    def vocab(self) -> LMVocab:
        vocab = LMVocab.from_disk(self.path / "lm_vocab.json")
        if vocab_fingerprint(vocab) != self.fingerprint:
            raise CacheError(f"{self.path / 'lm_vocab.json'} does not match the manifest's vocabulary fingerprint")
        return vocab

    def unknown_words(self, n: int) -> List[str]:
        """The `n` most frequent words outside the vocabulary (the spelling model's sample)."""
        counts: Dict[str, int] = srsly.read_json(self.path / "unknown.json")
        return sorted(counts, key=lambda w: (-counts[w], w))[:n]

    def documents(self, rank: int = 0, world_size: int = 1, limit: int = 0) -> Iterator[CachedDoc]:
        """Process `rank`'s documents in corpus order."""
        n_shards = len(self.shards)
        total = min(self.n_docs, limit) if limit else self.n_docs
        for i in range(rank, total, world_size):
            arrays = self.shards[i % n_shards]
            j = i // n_shards
            length = int(arrays["lengths"][j])
            if length < 0:
                continue
            docs, units = arrays["docs"], arrays["units"]
            first_unit = int(docs[j - 1]) if j else 0
            ends = units[first_unit : int(docs[j])]
            start = int(units[first_unit - 1]) if first_unit else 0
            tokens = numpy.asarray(arrays["tokens"][start : int(ends[-1]) if len(ends) else start], dtype="int64")
            bounds = numpy.concatenate([[0], numpy.asarray(ends, dtype="int64") - start])
            yield CachedDoc(self.fingerprint, length, tokens, bounds)


def write_manifest(folder: Path, vocab: LMVocab, unknown: Dict[str, int], shards: List[Dict[str, int]], info: dict) -> None:
    """The vocabulary, the spelling sample and, last, the manifest (a cache without it is none)."""
    vocab.to_disk(folder / "lm_vocab.json")
    srsly.write_json(folder / "unknown.json", unknown)
    manifest = {"format": FORMAT, "version": VERSION, "vocab_fingerprint": vocab_fingerprint(vocab), "vocab_size": len(vocab)}
    manifest.update({"shards": shards, **info})
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf8")


@registry.readers("spacy-rnnlm.TokenCache.v1")
def create_token_cache(
    path: Optional[Union[str, Path]], limit: int = 0, min_length: int = 0, max_length: int = 0
) -> Callable[[Language], Iterator[Example]]:
    """Read a token cache made by `spacy-rnnlm preprocess` as training examples for the rnnlm,
    sharded by process under torch.distributed. The parameters are those of spacy.JsonlCorpus.v1,
    so a config's train corpus switches to it with `--corpora.train.@readers spacy-rnnlm.TokenCache.v1`.

    path (Union[str, Path]): The cache folder.
    limit (int): Read at most this many documents (0: all).
    min_length (int): Skip documents shorter than this many tokens (0: no limit).
    max_length (int): Skip documents longer than this many tokens (0: no limit).
    RETURNS (Callable[[Language], Iterator[Example]]): The reader.
    """
    if path is None:
        raise ValueError("spacy-rnnlm.TokenCache.v1 needs a path (e.g. --paths.train corpus/cache)")
    cache = TokenCache(path)  # a missing or broken cache fails when the config is resolved

    def read(nlp: Language) -> Iterator[Example]:
        rank, world_size = world()
        empty = Doc(nlp.vocab)
        for cached in cache.documents(rank, world_size, limit):
            if (min_length and cached.length < min_length) or (max_length and cached.length > max_length):
                continue
            reference = Doc(nlp.vocab)
            reference.user_data[CACHE_KEY] = cached
            example = CachedExample(empty, reference)
            example.cache = cache
            yield example

    read.shards_by_rank = True  # type: ignore[attr-defined]
    read.cache = cache  # type: ignore[attr-defined]
    return read
