"""A trained rnnlm's vocabulary grown by a domain's frequent words (for `spacy-rnnlm adapt`).

New words are appended: the base words keep their ids, so every table keyed by id (thesaurus,
static vectors, counts) stays valid, and they land in the adaptive softmax's last tail cluster.
Their rows start from what the model knows instead of noise: a word made of vocabulary words
(穿点 = 穿 + 点, read as `Pieces` splits unknown words) starts from the mean of its pieces'
input embeddings and output vectors, any other word from `<unk>`'s. An output vector is mapped
into the last cluster's space by least squares through the cluster's projection. The domain's
counts go into the unigram table (added to the base's), and its words that stay unknown into the
spelling model, which also stops giving mass to the words that joined the vocabulary.
"""
from collections import Counter
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import torch
from spacy.language import Language

from ..inference.units import unit_words
from ..models.architectures import torch_module
from ..pieces import Pieces
from ..vectors import set_static_vectors
from ..vocab import SPECIALS, UNK_ID, LMVocab


def domain_counts(nlp: Language, texts: Iterable[str], annotators: Sequence[Tuple[str, Callable]]) -> Counter:
    """How often each word occurs in `texts`, segmented as the rnnlm trains."""
    with nlp.memory_zone():
        freqs, _ = LMVocab.count(words for doc in nlp.tokenizer.pipe(texts) for words in unit_words(doc, annotators))
    return Counter({w: n for w, n in freqs.items() if w.strip()})


def domain_words(counts: Counter, vocab: LMVocab, *, min_count: int, max_new: int) -> List[Tuple[str, int]]:
    """The words of `counts` outside `vocab` seen at least `min_count` times, most frequent
    first, at most `max_new`."""
    new = sorted(((w, n) for w, n in counts.items() if n >= min_count and w not in vocab), key=lambda x: (-x[1], x[0]))
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


def grow(lm, words: Sequence[Tuple[str, int]], counts: Optional[Counter] = None) -> int:
    """Append `words` (word, count) to the rnnlm's vocabulary and model, and take the domain's
    word `counts` (all its words) into the unigram table and the spelling model; returns how
    many words were added."""
    old_vocab: LMVocab = lm._require_initialized()
    counts = counts or Counter()
    grown = set(old_vocab.words) | {w for w, _ in words}
    base_counts = [n + counts.get(w, 0) for w, n in zip(old_vocab.words, old_vocab.counts)]
    base_counts[UNK_ID] += sum(n for w, n in counts.items() if w not in grown)  # what stays unknown
    if not words:
        lm._set_vocab(LMVocab(old_vocab.words[len(SPECIALS) :], base_counts))
        _update_spelling(lm, counts)
        return 0
    old_module = torch_module(lm.model)
    old_state = {k: v.detach().clone() for k, v in old_module.state_dict().items()}
    splitter = Pieces(old_vocab, 0.5, 0.5)
    sources = [splitter.split(w) or [UNK_ID] for w, _ in words]
    with torch.no_grad():
        embed = old_module.embed.weight
        new_embed = torch.stack([embed[ids].mean(0) for ids in sources])
        adaptive = old_module.adaptive
        targets = torch.stack([_output_vectors(adaptive, ids).mean(0) for ids in sources]) if adaptive is not None else None
    vocab = LMVocab(old_vocab.words[len(SPECIALS) :] + [w for w, _ in words], base_counts + [n for _, n in words])
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
    _update_spelling(lm, counts)
    lm._build_char_tables()
    if lm.thesaurus is not None:  # new words the dictionary knew by spelling get their synonyms
        lm.thesaurus.add_words(vocab)
    set_static_vectors(lm)
    return len(words)


def _update_spelling(lm, counts: Counter) -> None:
    """The spelling model trained on the domain's words that stay unknown too, with no mass on
    the (grown) vocabulary's words."""
    if lm.spelling is None:
        return
    vocab = lm.lm_vocab
    unknown = [w for w in counts if w not in vocab]
    lm.spelling = lm.spelling.extended(unknown, vocab=vocab.words[len(SPECIALS) :])
