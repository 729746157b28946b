"""Spelling correction from both sides of a word: find slips, propose what was meant, keep only
changes that make the sentence much more probable.

Per sentence (a unit):
1. *Detection.* A Chinese word is examined when the fill-in head, which sees both of its sides,
   finds it far less likely than its best word there among the frequent words (the adaptive
   softmax's head and first cluster; more than `margin` nats), or when it is unknown to the
   vocabulary (then spelled out: log P(<unk>) + log P_spell).
2. *Candidates* (a noisy channel: each needs a plausible slip):
   - vocabulary words of the same length one character away, the change costing `costs[SAME]`,
     `costs[NEAR]` or `costs[OTHER]` nats by how alike the two characters sound (sounds.py),
     or `look_cost` if they look alike (glyphs.py) and that is cheaper; and vocabulary words
     that sound the same or nearly with up to `MAX_CHANGES` characters changed (户秃 → 糊涂, a
     word typed by sound), each change paying its cost; never a change between two variant
     forms of a character (variants.py), nor of a character that no vocabulary word holds (a
     rare word's: slips land on common characters);
     the fill-in head must prefer the candidate to the word by more than that cost, and the
     `n_candidates` best by fill-in log-prob less cost go on;
   - the word merged with its left or right neighbour, replaced by a vocabulary word one
     sound-alike or look-alike character away from the pair (a slip often changes how jieba
     cuts the text: 正策 → 正/策): the `MERGED_CANDIDATES` cheapest.
3. *Rescoring.* Each candidate sentence is scored by the forward LM (its whole probability, so
   the right context counts twice over: in the fill-in shortlist and here); the gain is
   log P(candidate sentence) − log P(sentence) − cost.
4. *Edits.* Candidates whose gain exceeds `threshold` are applied, best first, never two that
   overlap. A sentence with no such candidate is left exactly as it is.
"""
from collections import defaultdict
from dataclasses import dataclass
from typing import AbstractSet, Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy
import torch

from ..glyphs import Glyphs
from ..sounds import OTHER, Sounds, is_cjk
from ..vocab import SPECIALS, UNK_ID, LMVocab, vocab_chars
from ..variants import Variants
from .fill import FULL_ROWS, PoolLogprobs
from .units import Unit

_WILDCARD = "\x00"
# Candidates tried per pair of words merged into one: no fill-in score ranks them (the pair is
# cut differently from the candidate), so only the cheapest changes are rescored.
MERGED_CANDIDATES = 3
# Words sounding alike are looked up for words of 2 to this many characters; at most this many
# characters may change in one correction (each change pays its cost).
MAX_SOUND_CHARS = 4
MAX_CHANGES = 2


class NeighborIndex:
    """Vocabulary words by their one-character-substitution patterns (公? and ?园 both hold 公园)."""

    def __init__(self, vocab: LMVocab):
        patterns: Dict[str, List[int]] = defaultdict(list)
        for idx in range(len(SPECIALS), len(vocab)):  # ids follow frequency: lists come out most frequent first
            word = vocab.words[idx]
            if is_cjk(word):
                for pattern in _patterns(word):
                    patterns[pattern].append(idx)
        self.patterns = dict(patterns)

    def neighbors(self, word: str) -> List[int]:
        """Vocabulary ids (most frequent first) differing from `word` in exactly one character."""
        found = set()
        for pattern in _patterns(word):
            found.update(self.patterns.get(pattern, ()))
        return sorted(found)


class SoundIndex:
    """Vocabulary words by how they sound: the near-sound key of each character (zh/z, -ang/-an …
    merged), so 户秃 finds 糊涂 and 以起 finds 一起: a word typed by sound with other characters
    (an input method's wrong choice) is several characters away but sounds the same."""

    def __init__(self, vocab: LMVocab, sounds: Sounds):
        self.sounds = sounds
        words: Dict[Tuple[str, ...], List[int]] = defaultdict(list)
        for idx in range(len(SPECIALS), len(vocab)):
            key = self.key(vocab.words[idx])
            if key is not None:
                words[key].append(idx)
        self.words = dict(words)

    def key(self, word: str) -> Optional[Tuple[str, ...]]:
        """The word's sound key, None for a word of one or more than `MAX_SOUND_CHARS`
        characters or with a character without a reading."""
        if not 2 <= len(word) <= MAX_SOUND_CHARS:
            return None
        keys = [self.sounds.near.get(c) for c in word]
        if not all(keys):
            return None
        return tuple(min(k) for k in keys)  # type: ignore[type-var]

    def alike(self, word: str) -> List[int]:
        """Vocabulary ids (most frequent first) that sound like `word`, `word` itself left out."""
        key = self.key(word)
        return [] if key is None else self.words.get(key, [])


