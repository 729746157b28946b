"""The spelling model: a probability for every string, so unknown words get a real probability.

The word model puts one probability on `<unk>`, which pools every word outside its vocabulary.
The open-vocabulary probability of an unknown word w is P(`<unk>` | context) × P_spell(w | w ∉ V):
P_spell is a character n-gram model with Witten–Bell interpolation, trained on the spellings of
the words that fell outside the vocabulary in the training text (each such word once: unknown
words at test time are new types, so type spellings are what it should learn).

It is a proper distribution over non-empty strings of Unicode characters:
- each step is a distribution over the seen characters, an end-of-word event and an
  unseen-character event, whose mass is shared evenly by all other code points;
- the first character cannot be the end of the word (no empty word);
- the mass P_spell gives to in-vocabulary words is removed and the rest renormalised, since those
  words are never spelled out (`vocab_mass`).
So Σ over all words of P(w | context) is 1, and a typo that turns a word into an unknown string
costs what spelling that string costs, instead of borrowing `<unk>`'s pooled mass.
"""
import math
from collections import Counter
from typing import Dict, Iterable, Tuple

from .errors import Errors

BOW, EOW, UNSEEN = "\x02", "\x03", "\x00"  # start padding, end of word, any character not seen
N_CODE_POINTS = 0x110000  # the character universe: every Unicode code point


class SpellingModel:
    """Character n-gram model of word spellings (Witten–Bell interpolated, order `order`)."""

    def __init__(
        self,
        counts: Dict[str, Dict[str, int]],
        *,
        order: int = 3,
        universe: int = N_CODE_POINTS,
        vocab_mass: float = 0.0,
    ):
        if order < 1:
            raise ValueError(Errors.E005.format(name="spelling order", value=order, expected="an integer >= 1"))
        self.order = order
        # plain dicts are kept as given (no second copy of a big model while it is built)
        self.counts = {ctx: nxt if type(nxt) is dict else dict(nxt) for ctx, nxt in counts.items()}
        self.alphabet = sorted({s for nxt in self.counts.values() for s in nxt} - {EOW, UNSEEN})
        self._seen = set(self.alphabet)
        self.symbols = self._seen | {EOW, UNSEEN}
        self.universe = universe
        self.n_unseen = max(universe - len(self.alphabet), 1)
        self.vocab_mass = vocab_mass
        self._totals = {ctx: (sum(nxt.values()), len(nxt)) for ctx, nxt in self.counts.items()}
        self._cache: Dict[Tuple[str, str], float] = {}

    @classmethod
    def build(
        cls,
        words: Iterable[str],
        *,
        order: int = 3,
        min_char_freq: int = 2,
        vocab: Iterable[str] = (),
        universe: int = N_CODE_POINTS,
    ) -> "SpellingModel":
        """Train on the spellings `words` (each counted once). Characters seen fewer than
        `min_char_freq` times are trained as the unseen-character event, so the model learns how
        often a new character turns up. `vocab` words get no spelling mass (see module doc)."""
        words = sorted({w for w in words if w})
        keep = _frequent_chars(words, min_char_freq)
        counts: Dict[str, Dict[str, int]] = {}
        _add_spellings(counts, words, order, keep)
        model = cls(counts, order=order, universe=universe)
        model.vocab_mass = model._mass_of(vocab)
        return model

    def extended(self, words: Iterable[str], *, vocab: Iterable[str], min_char_freq: int = 2) -> "SpellingModel":
        """A copy trained on `words` too (each counted once; e.g. a new domain's unknown words),
        with no spelling mass on `vocab` (the current vocabulary, which may have grown). A new
        character is learned when the new words hold it at least `min_char_freq` times."""
        words = sorted({w for w in words if w})
        keep = self._seen | _frequent_chars(words, min_char_freq)
        counts = {ctx: dict(nxt) for ctx, nxt in self.counts.items()}
        _add_spellings(counts, words, self.order, keep)
        model = SpellingModel(counts, order=self.order, universe=self.universe)
        model.vocab_mass = model._mass_of(vocab)
        return model

    def _mass_of(self, vocab: Iterable[str]) -> float:
        """The raw mass of the `vocab` words (below 1), which are never spelled out."""
        mass = min(sum(math.exp(self.raw_logprob(v)) for v in set(vocab) if v), 1.0 - 1e-9)
        self._cache.clear()  # the vocabulary words' steps: never asked for again
        return mass

    def _prob(self, ctx: str, sym: str) -> float:
        """P(sym | ctx), sym a symbol (seen character, EOW or UNSEEN), by Witten–Bell recursion."""
        key = (ctx, sym)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        lower = self._prob(ctx[1:], sym) if ctx else 1.0 / len(self.symbols)
        total, types = self._totals.get(ctx, (0, 0))
        p = lower if total == 0 else (self.counts[ctx].get(sym, 0) + types * lower) / (total + types)
        if len(self._cache) < 1_000_000:
            self._cache[key] = p
        return p

    def raw_logprob(self, word: str) -> float:
        """Natural-log P_spell(word) over all non-empty strings (before the vocabulary is removed)."""
        if not word:
            return float("-inf")
        ctx = BOW * (self.order - 1)
        lp = 0.0
        for i in range(len(word) + 1):
            sym = EOW if i == len(word) else (word[i] if word[i] in self._seen else UNSEEN)
            p = self._prob(ctx, sym)
            if i == 0:  # no empty word: the first step is renormalised without the end event
                p /= 1.0 - self._prob(ctx, EOW)
            if sym == UNSEEN:
                p /= self.n_unseen
            lp += math.log(p)
            if self.order > 1:
                ctx = ctx[1:] + sym
        return lp

    def logprob(self, word: str) -> float:
        """Natural-log P_spell(word | word is not in the vocabulary)."""
        return self.raw_logprob(word) - math.log1p(-self.vocab_mass)

    # -- serialization ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {"order": self.order, "universe": self.universe, "vocab_mass": self.vocab_mass, "counts": self.counts}

    @classmethod
    def from_dict(cls, data: dict) -> "SpellingModel":
        try:
            counts = {str(ctx): {str(s): int(n) for s, n in nxt.items()} for ctx, nxt in data["counts"].items()}
            return cls(
                counts, order=int(data["order"]), universe=int(data["universe"]), vocab_mass=float(data["vocab_mass"])
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(Errors.E010.format(err=err)) from err


def _frequent_chars(words: Iterable[str], min_char_freq: int) -> set:
    """The characters the words hold at least `min_char_freq` times (the others are trained as
    the unseen-character event)."""
    freq = Counter(c for w in words for c in w)
    return {c for c, n in freq.items() if n >= min_char_freq} - {BOW, EOW, UNSEEN}


def _add_spellings(counts: Dict[str, Dict[str, int]], words: Iterable[str], order: int, keep: set) -> None:
    """Add the n-gram counts of each spelling in `words` to `counts` (context → next symbol →
    count), every context length 0 .. order − 1; characters outside `keep` count as UNSEEN."""
    for word in words:
        seq = [BOW] * (order - 1) + [c if c in keep else UNSEEN for c in word] + [EOW]
        for i in range(order - 1, len(seq)):
            for k in range(order):
                nxt = counts.setdefault("".join(seq[i - k : i]), {})
                nxt[seq[i]] = nxt.get(seq[i], 0) + 1


__all__ = ["SpellingModel", "BOW", "EOW", "UNSEEN", "N_CODE_POINTS"]
