"""Variant forms of a character: never a spelling slip, so never a correction.

A writer who uses 著 for 着, 們 for 们 or 妳 for 你 has written a valid form of the same word, not
a slip. Learners' essays (and any text converted from traditional characters) hold many; a
correction to the other form changes a correct text. The same holds for a word's regional forms
(甚么 / 什么, 义大利 / 意大利: OpenCC's Taiwan phrase tables). Two characters are variants here when
OpenCC's traditional → simplified character table (shipped by the `opencc-purepy` package,
Apache-2.0 data) maps one to the other or lists both as forms of one entry (著 → 著 着), or when they are among
the gendered and Taiwan-usage forms of pronouns that OpenCC leaves as they are (妳 / 你,
祢 / 你, 祂 / 他, 牠 / 它).
"""
import functools
from collections import defaultdict
from importlib import resources
from typing import Dict, FrozenSet, Iterable, Set, Tuple

from .errors import Errors

PRONOUN_VARIANTS: Tuple[Tuple[str, str], ...] = (("妳", "你"), ("祢", "你"), ("祂", "他"), ("牠", "它"))


class Variants:
    """Which characters, and which words, are variant forms of each other."""

    def __init__(self, pairs: Iterable[Tuple[str, str]], words: Iterable[Tuple[str, str]] = ()):
        self._of = _groups(pairs)
        self._words = _groups((a, b) for a, b in words if len(a) == len(b) and a != b)
        self._longest = max((len(w) for w in self._words), default=0)

    def are_variants(self, a: str, b: str) -> bool:
        return b in self._of.get(a, ())

    def is_variant_change(self, old: str, new: str) -> bool:
        """Whether `new` (as long as `old`) only swaps a word of `old` for a regional form of it
        (甚么 → 什么, 义大利 → 意大利): every changed character lies in a stretch that is one form
        of a variant word in `old` and the other in `new`."""
        if len(old) != len(new) or old == new or not self._words:
            return False
        changed = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
        first, last = changed[0], changed[-1]
        for start in range(max(0, last - self._longest + 1), first + 1):
            for end in range(last + 1, min(len(old), start + self._longest) + 1):
                if new[start:end] in self._words.get(old[start:end], ()):
                    return True
        return False

    def __len__(self) -> int:
        return len(self._of)


def parse_opencc_characters(lines: Iterable[str]) -> Iterable[Tuple[str, str]]:
    """Pairs from an OpenCC character table (`traditional<TAB>simplified [other forms…]`): each
    form with the entry, and the forms with each other (著 → 著 着)."""
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 2 or len(fields[0]) != 1:
            continue
        forms = [fields[0]] + [f for f in fields[1].split() if len(f) == 1]
        for i, a in enumerate(forms):
            for b in forms[i + 1 :]:
                if a != b:
                    yield a, b


def parse_opencc_phrases(lines: Iterable[str], simplify: Dict[str, str]) -> Iterable[Tuple[str, str]]:
    """Word pairs from an OpenCC phrase table (`phrase<TAB>regional phrase …`, traditional
    characters), each side in simplified characters (`simplify`: a character's simplified form)."""
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 2:
            continue
        a = "".join(simplify.get(c, c) for c in fields[0])
        for form in fields[1].split():
            b = "".join(simplify.get(c, c) for c in form)
            if a != b:
                yield a, b


def _groups(pairs: Iterable[Tuple[str, str]]) -> Dict[str, FrozenSet[str]]:
    groups: Dict[str, Set[str]] = defaultdict(set)
    for a, b in pairs:
        groups[a].add(b)
        groups[b].add(a)
    return {c: frozenset(cs - {c}) for c, cs in groups.items()}


@functools.lru_cache(maxsize=1)
def load_variants() -> Variants:
    """The variant table from the installed `opencc-purepy` (read once per process): characters
    from its traditional → simplified table, words from its Taiwan phrase tables (义大利 /
    意大利, 甚么 / 什么: regional forms of one word, turned into simplified characters)."""
    try:
        dicts = resources.files("opencc_purepy").joinpath("dicts")
        text = dicts.joinpath("TSCharacters.txt").read_text(encoding="utf8")
        phrases = [dicts.joinpath(name).read_text(encoding="utf8") for name in PHRASE_TABLES]
    except (ImportError, ModuleNotFoundError, FileNotFoundError) as err:
        raise ValueError(Errors.E015.format(what="variant table", package="opencc-purepy")) from err
    simplify = {}
    for line in text.splitlines():
        fields = line.rstrip("\n").split("\t")
        if len(fields) == 2 and len(fields[0]) == 1 and fields[1]:
            simplify[fields[0]] = fields[1].split()[0]
    words = [pair for table in phrases for pair in parse_opencc_phrases(table.splitlines(), simplify)]
    # 髮 and 發 both simplify to 发: each pairs with 发, not with each other (different words)
    return Variants(list(parse_opencc_characters(text.splitlines())) + list(PRONOUN_VARIANTS), words)


# OpenCC's mainland → Taiwan phrase tables: regional words (意大利 / 義大利) and forms (什麼 / 甚麼)
PHRASE_TABLES = ("TWPhrases.txt", "TWVariantsPhrases.txt")


__all__ = ["Variants", "load_variants", "parse_opencc_characters", "parse_opencc_phrases", "PRONOUN_VARIANTS"]