def _patterns(word: str) -> List[str]:
    return [word[:j] + _WILDCARD + word[j + 1 :] for j in range(len(word))]


@dataclass
class Candidate:
    unit: int  # index of the unit
    start: int  # first word position replaced
    end: int  # one past the last
    word_id: int  # the replacement (one vocabulary word)
    cost: float
    seq: numpy.ndarray  # the candidate sentence's ids
    gain: float = 0.0


def change_cost(
    old: str,
    new: str,
    sounds: Sounds,
    costs: Sequence[float],
    glyphs: Optional[Glyphs] = None,
    look_cost: float = float("inf"),
    variants: Optional[Variants] = None,
    known: Optional[AbstractSet[str]] = None,
) -> Optional[float]:
    """Cost of changing `old` into `new` (same length, one to `MAX_CHANGES` characters differ), or
    None: each changed character costs by how alike the two characters sound, or `look_cost` if
    they look alike and that is cheaper (no look-alike class without `glyphs` and a finite cost);
    a change of several characters must have each sound the same or nearly (a word typed by
    sound). None too when two characters are variant forms of each other (著 / 着, 妳 / 你): the
    text was not wrong; and when `known` is given and a changed character of `old` is not in it
    (a character no vocabulary word holds, 湍 or 鳕, is a rare word's, not a slip: slips land on
    common characters)."""
    diff = [(a, b) for a, b in zip(old, new) if a != b]
    if len(old) != len(new) or not 1 <= len(diff) <= MAX_CHANGES:
        return None
    total = 0.0
    for a, b in diff:
        if (variants is not None and variants.are_variants(a, b)) or (known is not None and a not in known):
            return None
        relation = sounds.relation(a, b)
        if len(diff) > 1 and relation == OTHER:
            return None
        cost = costs[relation]
        total += min(cost, look_cost) if glyphs is not None and glyphs.are_alike(a, b) else cost
    return total


