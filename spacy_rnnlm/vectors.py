"""The language model's word vectors as spaCy's static vectors (`nlp.vocab.vectors`).

One row per vocabulary word (keys from `nlp.vocab.strings`): the model's input embeddings, the
vectors every prediction starts from, learned so that words used in similar contexts get close
(the seed's lesson: 棒 near 好). With them `token.vector`, `token.similarity`, `Doc.similarity` and
`nlp.vocab.vectors.most_similar` work as for any spaCy pipeline with vectors, and the table is
written with the vocabulary (`nlp.to_disk`, `spacy package`). A word outside the LM's vocabulary
has no row: spaCy gives it the zero vector (`token.has_vector` is False), as for any OOV word.

The table is only ever replaced when it is empty or one this module wrote (its name says so): a
pipeline that brings its own vectors keeps them.
"""
from typing import TYPE_CHECKING, Callable, List, Tuple

import numpy
from spacy.language import Language
from spacy.util import registry
from spacy.vectors import Vectors

from .models.architectures import torch_module

if TYPE_CHECKING:
    from .pipeline.lm import RNNLM

VECTORS_NAME = "spacy_rnnlm.input_embeddings"


def lm_word_vectors(lm: "RNNLM") -> Tuple[List[str], numpy.ndarray]:
    """The vocabulary words (specials left out) and their input embeddings (words, width):
    float32, a copy (the table never aliases the weights, which training goes on changing)."""
    assert lm.lm_vocab is not None
    module = torch_module(lm.model)
    table = module.embed.weight.detach().float().cpu().numpy()
    n_special = module.n_special
    return list(lm.lm_vocab.words[n_special:]), numpy.array(table[n_special:], dtype="float32", copy=True)


def owns_vectors(vectors: Vectors) -> bool:
    """Whether a vectors table may be replaced: empty, or written by `set_static_vectors`."""
    return vectors.shape[0] == 0 or vectors.name == VECTORS_NAME


def set_static_vectors(lm: "RNNLM") -> bool:
    """Fill the shared vocabulary's vectors with the LM's word vectors. RETURNS whether it did
    (False when the pipeline has vectors of its own, which are left as they are)."""
    vocab = lm.vocab
    if not owns_vectors(vocab.vectors):
        return False
    words, table = lm_word_vectors(lm)
    keys = [vocab.strings.add(word) for word in words]
    vocab.vectors = Vectors(strings=vocab.strings, data=table, keys=keys, name=VECTORS_NAME)
    return True


@registry.callbacks("spacy-rnnlm.static_vectors.v1")
def make_static_vectors_callback() -> Callable[[Language], Language]:
    """A `[training] before_to_disk` callback: refresh the static vectors from every `rnnlm`
    component's trained weights before each checkpoint is written."""

    def static_vectors(nlp: Language) -> Language:
        from .pipeline.lm import RNNLM

        for _, proc in nlp.pipeline:
            if isinstance(proc, RNNLM) and proc.lm_vocab is not None:
                set_static_vectors(proc)
        return nlp

    return static_vectors


__all__ = ["VECTORS_NAME", "lm_word_vectors", "make_static_vectors_callback", "owns_vectors", "set_static_vectors"]
