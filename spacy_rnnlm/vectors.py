"""The language model's word vectors as spaCy's static vectors (`nlp.vocab.vectors`).

One row per vocabulary word (keys from `nlp.vocab.strings`), of the kind chosen at `initialize`
(`static_vectors`, kept in the component's cfg): "input", the input embeddings every prediction
starts from; "output", the adaptive softmax's output word vectors, which the forward LM and the
fill-in head share (words that fit the same slots get close: 棒 near 好); or "input+output", both
L2-normalised and concatenated (benchmarks/vectors.py measures them on word similarity). With
them `token.vector`, `token.similarity`, `Doc.similarity` and `nlp.vocab.vectors.most_similar`
work as for any spaCy pipeline with vectors, and the table is written with the vocabulary
(`nlp.to_disk`, `spacy package`). A word outside the LM's vocabulary
has no row: spaCy gives it the zero vector (`token.has_vector` is False), as for any OOV word.

A fourth kind, "context", needs text: each word's forward state (after reading the word)
averaged over its occurrences in a corpus, as in the averaged-ELMo vectors of word-similarity
studies (adding the backward state scored the same on COS960, 0.405 against 0.403, at 1.7 times
the width). It scores best on word similarity
(benchmarks/vectors.py) and is made after training from the training texts (`context_vectors`,
`spacy-rnnlm vectors`; the project's `context-vectors` step); a pipeline whose table is of this
kind keeps it when it is saved again.

The table is only ever replaced when it is empty or one this module wrote (its name says so): a
pipeline that brings its own vectors keeps them.
"""
import itertools
from typing import TYPE_CHECKING, Callable, Iterable, List, Optional, Tuple

import numpy
import torch
from spacy.language import Language
from spacy.util import registry
from spacy.vectors import Vectors

from .models.architectures import torch_module

if TYPE_CHECKING:
    from .pipeline.lm import RNNLM

VECTORS_NAME = "spacy_rnnlm.word_vectors"
VECTOR_KINDS = ("input", "output", "input+output")
CONTEXT = "context"  # made from text by `context_vectors`, not from the weights alone
# the kind `initialize` chooses by default, and the one of models saved before the setting existed
DEFAULT_VECTORS = "output"


def word_vector_table(module, kind: str) -> numpy.ndarray:
    """One row per vocabulary id (n_vocab, width), float32, a copy (the table never aliases the
    weights, which training goes on changing). `kind`: one of VECTOR_KINDS."""
    if kind not in VECTOR_KINDS:
        raise ValueError(f"static vectors must be one of {VECTOR_KINDS}, not {kind!r}")
    emb = module.embed.weight.detach().float().cpu().numpy().copy()
    if kind == "input":
        return emb
    a = module.adaptive
    if a is None:
        out = module.decoder.weight.detach().float().cpu().numpy().copy()
    else:
        # a head word's row of the head; a cluster word's row mapped back through its cluster's
        # projection (its logit is row · (projection · features))
        out = numpy.zeros((module.n_vocab, a.in_features), dtype="float32")
        out[: a.shortlist_size] = a.head.weight.detach().float().cpu().numpy()[: a.shortlist_size]
        for c, tail in enumerate(a.tail):
            proj = tail[0].weight.detach().float().cpu().numpy()  # (cluster width, in_features)
            words = tail[1].weight.detach().float().cpu().numpy()  # (cluster size, cluster width)
            out[a.cutoffs[c] : a.cutoffs[c + 1]] = words @ proj
    if kind == "output":
        return out

    def unit(m: numpy.ndarray) -> numpy.ndarray:
        return m / numpy.maximum(numpy.linalg.norm(m, axis=1, keepdims=True), 1e-8)

    return numpy.ascontiguousarray(numpy.concatenate([unit(emb), unit(out)], axis=1), dtype="float32")


def lm_word_vectors(lm: "RNNLM", kind: Optional[str] = None) -> Tuple[List[str], numpy.ndarray]:
    """The vocabulary words (specials left out) and their vectors (words, width) of `kind`
    (default: the component's `static_vectors` setting)."""
    assert lm.lm_vocab is not None
    module = torch_module(lm.model)
    kind = kind or lm.cfg.get("static_vectors") or DEFAULT_VECTORS
    if kind == CONTEXT:
        raise ValueError("Context vectors are made from text (see context_vectors): read them from nlp.vocab.vectors.")
    table = word_vector_table(module, kind)
    return list(lm.lm_vocab.words[module.n_special :]), table[module.n_special :]


