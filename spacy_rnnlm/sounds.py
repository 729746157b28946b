"""How alike two Chinese characters sound: the channel model of spelling correction.

Learners and input methods mostly slip to a character that sounds the same (政 → 正) or nearly
the same (the initials zh/z, ch/c, sh/s, n/l, h/f and the finals -ang/-an, -eng/-en, -ing/-in
merged). The readings (toneless pinyin; a heteronym's most common reading only: pypinyin's
full lists hold rare readings, 号 as xiao, that would make most characters sound alike) of the
CJK Unified Ideographs and of the vocabulary's characters are looked up with `pypinyin` at
`initialize` and serialized with the component, so scoring needs no pinyin package.
"""
import re
from collections import defaultdict
from typing import Dict, Iterable, List, Set

from .errors import Errors

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NEAR_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("f", "h"))
_NEAR_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))

SAME, NEAR, OTHER = 0, 1, 2  # sound classes of a character change, most to least likely


def is_cjk(text: str) -> bool:
    """Whether `text` has a Chinese character (only such words are checked and corrected)."""
    return bool(_CJK.search(text))


def near_key(reading: str) -> str:
    """A reading with the confusable initials and finals merged."""
    for long, short in _NEAR_INITIALS:
        if reading.startswith(long):
            reading = short + reading[len(long) :]
            break
    for long, short in _NEAR_FINALS:
        if reading.endswith(long):
            reading = reading[: -len(long)] + short
            break
    return reading


class Sounds:
    """Readings of characters: char → its toneless pinyin readings."""

    def __init__(self, readings: Dict[str, List[str]]):
        self.readings = readings
        self.near: Dict[str, Set[str]] = {c: {near_key(r) for r in rs} for c, rs in readings.items()}
        self._by_reading: Dict[str, List[str]] = defaultdict(list)
        self._by_near: Dict[str, List[str]] = defaultdict(list)
        for char, rs in readings.items():
            for r in rs:
                self._by_reading[r].append(char)
            for key in self.near[char]:
                self._by_near[key].append(char)

    @classmethod
    def build(cls, chars: Iterable[str] = ()) -> "Sounds":
        """Readings of the CJK Unified Ideographs (U+4E00–U+9FFF) and of the Chinese
        characters among `chars`, from pypinyin."""
        try:
            from pypinyin import Style, pinyin
        except ImportError as err:  # a core dependency; a clear message if it was removed
            raise ValueError(Errors.E015.format(what="sound table", package="pypinyin")) from err
        readings = {}
        every = {chr(c) for c in range(0x4E00, 0xA000)} | {c for c in chars if is_cjk(c)}
        for char in sorted(every):
            found = pinyin(char, style=Style.NORMAL, heteronym=False, errors="ignore")
            rs = sorted({r for r in (found[0] if found else []) if r.isalpha()})
            if rs:
                readings[char] = rs
        return cls(readings)

    def relation(self, a: str, b: str) -> int:
        """SAME, NEAR or OTHER: how alike characters `a` and `b` sound (OTHER if either is unknown)."""
        ra, rb = self.readings.get(a), self.readings.get(b)
        if not ra or not rb:
            return OTHER
        if set(ra) & set(rb):
            return SAME
        if self.near[a] & self.near[b]:
            return NEAR
        return OTHER

    def alike(self, char: str) -> List[str]:
        """Characters that sound the same as or nearly like `char` (itself left out)."""
        out = set()
        for r in self.readings.get(char, ()):
            out.update(self._by_reading[r])
        for key in self.near.get(char, ()):
            out.update(self._by_near[key])
        out.discard(char)
        return sorted(out)

    def to_dict(self) -> dict:
        return {"readings": self.readings}

    @classmethod
    def from_dict(cls, data: dict) -> "Sounds":
        try:
            return cls({str(c): [str(r) for r in rs] for c, rs in data["readings"].items()})
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(Errors.E012.format(what="sound table", err=err)) from err
