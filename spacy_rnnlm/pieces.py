"""Unknown words read two ways: spelled out, or through the vocabulary words they are made of.

jieba's dictionary is bigger than the model's vocabulary, and it emits compounds of known words
(穿点 = 穿 + 点, 给我发 = 给 + 我 + 发) that the vocabulary lacks. Spelled character by character,
such a compound is priced like a foreign name. The word model can write such a word two ways: as
the token `<unk>` spelled u, or as the vocabulary words u is made of, one after the other. The
two are different paths of the same model to the same text, so their probabilities add:

    P(u | h) = P(<unk> | h) × P_spell(u) + λ · π_k · Π_i P_lm(p_i | h, p_1 … p_{i−1}),
    π_k = (1 − ρ) · ρ^(k − 2),

where p_1 … p_k (k ≥ 2) are u's pieces: the vocabulary words it splits into with the highest
unigram probability, found only for words made of Chinese characters (a number, a Latin word or
an emoji has no pieces path and keeps its spelling). λ ≤ 1 (`pieces_weight`) and π_k
(`pieces_continue` ρ) only ever drop mass from the second path; both are fitted on the dev split
(benchmarks/unknown_words.py). The figure is kept as P(<unk> | h) × Q(u | h) with
Q = P_spell + λ π_k Π / P(<unk> | h), so that `<unk>`'s own log-prob (the closed-vocabulary
score) and Q stay apart.

Why the result is a distribution over texts (not over the next token): a sentence's probability
is a sum over disjoint paths of the word model (token sequences) that write it, and two different
texts never share a path, so the sum over all texts stays at most 1. It is deficient: only the
path jieba's cut gives and, for each unknown word, the path through its best split are counted.
The one approximation is the context: words after an unknown word are scored after `<unk>`, and
the pieces of a later unknown word after the earlier ones' pieces (`expanded_prefix`), whichever
path the earlier word took. tests/unit/test_pieces.py sums P over every text of a toy language
with a toy segmenter and a toy context-dependent model and measures how far from 1 it is.
"""
import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .errors import Errors
from .vocab import SPECIALS, LMVocab

# A compound longer than this is spelled only (no sentence word is that long; bounds the search).
MAX_CHARS = 16
_CACHE_SIZE = 200_000


def is_han(char: str) -> bool:
    """Whether `char` is a CJK unified ideograph (the basic block or extension A)."""
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def check_pieces_settings(weight: float, cont: float) -> None:
    """λ in [0, 1] (above 1 the pieces path would count more than the model gives it) and ρ in
    [0, 1) (π_k must sum to 1)."""
    for name, value, closed in (("pieces_weight", weight, True), ("pieces_continue", cont, False)):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not (0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0):
            raise ValueError(Errors.E005.format(name=name, value=value, expected="a number in [0, 1]" if closed else "a number in [0, 1)"))


