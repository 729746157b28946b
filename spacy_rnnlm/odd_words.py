"""Odd-word detection: which words of a sentence look like slips, and what was probably meant.

A word is odd when replacing it with another word makes the *whole* sentence much more probable
(its left context and everything after it). Rescoring every word with every vocabulary word is
out of reach, so, per sentence:
1. a position is examined only if its word is a Chinese word and its log-prob is more than
   `margin` below the model's most likely word there (unknown words, spelled out, always are);
2. its candidates are words of the same length (a typo replaces characters, it does not add
   or drop them; without this rule, 公园 → 了 "improves" 我们今天去公园玩): the model's most
   likely frequent words there (`top_ids`) and the vocabulary words that differ from it in
   exactly one character (公圆 → 公园, 正策 → 政策);
3. the sentence is rescored with each candidate in its place, all in one batch; the gain is
   log P(sentence with candidate) − log P(sentence) − `edit_cost` × (characters changed), in
   nats: a noisy-channel score, where each changed character must pay for itself (one slip is
   likelier than two, so 公圆 → 公园 is preferred to 公圆 → 香港 unless the latter fits far
   better).
The component marks a word odd when its best gain exceeds `odd_threshold`.
"""
import re
from collections import defaultdict
from typing import Dict, List, Sequence

from .vocab import LMVocab, SPECIALS

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WILDCARD = "\x00"


def is_checked(text: str) -> bool:
    """Only words with Chinese characters are checked (not punctuation, digits, Latin)."""
    return bool(_CJK.search(text))


class NeighborIndex:
    """Vocabulary words by their one-character-substitution patterns (公? and ?园 both hold 公园)."""

    def __init__(self, vocab: LMVocab):
        patterns: Dict[str, List[int]] = defaultdict(list)
        for idx in range(len(SPECIALS), len(vocab)):  # ids follow frequency: lists come out most frequent first
            word = vocab.words[idx]
            if len(word) >= 2 and is_checked(word):
                for pattern in _patterns(word):
                    patterns[pattern].append(idx)
        self.patterns = dict(patterns)

    def neighbors(self, word: str, limit: int) -> List[int]:
        """Up to `limit` vocabulary ids (most frequent first) differing from `word` in one character."""
        if len(word) < 2:
            return []
        found: List[int] = []
        for pattern in _patterns(word):
            found.extend(self.patterns.get(pattern, ()))
        return sorted(set(found))[:limit]


def n_changed(word: str, other: str) -> int:
    """Characters that differ between two words of the same length."""
    return sum(a != b for a, b in zip(word, other))


def _patterns(word: str) -> List[str]:
    return [word[:j] + _WILDCARD + word[j + 1 :] for j in range(len(word))]


def candidate_ids(
    word: str, word_id: int, top_ids: Sequence[int], index: NeighborIndex, words: Sequence[str], limit: int
) -> List[int]:
    """The replacements tried for `word` (id `word_id`): the model's top words of the same
    length, then its one-character neighbours, without the word itself; at most `limit` of each."""
    seen = {word_id}
    out: List[int] = []
    same_length = [int(i) for i in top_ids[:limit] if len(words[int(i)]) == len(word)]
    for idx in same_length + index.neighbors(word, limit):
        if idx not in seen:
            seen.add(idx)
            out.append(idx)
    return out
