"""The word vocabulary of the language model: specials, ids, and unigram counts (for SLOR)."""
import math
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import srsly

from .errors import Errors

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)

class LMVocab:
    """Maps words to ids. Built from training texts only, so unknown words keep a real `<unk>` path.

    Ids 0–3 are the specials `<pad>`, `<unk>`, `<s>`, `</s>`; words follow by falling frequency
    (ties in Unicode string order). `counts[i]` is how often id `i` was seen in training, with
    every dropped word counted under `<unk>` and every sequence end under `</s>`, so
    `unigram_logprob` is a proper unigram distribution over the model's outcomes.
    """

    def __init__(self, words: Sequence[str] = (), counts: Optional[Sequence[int]] = None):
        self.words: List[str] = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        self.index: Dict[str, int] = {w: i for i, w in enumerate(self.words)}
        self.counts: List[int] = list(counts) if counts is not None else [0] * len(self.words)
        if len(self.counts) != len(self.words):
            raise ValueError(Errors.E007.format(err="counts and words differ in length"))
        # per id, computed once: scoring reads one per token
        denominator = sum(self.counts) + len(self.words)
        self.unigram_logprobs: List[float] = [math.log((c + 1) / denominator) for c in self.counts]

    @staticmethod
    def count(sequences: Iterable[Sequence[str]], max_types: Optional[int] = None) -> Tuple[Counter, int]:
        """Word frequencies (specials left out) and the number of sequences, in one pass.

        max_types (Optional[int]): Bound on the distinct words held while counting (memory on a
            big corpus): whenever there are more, the words seen at most `r` times are dropped
            and `r` grows by one, as word2vec's ReduceVocab does. The words that survive are the
            frequent ones; the counts of those seen before a reduction may be a little low.
        """
        freqs: Counter = Counter()
        n_sequences = 0
        reduce_at = 1
        for seq in sequences:
            freqs.update(seq)
            n_sequences += 1
            if max_types is not None and len(freqs) > max_types:
                for word in [w for w, n in freqs.items() if n <= reduce_at]:
                    del freqs[word]
                reduce_at += 1
        for special in SPECIALS:
            freqs.pop(special, None)
        return freqs, n_sequences

    @staticmethod
    def sum_counts(parts: Iterable[Tuple[Mapping[str, int], int]]) -> Tuple[Counter, int]:
        """The (frequencies, number of sequences) of `count` on several shards, added up."""
        freqs: Counter = Counter()
        n_sequences = 0
        for part, n in parts:
            freqs.update(part)
            n_sequences += n
        return freqs, n_sequences

    @classmethod
    def build(
        cls, sequences: Iterable[Sequence[str]], *, min_freq: int = 2, max_size: Optional[int] = None
    ) -> "LMVocab":
        """Keep words seen at least `min_freq` times, at most `max_size` of them (most frequent)."""
        return cls.from_counts(*cls.count(sequences), min_freq=min_freq, max_size=max_size)

    @classmethod
    def from_counts(
        cls, freqs: Counter, n_sequences: int, *, min_freq: int = 2, max_size: Optional[int] = None
    ) -> "LMVocab":
        kept = sorted((w for w, n in freqs.items() if n >= min_freq), key=lambda w: (-freqs[w], w))
        if max_size is not None and max_size >= 0:
            kept = kept[:max_size]
        kept_counts = [freqs[w] for w in kept]
        unk_count = sum(freqs.values()) - sum(kept_counts)
        return cls(kept, [0, unk_count, 0, n_sequences] + kept_counts)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index and self.index[word] >= len(SPECIALS)

    def encode(self, words: Iterable[str]) -> List[int]:
        return [self.index.get(w, UNK_ID) if w not in SPECIALS else UNK_ID for w in words]

    def unigram_logprob(self, idx: int) -> float:
        """Add-one smoothed natural-log unigram probability of id `idx`."""
        return self.unigram_logprobs[idx]

    def to_dict(self) -> dict:
        return {"words": self.words[len(SPECIALS):], "counts": self.counts}

    @classmethod
    def from_dict(cls, data: dict) -> "LMVocab":
        try:
            words, counts = list(data["words"]), [int(c) for c in data["counts"]]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(Errors.E007.format(err=err)) from err
        return cls(words, counts)

    def to_bytes(self) -> bytes:
        return srsly.msgpack_dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> "LMVocab":
        try:
            msg = srsly.msgpack_loads(data)
        except Exception as err:
            raise ValueError(Errors.E007.format(err=err)) from err
        return cls.from_dict(msg)

    def to_disk(self, path: Union[str, Path]) -> None:
        srsly.write_json(path, self.to_dict())

    @classmethod
    def from_disk(cls, path: Union[str, Path]) -> "LMVocab":
        try:
            data = srsly.read_json(path)
        except Exception as err:
            raise ValueError(Errors.E007.format(err=err)) from err
        return cls.from_dict(data)


def vocab_chars(vocab: LMVocab) -> Set[str]:
    """The characters of the vocabulary's words: what the sound and look-alike tables cover, and
    the characters a correction may change."""
    return set("".join(vocab.words[len(SPECIALS) :]))
