"""What prediction is given: the network, the vocabulary's tables and the call's settings.

The component builds a `Context` for each call (`RNNLM.inference()`), from its settings as they
are then (they may be changed after loading), so nothing in `inference/` reaches into the
pipeline. `Tables` holds a vocabulary and what is built from it, each built on first use and
kept while its settings stay the same.
"""
import os
from dataclasses import dataclass, fields
from typing import List, Optional, Tuple

import torch
from thinc.api import Model

from ..glyphs import Glyphs
from ..models.architectures import torch_module
from ..models.pytorch.bilstm_lm import BiLSTMLanguageModel
from ..pieces import Pieces
from ..sounds import Sounds
from ..spelling import SpellingModel
from ..thesaurus import Thesaurus
from ..variants import load_variants
from ..vocab import LMVocab, vocab_chars
from .correction import Corrector, Segmenter
from .substitutes import function_words


@dataclass(frozen=True)
class Settings:
    """The run-time settings prediction reads (each is described in the factory's docstring)."""

    batch_tokens: int = 4096
    compute_dtype: Optional[torch.dtype] = None  # autocast dtype; None: float32
    n_alternatives: int = 0
    alternatives_context: str = "both"
    alternatives_pool: int = 50
    alternatives_similarity: float = 15.0
    alternatives_synonym_bonus: float = 30.0
    alternatives_min_p: float = 0.1
    temperature: float = 1.0
    seed: int = 0
    detect_odd: bool = False
    odd_rounds: int = 3

    @classmethod
    def read_at_call_time(cls) -> List[str]:
        """The component's settings these are (compute_dtype is worked out from the device)."""
        return [f.name for f in fields(cls) if f.name != "compute_dtype"]


@dataclass(frozen=True)
class CorrectionSettings:
    """What a `Corrector` is built with (see spacy_rnnlm/inference/correction.py)."""

    threshold: float
    margin: float
    costs: Tuple[float, float, float]  # same sound, near sound, other
    look_cost: float
    n_candidates: int
    rare_chars: bool


class Tables:
    """A vocabulary, its spelling model, thesaurus and character tables, and what is built from
    them on first use: the pieces reader, the corrector and the function-word mask."""

    def __init__(
        self,
        vocab: LMVocab,
        spelling: Optional[SpellingModel] = None,
        thesaurus: Optional[Thesaurus] = None,
        sounds: Optional[Sounds] = None,
        glyphs: Optional[Glyphs] = None,
    ) -> None:
        self.sources = (vocab, spelling, thesaurus, sounds, glyphs)  # compared by identity
        self.vocab, self.spelling, self.thesaurus = vocab, spelling, thesaurus
        self.sounds, self.glyphs = sounds, glyphs
        self._pieces: Optional[Pieces] = None
        self._corrector: Optional[Tuple[CorrectionSettings, Corrector]] = None
        self._function_words: Optional[torch.Tensor] = None

    def built_from(self, *sources) -> bool:
        """Whether these tables were built from exactly these objects."""
        return len(sources) == len(self.sources) and all(a is b for a, b in zip(sources, self.sources))

    def pieces(self, weight: float, cont: float) -> Pieces:
        """How unknown words are read through their vocabulary pieces (spacy_rnnlm/pieces.py)."""
        if self._pieces is None or (self._pieces.weight, self._pieces.cont) != (weight, cont):
            self._pieces = Pieces(self.vocab, weight, cont)
        return self._pieces

    def corrector(self, settings: CorrectionSettings) -> Corrector:
        """The spelling corrector for `settings`. A model saved before the sound or look-alike
        table gets one built from its vocabulary's characters."""
        if self._corrector is None or self._corrector[0] != settings:
            if self.sounds is None:
                self.sounds = Sounds.build(vocab_chars(self.vocab))
            if self.glyphs is None:
                self.glyphs = Glyphs.build(vocab_chars(self.vocab))
            corrector = Corrector(
                self.vocab,
                self.sounds,
                self.glyphs,
                margin=settings.margin,
                costs=settings.costs,
                look_cost=settings.look_cost,
                n_candidates=settings.n_candidates,
                threshold=settings.threshold,
                variants=load_variants(),
                rare_chars=settings.rare_chars,
                spelling=self.spelling,
            )
            self._corrector = (settings, corrector)
        return self._corrector[1]

    def function_words(self, device: torch.device) -> torch.Tensor:
        """(vocab,) bool on `device`: the function words and punctuation of the vocabulary (never
        substitutes of a content word)."""
        if self._function_words is None or self._function_words.device != device:
            self._function_words = function_words(self.vocab.words, device)
        return self._function_words


@dataclass
class Context:
    """One prediction call's network, tables and settings."""

    model: Model  # the thinc-wrapped network (spacy_rnnlm/models/wrapper.py)
    tables: Tables
    settings: Settings
    pieces: Pieces
    corrector: Optional[Corrector] = None  # with settings.detect_odd
    segmenter: Optional[Segmenter] = None  # the pipeline's tokenizer, for correction

    @property
    def module(self) -> torch.nn.Module:
        return torch_module(self.model)

    @property
    def vocab(self) -> LMVocab:
        return self.tables.vocab

    @property
    def spelling(self) -> Optional[SpellingModel]:
        return self.tables.spelling

    @property
    def has_fill_in(self) -> bool:
        """Whether the network has a backward direction and a fill-in head."""
        return isinstance(self.module, BiLSTMLanguageModel)


_FORK_HOOK_INSTALLED = False


def install_fork_hook() -> None:
    """`nlp.pipe(n_process=N)` forks workers, and torch's OpenMP thread pool does not survive a
    fork (the child hangs in its first parallel op). Each forked worker runs torch on one thread,
    which is also what N processes on N cores want."""
    global _FORK_HOOK_INSTALLED
    if not _FORK_HOOK_INSTALLED and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: torch.set_num_threads(1))
        _FORK_HOOK_INSTALLED = True
