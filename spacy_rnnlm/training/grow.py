"""A trained rnnlm's vocabulary grown by a domain's frequent words (for `spacy-rnnlm adapt`).

New words are appended: the base words keep their ids, so every table keyed by id (thesaurus,
static vectors, counts) stays valid, and they land in the adaptive softmax's last tail cluster.
Their rows start from what the model knows instead of noise: a word made of vocabulary words
(穿点 = 穿 + 点, read as `Pieces` splits unknown words) starts from the mean of its pieces'
input embeddings and output vectors, any other word from `<unk>`'s. An output vector is mapped
into the last cluster's space by least squares through the cluster's projection.
"""
from typing import Callable, Iterable, List, Sequence, Tuple

import torch
from spacy.language import Language

from ..inference.units import unit_words
from ..models.architectures import torch_module
from ..pieces import Pieces
from ..vectors import set_static_vectors
from ..vocab import SPECIALS, UNK_ID, LMVocab


def domain_words(
    nlp: Language, texts: Iterable[str], vocab: LMVocab, annotators: Sequence[Tuple[str, Callable]], *, min_count: int, max_new: int
) -> List[Tuple[str, int]]:
    """The words of `texts` (segmented as the rnnlm trains) outside `vocab` seen at least
    `min_count` times, most frequent first, at most `max_new`."""

    with nlp.memory_zone():
        freqs, _ = LMVocab.count(words for doc in nlp.tokenizer.pipe(texts) for words in unit_words(doc, annotators))
    new = sorted(((w, n) for w, n in freqs.items() if n >= min_count and w not in vocab and w.strip()), key=lambda x: (-x[1], x[0]))
    return new[:max_new]


def _output_vectors(adaptive: torch.nn.AdaptiveLogSoftmaxWithLoss, ids: List[int]) -> torch.Tensor:
    """Each id's output vector in the softmax's input space: its head row, or its tail row mapped
    back through its cluster's projection."""
    rows = []
    for i in ids:
        if i < adaptive.shortlist_size:
            rows.append(adaptive.head.weight[i])
        else:
            c = next(k for k in range(adaptive.n_clusters) if i < adaptive.cutoffs[k + 1])
            project, out = adaptive.tail[c][0], adaptive.tail[c][1]
            rows.append(project.weight.t() @ out.weight[i - adaptive.cutoffs[c]])
    return torch.stack(rows)


def grow(lm, words: Sequence[Tuple[str, int]]) -> int:
    """Append `words` (word, count) to the rnnlm's vocabulary and model; returns how many."""
    if not words:
        return 0
    old_vocab: LMVocab = lm._require_initialized()
    old_module = torch_module(lm.model)
    old_state = {k: v.detach().clone() for k, v in old_module.state_dict().items()}
    splitter = Pieces(old_vocab, 0.5, 0.5)
    sources = [splitter.split(w) or [UNK_ID] for w, _ in words]
    with torch.no_grad():
        embed = old_module.embed.weight
        new_embed = torch.stack([embed[ids].mean(0) for ids in sources])
        adaptive = old_module.adaptive
        targets = torch.stack([_output_vectors(adaptive, ids).mean(0) for ids in sources]) if adaptive is not None else None
    vocab = LMVocab(old_vocab.words[len(SPECIALS) :] + [w for w, _ in words], old_vocab.counts + [n for _, n in words])
    lm._build_model(vocab)
    module = torch_module(lm.model)
    state = module.state_dict()
    n_old = len(old_vocab)
    with torch.no_grad():
        for key, old in old_state.items():
            if state[key].shape == old.shape:
                state[key] = old
            else:  # the rows that grew: the input embedding, the last cluster's output rows
                state[key] = state[key].clone()
                state[key][: old.shape[0]] = old
        state["embed.weight"][n_old:] = new_embed.to(state["embed.weight"])
        if adaptive is not None and targets is not None:
            last = adaptive.n_clusters - 1
            project = state[f"adaptive.tail.{last}.0.weight"]  # (cluster width, input width)
            rows = torch.linalg.lstsq(project.t().float(), targets.t().float()).solution.t()
            key = f"adaptive.tail.{last}.1.weight"
            state[key][-len(words) :] = rows.to(state[key])
    module.load_state_dict(state)
    lm._build_char_tables()
    if lm.thesaurus is not None:
        lm.thesaurus._table = None
    set_static_vectors(lm)
    return len(words)