class Corrector:
    """Finds corrections with one vocabulary's neighbour index, sound and look-alike tables and
    the component's settings (see the module docstring for what each setting does)."""

    def __init__(
        self,
        vocab: LMVocab,
        sounds: Sounds,
        glyphs: Optional[Glyphs] = None,
        *,
        margin: float,
        costs: Sequence[float],
        look_cost: float = float("inf"),
        n_candidates: int,
        threshold: float,
        variants: Optional[Variants] = None,
        rare_chars: bool = False,
    ):
        self.vocab, self.sounds, self.glyphs, self.variants = vocab, sounds, glyphs, variants
        # the characters a correction may change (see `change_cost`); None: any
        self.known = None if rare_chars else frozenset(vocab_chars(vocab))
        self.neighbors = NeighborIndex(vocab)
        self.sound_index = SoundIndex(vocab, sounds)
        self.margin, self.costs, self.n_candidates, self.threshold = margin, tuple(costs), n_candidates, threshold
        self.look_cost = look_cost

    def cost(self, old: str, new: str) -> Optional[float]:
        """The channel cost of writing `old` for `new` (see `change_cost`)."""
        return change_cost(old, new, self.sounds, self.costs, self.glyphs, self.look_cost, self.variants, self.known)

    def __call__(
        self,
        units: Sequence[Unit],
        words: Sequence[Sequence[str]],
        fill_levels: Callable[[List[Tuple[int, int]]], PoolLogprobs],
        score_sequences: Callable[[List[numpy.ndarray]], List[float]],
        frozen: Optional[Sequence[Set[int]]] = None,
    ) -> None:
        """Set `unit.odd` (per word: best (gain, replacement) of the words examined) and
        `unit.edits` for each unit. `words[k]` are unit k's token texts; `fill_levels(pairs)` gives
        the fill-in log-probs of (unit, position) pairs; `score_sequences` the forward
        closed-vocabulary log-prob of id sequences; `frozen[k]`, positions of unit k that are
        neither examined nor changed (corrections of an earlier round)."""
        frozen = frozen or [set() for _ in units]
        checked = [(k, p) for k, ws in enumerate(words) for p, w in enumerate(ws) if is_cjk(w) and p not in frozen[k]]
        for unit in units:
            unit.fold_pieces()
            unit.odd = [None] * len(unit.token_ids)
            unit.edits = []
        cands: List[Candidate] = []
        for lo in range(0, len(checked), FULL_ROWS):
            cands.extend(self._candidates(checked[lo : lo + FULL_ROWS], units, words, fill_levels))
        cands = [c for c in cands if not any(p in frozen[c.unit] for p in range(c.start, c.end))]
        if not cands:
            return
        totals = score_sequences([c.seq for c in cands])
        for cand, total in zip(cands, totals):
            unit = units[cand.unit]
            before = float(unit.logprobs.sum()) + sum(unit.spelling[p] or 0.0 for p in range(cand.start, cand.end))
            cand.gain = total - before - cand.cost
            replacement = self.vocab.words[cand.word_id]
            for p in range(cand.start, cand.end):
                if unit.odd[p] is None or cand.gain > unit.odd[p][0]:
                    unit.odd[p] = (cand.gain, replacement)
        for cand in sorted(cands, key=lambda c: -c.gain):
            if cand.gain <= self.threshold:
                break
            unit = units[cand.unit]
            if all(cand.end <= s or cand.start >= e for s, e, _, _ in unit.edits):
                unit.edits.append((cand.start, cand.end, self.vocab.words[cand.word_id], cand.gain))
        for unit in units:
            unit.edits.sort()

    def _candidates(
        self,
        checked: List[Tuple[int, int]],
        units: Sequence[Unit],
        words: Sequence[Sequence[str]],
        fill_levels: Callable[[List[Tuple[int, int]]], PoolLogprobs],
    ) -> List[Candidate]:
        """Detection and candidates for the (unit, position) pairs `checked` (one chunk of rows)."""
        vocab, costs, n_candidates = self.vocab, self.costs, self.n_candidates
        levels = fill_levels(checked)
        word_ids = torch.tensor([int(units[k].ids[p + 1]) for k, p in checked], device=levels.head.device)
        spelling = torch.tensor([units[k].spelling[p] or 0.0 for k, p in checked], device=levels.head.device)
        observed = (levels.lookup(word_ids.unsqueeze(1)).squeeze(1) + spelling).tolist()
        # the best word among the pool's (the frequent words): what a slip is usually of
        best = levels.top(1, torch.full_like(word_ids, -1), len(SPECIALS))[1][:, 0].tolist()
        suspicious = [b - o > self.margin or w == UNK_ID for b, o, w in zip(best, observed, word_ids.tolist())]
        alike = [self._alike_words(words[k][p]) if s else [] for (k, p), s in zip(checked, suspicious)]
        width = max((len(a) for a in alike), default=0)
        fits: List[List[float]] = [[] for _ in checked]
        if width:
            padded = torch.zeros((len(checked), width), dtype=torch.long, device=word_ids.device)
            for row, ids in enumerate(alike):
                padded[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            fits = levels.lookup(padded).tolist()
        cands: List[Candidate] = []
        for row, (k, p) in enumerate(checked):
            if not suspicious[row]:
                continue
            unit, ws = units[k], words[k]
            word = ws[p]
            # one word for one word: the fill-in head must prefer the candidate by more than the
            # change costs (both sides of the word agree it is a slip), the best go on
            scored = []
            for j, idx in enumerate(alike[row]):
                cost = self.cost(word, vocab.words[idx])
                if cost is not None and fits[row][j] - cost > observed[row]:
                    scored.append((fits[row][j] - cost, idx, cost))
            for _, idx, cost in sorted(scored, reverse=True)[:n_candidates]:
                cands.append(Candidate(k, p, p + 1, idx, cost, _replace(unit.ids, p, p + 1, idx)))
            # the word and a neighbour were one word before the slip
            for start in (p - 1, p):
                if start < 0 or start + 1 >= len(ws) or not (is_cjk(ws[start]) and is_cjk(ws[start + 1])):
                    continue
                joined = ws[start] + ws[start + 1]
                if len(joined) > 4:
                    continue
                found = []
                for idx in self._several_away(joined):
                    cost = self.cost(joined, vocab.words[idx])
                    if cost is not None and cost < costs[OTHER]:
                        found.append((cost, idx))
                for cost, idx in sorted(found)[:MERGED_CANDIDATES]:  # cheapest change, then most frequent
                    cands.append(Candidate(k, start, start + 2, idx, cost, _replace(unit.ids, start, start + 2, idx)))
        return cands

    def _alike_words(self, word: str) -> List[int]:
        """Vocabulary words one character away from `word`; for a one-character word, the
        characters that sound or look alike (any one-character word is a neighbour of any other)."""
        if len(word) == 1:
            chars = set(self.sounds.alike(word)) | set(self.glyphs.alike(word) if self.glyphs is not None else ())
            return sorted(self.vocab.index[c] for c in chars if c in self.vocab.index)
        return self._several_away(word)

    def _several_away(self, word: str) -> List[int]:
        """Vocabulary words one character away from `word`, and those that sound like it."""
        found = set(self.neighbors.neighbors(word)) | set(self.sound_index.alike(word))
        found.discard(self.vocab.index.get(word, -1))
        return sorted(found)


def _replace(ids: numpy.ndarray, start: int, end: int, word_id: int) -> numpy.ndarray:
    """`ids` ([<s>, words…, </s>]) with word positions [start, end) replaced by one word."""
    return numpy.concatenate([ids[: start + 1], [word_id], ids[end + 1 :]]).astype("int64")
