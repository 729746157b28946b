"""Variant forms of a character: never a spelling slip, so never a correction.

A writer who uses 著 for 着, 們 for 们 or 妳 for 你 has written a valid form of the same word, not
a slip. Learners' essays (and any text converted from traditional characters) hold many; a
correction to the other form changes a correct text. Two characters are variants here when
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
    """Which characters are variant forms of each other."""

    def __init__(self, pairs: Iterable[Tuple[str, str]]):
        groups: Dict[str, Set[str]] = defaultdict(set)
        for a, b in pairs:
            groups[a].add(b)
            groups[b].add(a)
        self._of: Dict[str, FrozenSet[str]] = {c: frozenset(cs - {c}) for c, cs in groups.items()}

    def are_variants(self, a: str, b: str) -> bool:
        return b in self._of.get(a, ())

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


@functools.lru_cache(maxsize=1)
def load_variants() -> Variants:
    """The variant table from the installed `opencc-purepy` (read once per process)."""
    try:
        text = resources.files("opencc_purepy").joinpath("dicts", "TSCharacters.txt").read_text(encoding="utf8")
    except (ImportError, ModuleNotFoundError, FileNotFoundError) as err:
        raise ValueError(Errors.E015.format(what="variant table", package="opencc-purepy")) from err
    # 髮 and 發 both simplify to 发: each pairs with 发, not with each other (different words)
    return Variants(list(parse_opencc_characters(text.splitlines())) + list(PRONOUN_VARIANTS))


__all__ = ["Variants", "load_variants", "parse_opencc_characters", "PRONOUN_VARIANTS"]
