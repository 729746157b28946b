"""Substitutes: words that could stand in place of a token, drawn from both sides of it.

The distribution drawn from, at a position holding word o (all terms in nats):
    score(w) = log P_fill(w | left, right) + similarity × cos(e_w, e_o) + synonym_bonus × [w ∈ syn(o)]
    q(w) = softmax(score / temperature) over a pool of candidates from three sources:
           o's thesaurus synonyms (when the component has a thesaurus), the `pool` words nearest
           to o by embedding cosine among the adaptive softmax's head and first cluster (the
           10,000 most frequent words by default: a substitute is seldom one of the rarest), and
           the `pool` frequent words (the softmax's head) the fill-in head finds most likely there,
with o itself and the special symbols left out. The fill-in term says how well w fits between
its left and right context; the cosine of the model's input word embeddings and the thesaurus
keep the meaning close to o (a continuation that fits but means something else ranks lower). An
unknown word is compared through the mean embedding of its characters that are words.
log P_fill is exact for every candidate (a cluster's normaliser is computed for the rows that
have a candidate in it); the pool is chosen from meaning first, so a position never ranks the
whole 10,000-word list. A word's nearest words and its synonyms' cosines are computed once per
word and kept while the weights stay the same.
Before drawing, words with q(w) below `min_p` times the row's most probable word are cut (min-p
sampling) and q is renormalised over the rest: sampling keeps the diversity of the words that can
stand there, not the far tail of a pool of a hundred (的 or 出来 for 真棒). A function word
(`FUNCTION_WORDS`: particles that only attach to other words) or punctuation is never a
substitute of a word that is neither.
`torch.multinomial` draws without replacement from q, with one seeded generator per sentence;
`q(w)` is the probability reported.
"""
import weakref
from typing import List, Optional, Sequence, Tuple

import torch
from torch.nn import functional as F

from ..models.pytorch.lstm_lm import LSTMLanguageModel, _row_chunks
from ..thesaurus import Thesaurus
from ..vocab import SPECIALS
from .fill import FULL_ROWS, PoolLogprobs, float32, precision

# Structural, aspectual and modal particles (助词, 语气词): they attach to other words and never
# stand in for a content word.
FUNCTION_WORDS = frozenset("的 地 得 之 所 了 着 过 吗 呢 吧 啊 呀 嘛 哦 么 啦 哇 呗 罢了 而已 似的 等".split())


