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
     word typed by sound), each change paying its cost, unless the word is one the tokenizer's
     dictionary holds (垦丁 is a place, not 肯定 typed by sound); never a change between two variant
     forms of a character (variants.py), nor of a character that no vocabulary word holds (a
     rare word's: slips land on common characters); no candidate of any kind swaps a word for
     a regional form of it (甚么 → 什么);
     the fill-in head must prefer the candidate to the word by more than that cost, and the
     `n_candidates` best by fill-in log-prob less cost go on;
   - the word merged with its left or right neighbour, replaced by a vocabulary word one
     sound-alike or look-alike character away from the pair (a slip often changes how jieba
     cuts the text: 正策 → 正/策): the `MERGED_CANDIDATES` cheapest;
   - with the pipeline's tokenizer at hand, any one character of the word replaced by a
     sound-alike or look-alike character, and the word with its neighbours cut again by that
     tokenizer: a slip that changed the cut (以起 → 一起) or that sits inside a word the
     vocabulary lacks (毅志力 → 意志力, 爬三 → 爬山) is reachable. Each such change is ranked by
     the unigram log-prob it gains (open vocabulary: unknown words spelled out) less its cost,
     and the `RECUT_CANDIDATES` best go on.
3. *Rescoring.* Each candidate sentence is scored by the forward LM with open vocabulary (its
   whole probability, unknown words through both of their paths, so the right context counts
   twice over: in the fill-in shortlist and here); the gain is
   log P(candidate sentence) − log P(sentence) − cost.
4. *Edits.* Candidates whose gain exceeds `threshold` are applied, best first, never two that
   overlap. A sentence with no such candidate is left exactly as it is.
"""
import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import AbstractSet, Callable, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

import torch
from spacy.tokens import Doc

from ..glyphs import Glyphs
from ..sounds import OTHER, Sounds, is_cjk
from ..spelling import SpellingModel
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
# Candidates per examined word from changing one of its characters and cutting the text again.
RECUT_CANDIDATES = 1


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


class Segmenter(NamedTuple):
    """The pipeline's tokenizer as correction uses it: `cut(text)` → words (whitespace left
    out), `is_word(text)` → whether the tokenizer's dictionary holds `text` (always False where
    the tokenizer has no dictionary to ask)."""

    cut: Callable[[str], List[str]]
    is_word: Callable[[str], bool]


@dataclass
class Candidate:
    unit: int  # index of the unit
    start: int  # first word position replaced
    end: int  # one past the last
    words: Tuple[str, ...]  # the replacement: one vocabulary word, or the words of a new cut
    cost: float
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
        spelling: Optional[SpellingModel] = None,
    ):
        self.vocab, self.sounds, self.glyphs, self.variants = vocab, sounds, glyphs, variants
        self.spelling = spelling
        self._alike_chars: Dict[str, List[str]] = {}
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
        score_texts: Callable[[List[List[str]], List[Dict[int, float]]], List[float]],
        frozen: Optional[Sequence[Set[int]]] = None,
        segment: Optional[Segmenter] = None,
    ) -> None:
        """Set `unit.odd` (per word: best (gain, replacement) of the words examined) and
        `unit.edits` for each unit. `words[k]` are unit k's token texts; `fill_levels(pairs)` gives
        the fill-in log-probs of (unit, position) pairs; `score_texts(texts, given)` the forward
        open-vocabulary log-prob of word sequences, taking the log Q of the unknown words in
        `given` (by position) as they are: a candidate's unchanged unknown words keep their
        sentence's (the pieces path is read again only for the words that changed);
        `frozen[k]`, positions of unit k that are neither examined nor changed (corrections of
        an earlier round); `segment`, the pipeline's tokenizer (see `Segmenter`), for candidates
        that change how the text is cut (none without it)."""
        frozen = frozen or [set() for _ in units]
        checked = [(k, p) for k, ws in enumerate(words) for p, w in enumerate(ws) if is_cjk(w) and p not in frozen[k]]
        for unit in units:
            unit.fold_pieces()
            unit.odd = [None] * len(unit.token_ids)
            unit.edits = []
        cands: List[Candidate] = []
        for lo in range(0, len(checked), FULL_ROWS):
            cands.extend(self._candidates(checked[lo : lo + FULL_ROWS], units, words, fill_levels, segment))
        seen: Set[Tuple[int, int, int, Tuple[str, ...]]] = set()
        unique = []
        for c in cands:
            key = (c.unit, c.start, c.end, c.words)
            if self.variants is not None and self.variants.is_variant_change("".join(words[c.unit][c.start : c.end]), "".join(c.words)):
                continue  # a regional form of the same word (甚么 / 什么) is not a slip
            if key not in seen and not any(p in frozen[c.unit] for p in range(c.start, c.end)):
                seen.add(key)
                unique.append(c)
        cands = unique
        if not cands:
            return
        texts, given = [], []
        for c in cands:
            ws, spelled = words[c.unit], units[c.unit].spelling or [None] * len(words[c.unit])
            texts.append(list(ws[: c.start]) + list(c.words) + list(ws[c.end :]))
            shift = len(c.words) - (c.end - c.start)
            given.append(
                {p if p < c.start else p + shift: q for p, q in enumerate(spelled) if q is not None and not c.start <= p < c.end}
            )
        totals = score_texts(texts, given)
        befores = [unit.total_logprob() for unit in units]
        for cand, total in zip(cands, totals):
            cand.gain = total - befores[cand.unit] - cand.cost
            unit, replacement = units[cand.unit], "".join(cand.words)
            for p in range(cand.start, cand.end):
                if unit.odd[p] is None or cand.gain > unit.odd[p][0]:
                    unit.odd[p] = (cand.gain, replacement)
        for cand in sorted(cands, key=lambda c: -c.gain):
            if cand.gain <= self.threshold:
                break
            unit = units[cand.unit]
            if all(cand.end <= s or cand.start >= e for s, e, _, _ in unit.edits):
                unit.edits.append((cand.start, cand.end, cand.words, cand.gain))
        for unit in units:
            unit.edits.sort()

    def _candidates(
        self,
        checked: List[Tuple[int, int]],
        units: Sequence[Unit],
        words: Sequence[Sequence[str]],
        fill_levels: Callable[[List[Tuple[int, int]]], PoolLogprobs],
        segment: Optional[Segmenter] = None,
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
            ws = words[k]
            word = ws[p]
            # one word for one word: the fill-in head must prefer the candidate by more than the
            # change costs (both sides of the word agree it is a slip), the best go on
            scored = []
            # a word the tokenizer's dictionary holds (垦丁) is not a word typed by sound
            known_word = segment is not None and len(word) > 1 and segment.is_word(word)
            for j, idx in enumerate(alike[row]):
                new = vocab.words[idx]
                if known_word and sum(a != b for a, b in zip(word, new)) > 1:
                    continue
                cost = self.cost(word, new)
                if cost is not None and fits[row][j] - cost > observed[row]:
                    scored.append((fits[row][j] - cost, idx, cost))
            for _, idx, cost in sorted(scored, reverse=True)[:n_candidates]:
                cands.append(Candidate(k, p, p + 1, (vocab.words[idx],), cost))
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
                    cands.append(Candidate(k, start, start + 2, (vocab.words[idx],), cost))
            if segment is not None:
                cands.extend(self._recut(k, p, ws, segment))
        return cands

    def _recut(self, k: int, p: int, ws: Sequence[str], segment: Segmenter) -> List[Candidate]:
        """Word `p` with one character changed to a sound-alike or look-alike, cut again with its
        Chinese neighbours by `segment`: the `RECUT_CANDIDATES` whose changed words gain the most
        unigram log-prob (open vocabulary) less the change's cost, each as the shortest stretch of
        words that changed. Only a change that makes a word of two or more characters with its
        neighbours (a vocabulary word or one of the tokenizer's dictionary) is cut: a slip is of a
        word, not of a lone character. A word of two or more characters that is itself such a
        word (垦丁, 捷运) is left to the one-word candidates: the tokenizer cut it because it knows
        it, and a name or a regional word is not a slip."""
        word = ws[p]
        if len(word) > 1 and (word in self.vocab.index or segment.is_word(word)):
            return []
        lo = p - 1 if p > 0 and is_cjk(ws[p - 1]) else p
        hi = p + 2 if p + 1 < len(ws) and is_cjk(ws[p + 1]) else p + 1
        window = list(ws[lo:hi])
        text = "".join(window)
        offset = sum(len(w) for w in ws[lo:p])
        best: Dict[Tuple[int, int, Tuple[str, ...]], Tuple[float, float]] = {}
        for j, a in enumerate(ws[p]):
            at = offset + j
            for b in self._alike(a):
                changed = text[:at] + b + text[at + 1 :]
                if not self._makes_word(changed, at, segment.is_word):
                    continue
                cost = self.cost(a, b)
                if cost is None or cost >= self.costs[OTHER]:
                    continue
                new = segment.cut(changed)
                s = 0
                while s < min(len(window), len(new)) and window[s] == new[s]:
                    s += 1
                e = 0
                while e < min(len(window), len(new)) - s and window[-1 - e] == new[-1 - e]:
                    e += 1
                old_words, new_words = window[s : len(window) - e], tuple(new[s : len(new) - e])
                if not all(w in self.vocab.index or segment.is_word(w) for w in new_words):
                    continue  # a correction writes words: not a new unknown one (修西底 → 修昔底)
                prior = self._unigrams(new_words) - self._unigrams(old_words) - cost
                key = (lo + s, hi - e, new_words)
                if key not in best or prior > best[key][0]:
                    best[key] = (prior, cost)
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:RECUT_CANDIDATES]
        return [Candidate(k, start, end, new_words, cost) for (start, end, new_words), (_, cost) in ranked]

    def _makes_word(self, text: str, at: int, is_word: Callable[[str], bool]) -> bool:
        """Whether a stretch of 2 to `MAX_SOUND_CHARS` characters of `text` holding position `at`
        is a vocabulary word or a word of the tokenizer's dictionary."""
        for start in range(max(0, at - MAX_SOUND_CHARS + 1), at + 1):
            for end in range(max(at + 1, start + 2), min(len(text), start + MAX_SOUND_CHARS) + 1):
                word = text[start:end]
                if word in self.vocab.index or is_word(word):
                    return True
        return False

    def _alike(self, char: str) -> List[str]:
        """Characters that sound or look like `char` and that a correction may write (cached)."""
        found = self._alike_chars.get(char)
        if found is None:
            chars = set(self.sounds.alike(char)) | set(self.glyphs.alike(char) if self.glyphs is not None else ())
            found = sorted(c for c in chars if self.known is None or c in self.known)
            self._alike_chars[char] = found
        return found

    def _unigrams(self, words: Sequence[str]) -> float:
        """Context-free log-prob of `words`: unigrams, unknown words spelled out."""
        vocab, total = self.vocab, 0.0
        for word in words:
            idx = vocab.index.get(word, UNK_ID)
            total += vocab.unigram_logprobs[idx]
            if idx == UNK_ID and self.spelling is not None:
                total += self.spelling.logprob(word)
        return total

    def _alike_words(self, word: str) -> List[int]:
        """Vocabulary words one character away from `word`; for a one-character word, the
        characters that sound or look alike (any one-character word is a neighbour of any other)."""
        if len(word) == 1:
            return sorted(self.vocab.index[c] for c in self._alike(word) if c in self.vocab.index)
        return self._several_away(word)

    def _several_away(self, word: str) -> List[int]:
        """Vocabulary words one character away from `word`, and those that sound like it."""
        found = set(self.neighbors.neighbors(word)) | set(self.sound_index.alike(word))
        found.discard(self.vocab.index.get(word, -1))
        return sorted(found)


def word_segmenter(tokenizer: Optional[Callable[[str], Doc]]) -> Optional[Segmenter]:
    """The pipeline's tokenizer as a `Segmenter`, cuts remembered per text; None without a
    tokenizer. spaCy's jieba tokenizer is asked through its segmenter: the same cut without
    building a Doc (a correction cuts hundreds of variants of a sentence), and jieba's
    dictionary tells which stretches it may cut as one word."""
    if tokenizer is None:
        return None
    jieba_seg = getattr(tokenizer, "jieba_seg", None)
    if getattr(tokenizer, "segmenter", None) == "jieba" and jieba_seg is not None:
        frequency = getattr(jieba_seg, "get_FREQ", lambda word: None)

        def cut(text: str) -> List[str]:
            return [w for w in jieba_seg.cut(text, cut_all=False) if w.strip()]

        def is_word(text: str) -> bool:
            return bool(frequency(text))

    else:

        def cut(text: str) -> List[str]:
            return [t.text for t in tokenizer(text) if not t.is_space]  # type: ignore[misc]

        def is_word(text: str) -> bool:
            return False

    return Segmenter(functools.lru_cache(maxsize=65536)(cut), is_word)
