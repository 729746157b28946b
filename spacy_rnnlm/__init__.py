"""spacy_rnnlm: an LSTM language model for Chinese as a spaCy pipeline component.

Importing registers the `rnnlm` factory and the `spacy-rnnlm.*` architectures (they are also
entry points, so `spacy.load` finds them without an import).
"""
from . import loggers  # noqa: F401  (registers spacy-rnnlm.ConsoleLogger.v1)
from .extensions import install_extensions
from .models.architectures import build_lstm_language_model
from .pipeline.lm import RNNLM, make_rnnlm
from .render import render
from .vocab import LMVocab

__version__ = "0.1.0"
__all__ = ["RNNLM", "LMVocab", "build_lstm_language_model", "install_extensions", "make_rnnlm", "render"]