class Neighbourhoods:
    """Per vocabulary word, its `n` nearest pool words by input-embedding cosine and the cosines
    of its synonyms: filled in lazily, a word the first time it is asked for.

    Valid for one state of the weights and one thesaurus (see `neighbourhoods`).
    """

    def __init__(self, module: LSTMLanguageModel, thesaurus: Optional[Thesaurus], n: int):
        weight = module.embed.weight.detach()
        self.emb = F.normalize(weight.float(), dim=1)  # (vocab, embed)
        self.n_special = module.n_special
        adaptive = module.adaptive
        self.pool_words = adaptive.cutoffs[1] if adaptive is not None and adaptive.n_clusters else weight.shape[0]
        self.n = min(n, self.pool_words - self.n_special - 1)
        self.thesaurus = thesaurus
        vocab, device = weight.shape[0], weight.device
        self.done = torch.zeros(vocab, dtype=torch.bool, device=device)
        self.near_ids = torch.full((vocab, self.n), -1, dtype=torch.long, device=device)
        self.near_cos = torch.zeros((vocab, self.n), device=device)
        self.syn_ids = _synonyms(thesaurus, torch.arange(vocab, device=device))  # (vocab, most synonyms)
        self.syn_cos = torch.zeros(self.syn_ids.shape, device=device)
        self.key = _key(module, n)

    def nearest(self, meanings: torch.Tensor, exclude: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The `n` pool words nearest to each of `meanings` (rows, embed), never a special nor
        the row's `exclude` id: ids and cosines (rows, n); a zero meaning has none (ids -1)."""
        unit = F.normalize(meanings.float(), dim=1)
        with float32(unit.device):
            cos = unit @ self.emb[: self.pool_words].T  # (rows, pool words)
        cos[:, : self.n_special] = float("-inf")
        inside = exclude < self.pool_words
        r = inside.nonzero(as_tuple=True)[0]
        cos[r, exclude[r]] = float("-inf")
        best = torch.topk(cos, self.n, dim=1)
        ids = best.indices.masked_fill((meanings == 0).all(1, keepdim=True), -1)
        return ids, best.values

    def of(self, originals: torch.Tensor, meanings: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, int]:
        """Each original's synonyms (the first `s` columns, -1 = none) and nearest words, and
        their cosines to its meaning: ids, cos (rows, s + n), s."""
        known = originals >= self.n_special
        new = torch.unique(originals[known & ~self.done[originals]])
        if new.numel():
            ids, cos = self.nearest(self.emb[new], new)
            self.near_ids[new], self.near_cos[new] = ids, cos
            syn = self.syn_ids[new]
            self.syn_cos[new] = (self.emb[syn.clamp_min(0)] * self.emb[new].unsqueeze(1)).sum(2)
            self.done[new] = True
        near_ids, near_cos = self.near_ids[originals], self.near_cos[originals]
        unknown = (~known).nonzero(as_tuple=True)[0]
        if unknown.numel():  # no row of its own: from the meaning of its characters
            near_ids[unknown], near_cos[unknown] = self.nearest(meanings[unknown], originals[unknown])
        syn_ids, syn_cos = self.syn_ids[originals], self.syn_cos[originals]
        width = int((syn_ids >= 0).sum(1).max()) if syn_ids.shape[0] and syn_ids.shape[1] else 0
        ids = torch.cat([syn_ids[:, :width], near_ids], dim=1)
        return ids, torch.cat([syn_cos[:, :width], near_cos], dim=1), width


_CACHE: "weakref.WeakKeyDictionary[LSTMLanguageModel, Neighbourhoods]" = weakref.WeakKeyDictionary()


def _key(module: LSTMLanguageModel, n: int) -> tuple:
    weight = module.embed.weight
    return (weight.data_ptr(), weight._version, weight.device, n)


def neighbourhoods(module: LSTMLanguageModel, thesaurus: Optional[Thesaurus], n: int) -> Neighbourhoods:
    """The module's `Neighbourhoods`, kept between calls until its embeddings change (training
    steps change them in place) or another thesaurus or size is asked for."""
    cached = _CACHE.get(module)
    if cached is None or cached.key != _key(module, n) or cached.thesaurus is not thesaurus:
        cached = _CACHE[module] = Neighbourhoods(module, thesaurus, n)
    return cached


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
    parts: Optional[torch.Tensor] = None,
    min_p: float = 0.0,
    function: Optional[torch.Tensor] = None,
    unknown_synonyms: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Draw `n` distinct substitutes for each row of fill-in features `feats` (rows, width),
    whose words are `originals` (rows,); rows of sequence k are the k-th `lengths[k]` rows and
    draw with `gens[k]`. `meanings` (rows, embed) are the vectors the similarity term compares
    with (default: the originals' embeddings; see `word_meanings` for unknown words), and `parts`
    (rows, m), -1 padded, ids never drawn for the row (an unknown word's characters). `min_p`:
    the min-p cut; `function` (vocab,) bool: function words and punctuation, never drawn for a
    row whose word is not one (see `function_words`). `unknown_synonyms` (rows, s), -1 padded:
    the thesaurus synonyms of rows whose word is outside the vocabulary (`Thesaurus.of_words`),
    candidates with the synonym bonus as a known word's. RETURNS ids (rows, n) and their
    probabilities q (rows, n), most probable first; fewer than n (probability 0) where the cut
    leaves fewer."""
    rows = feats.shape[0]
    n_special = module.n_special
    ids = torch.zeros((rows, n), dtype=torch.long, device=feats.device)
    # float64: with large similarity and synonym weights the pool's tail lies hundreds of nats
    # below its head, and float32 would round it to 0 (an undrawable word)
    probs = torch.zeros((rows, n), dtype=torch.float64, device=feats.device)
    if rows == 0 or n == 0:
        return ids, probs
    if meanings is None:
        meanings = module.embed.weight.detach().float()[originals]
    with torch.inference_mode(), precision(feats.device, compute_dtype):
        near = neighbourhoods(module, thesaurus, max(pool, n))
        short = module.adaptive.shortlist_size if module.adaptive is not None else near.pool_words
        # synonyms first: a word that is also a synonym keeps the bonus (its repeats are left out)
        by_meaning, by_meaning_cos, n_syn = near.of(originals, meanings)
        if unknown_synonyms is not None and unknown_synonyms.shape[1]:
            by_meaning, by_meaning_cos, n_syn = _with_unknown_synonyms(near, by_meaning, by_meaning_cos, n_syn, unknown_synonyms, meanings)
        for lo, hi, pieces in _row_chunks(lengths, gens, FULL_ROWS):
            orig, meaning = originals[lo:hi], meanings[lo:hi]
            levels = PoolLogprobs(module, feats[lo:hi], compute_dtype, pool_clusters=0)
            fill_ids, _ = levels.top(pool, orig, n_special)  # the head's words that fit best
            with float32(feats.device):
                fill_cos = (F.normalize(meaning.float(), dim=1) @ near.emb[:short].T).gather(1, fill_ids)
            cand = torch.cat([by_meaning[lo:hi], fill_ids], dim=1)
            cos = torch.cat([by_meaning_cos[lo:hi], fill_cos], dim=1)
            left_out = (cand < n_special) | (cand == orig.unsqueeze(1)) | _repeats(cand)
            if parts is not None and parts.shape[1]:
                left_out |= (cand.unsqueeze(2) == parts[lo:hi].unsqueeze(1)).any(2)
            if function is not None:
                left_out |= function[cand.clamp_min(0)] & ~function[orig].unsqueeze(1)
            score = levels.lookup(cand.clamp_min(0)) + similarity * cos
            score[:, :n_syn] += synonym_bonus
            q = torch.softmax(score.masked_fill(left_out, float("-inf")).double() / temperature, dim=1)
            if min_p > 0:
                q = q.masked_fill(q < min_p * q.max(dim=1, keepdim=True).values, 0.0)
                q = q / q.sum(dim=1, keepdim=True).clamp_min(1e-300)
            # each row's own candidates first, in their order: how many random numbers a sequence
            # draws then depends on its rows only, not on how wide other docs of the batch made
            # the pool (their synonyms), so a doc's draws do not depend on its batch
            order = torch.sort((q == 0).to(torch.int8), dim=1, stable=True).indices
            q, cand = q.gather(1, order), cand.gather(1, order)
            # a row may have fewer than n words left (the min-p cut): fillers of negligible weight
            # let every row draw n, and drawn fillers (q = 0) are dropped below
            weights = q + (q == 0) * 1e-300
            for start, end, gen in pieces:
                width = min(max(n, int((q[start:end] > 0).sum(1).max())), weights.shape[1])
                k = min(n, width)
                pick = torch.multinomial(weights[start:end, :width], k, replacement=False, generator=gen)
                picked_q = q[start:end].gather(1, pick)
                order = picked_q.argsort(dim=1, descending=True)
                ids[lo + start : lo + end, :k] = cand[start:end].gather(1, pick.gather(1, order))
                probs[lo + start : lo + end, :k] = picked_q.gather(1, order)
    return ids, probs


def _with_unknown_synonyms(
    near: Neighbourhoods, ids: torch.Tensor, cos: torch.Tensor, n_syn: int, unknown: torch.Tensor, meanings: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """The candidates `ids` / `cos` (rows, n_syn + m; the first n_syn the synonyms) with the
    synonyms of the rows whose word is outside the vocabulary (`unknown`, (rows, s), -1 padded)
    in the synonym columns, which such a row has empty (`<unk>` has no synonyms): the pool grows
    to the widest of the two, not by their sum."""
    width = unknown.shape[1]
    if width > n_syn:
        rows = ids.shape[0]
        ids = torch.cat([ids[:, :n_syn], ids.new_full((rows, width - n_syn), -1), ids[:, n_syn:]], dim=1)
        cos = torch.cat([cos[:, :n_syn], cos.new_zeros((rows, width - n_syn)), cos[:, n_syn:]], dim=1)
        n_syn = width
    has = (unknown >= 0).any(1).nonzero(as_tuple=True)[0]
    if has.numel():
        with float32(ids.device):
            syn_cos = (F.normalize(meanings[has].float(), dim=1).unsqueeze(1) * near.emb[unknown[has].clamp_min(0)]).sum(2)
        ids[has, :width], cos[has, :width] = unknown[has], syn_cos.to(cos.dtype)
    return ids, cos, n_syn


def function_words(words: Sequence[str], device: torch.device) -> torch.Tensor:
    """(vocab,) bool: which vocabulary words are function words or punctuation (no letter, digit
    or Chinese character); the specials are neither."""
    flags = [w in FUNCTION_WORDS or not any(c.isalnum() for c in w) for w in words]
    flags[: len(SPECIALS)] = [False] * min(len(SPECIALS), len(flags))
    return torch.tensor(flags, dtype=torch.bool, device=device)


def _repeats(cand: torch.Tensor) -> torch.Tensor:
    """Whether each entry repeats an id earlier in its row (rows, m) → bool (rows, m)."""
    ordered, order = torch.sort(cand, dim=1, stable=True)
    again = torch.zeros_like(ordered, dtype=torch.bool)
    again[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    return torch.zeros_like(again).scatter_(1, order, again)


def word_meanings(
    module: LSTMLanguageModel, ids: Sequence[int], words: Sequence[str], vocab
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The vector each word's substitutes are compared with: its input embedding, or for an
    unknown word (it has none of its own; 真棒 is not among the 30,000 words) the mean embedding
    of its characters that are vocabulary words (真, 棒), or zeros (no similarity term) if none is.
    Also those characters' ids, (rows, most characters), -1 padded: they are the nearest words
    to such a meaning by construction, pieces of the word rather than substitutes for it."""
    emb = module.embed.weight.detach().float()
    out = emb[torch.as_tensor(list(ids), dtype=torch.long, device=emb.device)].clone()
    parts: List[List[int]] = [[] for _ in ids]
    for row, (idx, word) in enumerate(zip(ids, words)):
        if idx < module.n_special:
            chars = [vocab.index[c] for c in word if c in vocab.index]
            out[row] = emb[chars].mean(0) if chars else 0.0
            parts[row] = sorted(set(chars))
    width = max(map(len, parts), default=0)
    table = torch.full((len(parts), width), -1, dtype=torch.long)
    for row, chars in enumerate(parts):
        table[row, : len(chars)] = torch.tensor(chars, dtype=torch.long)
    return out, table.to(emb.device)


def _synonyms(thesaurus: Optional[Thesaurus], originals: torch.Tensor) -> torch.Tensor:
    """Synonym ids of each original, right-padded with -1: (rows, most synonyms)."""
    if thesaurus is None or not len(thesaurus):
        return torch.zeros((len(originals), 0), dtype=torch.long, device=originals.device)
    return thesaurus.matrix(originals)
