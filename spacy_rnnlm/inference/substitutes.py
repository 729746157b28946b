"""Substitutes: words that could stand in place of a token, drawn from both sides of it.

The distribution drawn from, at a position holding word o (all terms in nats):
    score(w) = log P_fill(w | left, right) + similarity × cos(e_w, e_o) + synonym_bonus × [w ∈ syn(o)]
    q(w) = softmax(score / temperature) over a pool: the `pool` words the fill-in head finds most
           likely there among the adaptive softmax's head and first cluster (the 10,000 most
           frequent words by default: a substitute is seldom one of the rarest words, and the
           other clusters are then computed only where a synonym needs them), and o's
           thesaurus synonyms (when the component has a thesaurus),
with o itself and the special symbols left out. The fill-in term says how well w fits between
its left and right context; the cosine of the model's input word embeddings and the thesaurus
keep the meaning close to o (a continuation that fits but means something else ranks lower). An
unknown word is compared through the mean embedding of its characters that are words.
`torch.multinomial` draws without replacement from q, with one seeded generator per sentence;
`q(w)` is the probability reported.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch.nn import functional as F

from ..models.pytorch.lstm_lm import LSTMLanguageModel, _row_chunks
from ..thesaurus import Thesaurus
from .fill import FULL_ROWS, PoolLogprobs


def draw_substitutes(
    module: LSTMLanguageModel,
    feats: torch.Tensor,
    originals: torch.Tensor,
    lengths: List[int],
    gens: List[torch.Generator],
    *,
    n: int,
    pool: int,
    temperature: float,
    similarity: float,
    synonym_bonus: float,
    thesaurus: Optional[Thesaurus],
    compute_dtype: Optional[torch.dtype] = None,
    meanings: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Draw `n` distinct substitutes for each row of fill-in features `feats` (rows, width),
    whose words are `originals` (rows,); rows of sequence k are the k-th `lengths[k]` rows and
    draw with `gens[k]`. `meanings` (rows, embed) are the vectors the similarity term compares
    with (default: the originals' embeddings; see `word_meanings` for unknown words). RETURNS ids
    (rows, n) and their probabilities q (rows, n), most probable first."""
    rows = feats.shape[0]
    n_special = module.n_special
    pool = max(pool, n)
    ids = torch.zeros((rows, n), dtype=torch.long, device=feats.device)
    # float64: with large similarity and synonym weights the pool's tail lies hundreds of nats
    # below its head, and float32 would round it to 0 (an undrawable word)
    probs = torch.zeros((rows, n), dtype=torch.float64, device=feats.device)
    if rows == 0 or n == 0:
        return ids, probs
    emb = F.normalize(module.embed.weight.detach().float(), dim=1)  # (vocab, embed)
    if meanings is None:
        meanings = module.embed.weight.detach().float()[originals]
    with torch.inference_mode():
        for lo, hi, pieces in _row_chunks(lengths, gens, FULL_ROWS):
            levels = PoolLogprobs(module, feats[lo:hi], compute_dtype)
            orig = originals[lo:hi]
            cand, score = levels.top(pool, orig, n_special)  # (chunk, pool), best first
            n_pool = cand.shape[1]
            syn = _synonym_matrix(thesaurus, orig.tolist(), cand.device)  # (chunk, s), -1 = none
            if syn.shape[1]:
                cand = torch.cat([cand, syn.clamp_min(0)], dim=1)
                score = torch.cat([score, levels.lookup(syn.clamp_min(0))], dim=1)
                is_syn = (cand.unsqueeze(2) == syn.unsqueeze(1)).any(2)  # (chunk, candidates)
                score = score + synonym_bonus * is_syn
                # a synonym already in the fill-in pool, and the padding, are not candidates twice
                earlier = torch.ones(cand.shape[1], cand.shape[1], dtype=torch.bool, device=cand.device).tril(-1)
                repeat = ((cand.unsqueeze(2) == cand.unsqueeze(1)) & earlier).any(2)
                padding = torch.cat([torch.zeros_like(repeat[:, :n_pool]), syn < 0], 1)
                score = score.masked_fill(repeat | padding, float("-inf"))
            cos = (emb[cand] * F.normalize(meanings[lo:hi], dim=1).unsqueeze(1)).sum(2)
            score = score + similarity * cos
            q = torch.softmax(score.double() / temperature, dim=1)  # (chunk, candidates)
            for start, end, gen in pieces:
                k = min(n, int((q[start:end] > 0).sum(1).min()))
                pick = torch.multinomial(q[start:end], k, replacement=False, generator=gen)
                picked_q = q[start:end].gather(1, pick)
                order = picked_q.argsort(dim=1, descending=True)
                ids[lo + start : lo + end, :k] = cand[start:end].gather(1, pick.gather(1, order))
                probs[lo + start : lo + end, :k] = picked_q.gather(1, order)
    return ids, probs


def word_meanings(module: LSTMLanguageModel, ids: Sequence[int], words: Sequence[str], vocab) -> torch.Tensor:
    """The vector each word's substitutes are compared with: its input embedding, or for an
    unknown word (it has none of its own; 真棒 is not among the 30,000 words) the mean embedding
    of its characters that are vocabulary words (真, 棒), or zeros (no similarity term) if none is."""
    emb = module.embed.weight.detach().float()
    out = emb[torch.as_tensor(list(ids), dtype=torch.long, device=emb.device)].clone()
    for row, (idx, word) in enumerate(zip(ids, words)):
        if idx < module.n_special:
            chars = [vocab.index[c] for c in word if c in vocab.index]
            out[row] = emb[chars].mean(0) if chars else 0.0
    return out


def _synonym_matrix(thesaurus: Optional[Thesaurus], originals: Sequence[int], device) -> torch.Tensor:
    """Synonym ids of each original, right-padded with -1: (rows, most synonyms)."""
    if thesaurus is None or not len(thesaurus):
        return torch.zeros((len(originals), 0), dtype=torch.long, device=device)
    lists = [thesaurus(o) for o in originals]
    width = max((len(s) for s in lists), default=0)
    out = torch.full((len(originals), width), -1, dtype=torch.long)
    for row, syns in enumerate(lists):
        if syns:
            out[row, : len(syns)] = torch.tensor(syns)
    return out.to(device)
