"""spacy_rnnlm: an LSTM language model for Chinese (both directions, a fill-in head) as a spaCy pipeline component.

Importing registers the `rnnlm` factory and the `spacy-rnnlm.*` architectures (they are also
entry points, so `spacy.load` finds them without an import).
"""
import os

# oneDNN keeps a primitive per matrix shape; bf16 scoring sees many shapes (sentences differ in
# length) and the default cache of 1024 held ~400 MB while scoring the test split. 64 keeps the
# speed and the memory (benchmarks/run.py). A value the user set is left alone.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

from . import loggers  # noqa: F401  (registers spacy-rnnlm.ConsoleLogger.v1)
from .extensions import install_extensions
from .models.architectures import build_bilstm_language_model, build_lstm_language_model
from .pipeline.lm import RNNLM, make_rnnlm
from .render import render
from .vectors import lm_word_vectors, set_static_vectors
from .vocab import LMVocab

__version__ = "0.1.0"
__all__ = [
    "RNNLM",
    "LMVocab",
    "build_bilstm_language_model",
    "build_lstm_language_model",
    "install_extensions",
    "lm_word_vectors",
    "make_rnnlm",
    "render",
    "set_static_vectors",
]