class Pieces:
    """Splits unknown words into vocabulary words and adds the two paths' probabilities."""

    def __init__(self, vocab: LMVocab, weight: float, cont: float):
        check_pieces_settings(weight, cont)
        self.vocab = vocab
        self.weight = float(weight)
        self.cont = float(cont)
        self._log_weight = math.log(self.weight) if self.weight > 0 else -math.inf
        words = vocab.words[len(SPECIALS) :]
        self._longest = min(max((len(w) for w in words), default=1), MAX_CHARS)
        self._cache: Dict[str, Optional[List[int]]] = {}

    def split(self, word: str) -> Optional[List[int]]:
        """Vocabulary ids of `word`'s most probable split into two or more vocabulary words
        (highest sum of unigram log-probs), or None: not all Chinese characters, too long, or not
        made of vocabulary words."""
        if word in self._cache:
            return self._cache[word]
        pieces = None
        if self.weight > 0 and 2 <= len(word) <= MAX_CHARS and all(is_han(c) for c in word):
            pieces = self._best_split(word)
        if len(self._cache) < _CACHE_SIZE:
            self._cache[word] = pieces
        return pieces

    def _best_split(self, word: str) -> Optional[List[int]]:
        index, unigram = self.vocab.index, self.vocab.unigram_logprobs
        n = len(word)
        best: List[float] = [0.0] + [-math.inf] * n  # best[j]: score of the best split of word[:j]
        back: List[int] = [0] * (n + 1)
        for j in range(1, n + 1):
            for i in range(max(0, j - self._longest), j):
                if best[i] == -math.inf or (i == 0 and j == n):  # the whole word is not a piece
                    continue
                idx = index.get(word[i:j])
                if idx is not None and idx >= len(SPECIALS):
                    score = best[i] + unigram[idx]
                    if score > best[j]:
                        best[j], back[j] = score, i
        if best[n] == -math.inf:
            return None
        ids, j = [], n
        while j > 0:
            ids.append(index[word[back[j] : j]])
            j = back[j]
        return ids[::-1]

    def log_length_prior(self, k: int) -> float:
        """log π_k: a geometric prior over the number of pieces k ≥ 2."""
        if self.cont == 0.0:
            return 0.0 if k == 2 else -math.inf
        return math.log1p(-self.cont) + (k - 2) * math.log(self.cont)

    def path_logprob(self, pieces_logprob: Optional[float], n_pieces: int) -> Optional[float]:
        """log (λ π_k Π_i P_lm(p_i | …)) from Σ log P_lm(p_i | …), or None without a pieces path."""
        if pieces_logprob is None or self.weight == 0.0:
            return None
        path = self._log_weight + self.log_length_prior(n_pieces) + pieces_logprob
        return None if path == -math.inf else path

    @staticmethod
    def combine(spelling: float, path: Optional[float], unk_logprob: float) -> float:
        """log Q(u | h) = log (P_spell(u) + path / P(<unk> | h)), from log P_spell(u), the pieces
        path's log-prob (`path_logprob`, None: spelling only) and log P(<unk> | h)."""
        if path is None:
            return spelling
        other = path - unk_logprob
        high, low = max(spelling, other), min(spelling, other)
        return high + math.log1p(math.exp(low - high))


def expanded_prefix(ids: Sequence[int], splits: Dict[int, List[int]]) -> List[int]:
    """`ids` (`[<s>, w…, </s>]`) with each split word (keyed by its word position) replaced by
    its pieces, cut after the last piece: the sequence whose predictions give the pieces'
    log-probs. Earlier split words are read as their pieces too (a deterministic reading of the
    left context, so each word's Q stays a distribution)."""
    out: List[int] = [ids[0]]
    last = max(splits)
    for pos in range(last + 1):
        out.extend(splits.get(pos) or [ids[pos + 1]])
    return out


def pieces_logprobs(
    seqs: Sequence[Sequence[int]],
    splits: Sequence[Dict[int, List[int]]],
    score: Callable[[List[List[int]], List[List[int]]], List[Sequence[float]]],
) -> List[Dict[int, float]]:
    """Σ log P_lm(p_i | …) of each split word (keyed by word position) of each id sequence, from
    one call of `score` (id sequences and, per sequence, the indices of the predictions wanted →
    their log-probs, in that order); sequences without split words are not scored."""
    todo = [k for k, s in enumerate(splits) if s]
    expanded = [expanded_prefix(seqs[k], splits[k]) for k in todo]
    spans: List[List[Tuple[int, int, int]]] = []  # per expanded sequence: (word position, first, end)
    for k in todo:
        at, rows = 0, []  # `at`: index of the prediction of the current word's first piece
        for pos in range(max(splits[k]) + 1):
            n = len(splits[k].get(pos) or (None,))
            if pos in splits[k]:
                rows.append((pos, at, at + n))
            at += n
        spans.append(rows)
    wanted = [[i for _, first, end in rows for i in range(first, end)] for rows in spans]
    scored = score(expanded, wanted) if expanded else []
    out: List[Dict[int, float]] = [{} for _ in seqs]
    for k, rows, lps in zip(todo, spans, scored):
        done = 0
        for pos, first, end in rows:
            out[k][pos] = float(sum(lps[done : done + end - first]))
            done += end - first
    return out


__all__ = ["Pieces", "is_han", "check_pieces_settings", "expanded_prefix", "pieces_logprobs", "MAX_CHARS"]