def context_vectors(
    nlp: Language, lm: "RNNLM", texts: Iterable[str], batch_size: int = 1000, only_new: bool = False
) -> int:
    """Make the pipeline's static vectors the "context" kind: each vocabulary word's mean
    forward state over its occurrences in `texts`, read as the pipeline reads them
    (its tokenizer and the annotating components before the rnnlm, e.g. the sentencizer). A word
    that never occurs gets the zero vector. RETURNS the number of words that occurred.

    nlp (Language): The pipeline `lm` belongs to.
    lm (RNNLM): Its initialized rnnlm component.
    texts (Iterable[str]): The texts, e.g. the training split.
    only_new (bool): Keep the vectors the table has (made from the base's own texts) and give
        vectors from `texts` only to the words it lacks (a vocabulary grown by `adapt`).
    """
    from .inference.states import eval_states
    from .inference.units import encode, sequence_units

    vocab = lm.lm_vocab
    assert vocab is not None
    module = torch_module(lm.model)
    # the forward state's columns of the token states (after the input embedding)
    part = slice(module.embed.embedding_dim, module.embed.embedding_dim + module.lstm.hidden_size)
    device = next(module.parameters()).device
    sums = torch.zeros((len(vocab), module.lstm.hidden_size), device=device)
    counts = torch.zeros(len(vocab), device=device)
    before = nlp.pipe_names[: nlp.pipe_names.index(lm.name)]
    with nlp.select_pipes(enable=[n for n in before if not getattr(nlp.get_pipe(n), "is_trainable", False)]):
        batch: List[str] = []
        for text in itertools.chain(texts, [None]):
            if text is not None:
                batch.append(text)
            if batch and (text is None or len(batch) == batch_size):
                seqs = [encode(vocab, (doc[i].text for i in unit)) for doc in nlp.pipe(batch) for unit in sequence_units(doc)]
                states = eval_states(module, seqs, batch_tokens=lm.batch_tokens, compute_dtype=lm.compute_dtype(), ops=lm.model.ops)
                for seq, rows in zip(seqs, states):
                    ids = torch.as_tensor(seq[1:-1], device=device)
                    sums.index_add_(0, ids, rows[:, part])
                    counts.index_add_(0, ids, torch.ones(len(ids), device=device))
                batch = []
    table = (sums / counts.clamp_min(1).unsqueeze(1)).cpu().numpy()[module.n_special :]
    words = vocab.words[module.n_special :]
    keys = [lm.vocab.strings.add(word) for word in words]
    if not owns_vectors(lm.vocab.vectors):
        raise ValueError("The pipeline has vectors of its own; context vectors would replace them.")
    if only_new:
        old = lm.vocab.vectors
        kept = [i for i, key in enumerate(keys) if key in old.key2row and old.shape[1] == table.shape[1]]
        table[kept] = lm.model.ops.to_numpy(old.data)[[old.key2row[keys[i]] for i in kept]]
        counts[[module.n_special + i for i in kept]] = 0  # not "seen" here
    lm.vocab.vectors = Vectors(strings=lm.vocab.strings, data=numpy.ascontiguousarray(table), keys=keys, name=VECTORS_NAME)
    lm.cfg["static_vectors"] = CONTEXT
    return int((counts[module.n_special :] > 0).sum())


def owns_vectors(vectors: Vectors) -> bool:
    """Whether a vectors table may be replaced: empty, or written by `set_static_vectors`."""
    return vectors.shape[0] == 0 or vectors.name == VECTORS_NAME


def set_static_vectors(lm: "RNNLM") -> bool:
    """Fill the shared vocabulary's vectors with the LM's word vectors of the component's
    `static_vectors` kind. RETURNS whether it did (False when the setting is None, or when the
    pipeline has vectors of its own, which are left as they are)."""
    vocab = lm.vocab
    kind = lm.cfg.get("static_vectors", DEFAULT_VECTORS)
    if kind is None or kind == CONTEXT or not owns_vectors(vocab.vectors):
        return False  # (context vectors come from text, see `context_vectors`: kept as they are)
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


__all__ = ["CONTEXT", "DEFAULT_VECTORS", "context_vectors", "VECTORS_NAME", "VECTOR_KINDS", "lm_word_vectors", "word_vector_table", "make_static_vectors_callback", "owns_vectors", "set_static_vectors"]
