"""Context features: what the model says about each word from its context, as softmax features.

From both sides (the two-direction model's fill-in head), or from the left alone (the forward
LM, for a one-direction model). One pass per batch of units (length-sorted, bounded padded size);
the forward log-probs come from the same pass, so nothing runs twice when scores are also needed.
"""
import itertools
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch.nn import functional as F

from ..models.pytorch.bilstm_lm import BiLSTMLanguageModel
from ..models.pytorch.adaptive_draws import head_logprobs
from ..models.pytorch.lstm_lm import LSTMLanguageModel
from ..models.wrapper import pad_sequences
from .units import Unit, length_batches, read_units

# Rows of full (rows, vocab) fill-in distributions computed at once: bounds memory.
FULL_ROWS = 256


def context_features(
    module: Union[LSTMLanguageModel, BiLSTMLanguageModel],
    units: Sequence[Unit],
    *,
    both_sides: bool,
    batch_tokens: int,
    compute_dtype: Optional[torch.dtype],
    ops,
) -> List[torch.Tensor]:
    """Per unit, the softmax features of its words, (n_words, width): the fill-in head's with
    `both_sides` (a `BiLSTMLanguageModel`), else the forward LM's. Sets each unit's forward
    `logprobs` from the same pass (numpy, (n_words + 1,)).

    With `both_sides`, a unit with an unknown word whose pieces path is the more probable (see
    `read_units`) is read again with that word as its pieces, as the forward score reads it:
    its words' features are the fill-in head's from the states around each word's pieces (the
    neighbours of 穿点 see 穿 点, not `<unk>`); its `logprobs` stay the word-level ones."""
    device = next(module.parameters()).device
    seqs = [unit.ids for unit in units]
    out: List[torch.Tensor] = [None] * len(units)  # type: ignore[list-item]
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            for batch in length_batches(seqs, batch_tokens):
                ids, targets = pad_sequences([seqs[i] for i in batch], ops)
                if both_sides:
                    feats, _, fwd_lps = module.fill_in(ids.to(device), targets.to(device), compute_dtype)
                else:
                    feats, fwd_lps = module.left_in(ids.to(device), targets.to(device), compute_dtype)
                for j, i in enumerate(batch):
                    n = len(seqs[i]) - 1
                    units[i].logprobs = fwd_lps[j, :n].cpu().numpy()
                    out[i] = feats[j, : n - 1]
            if both_sides:
                _read_as_pieces(module, units, out, batch_tokens, compute_dtype, ops)
    finally:
        module.train(was_training)
    return out


def _read_as_pieces(
    module: BiLSTMLanguageModel,
    units: Sequence[Unit],
    out: List[torch.Tensor],
    batch_tokens: int,
    compute_dtype: Optional[torch.dtype],
    ops,
) -> None:
    """Replace `out[i]` by the fill-in features of unit i read with its unknown words as pieces
    where that changes what it reads (see `context_features`)."""
    todo = [(i, *read_units(unit)) for i, unit in enumerate(units) if unit.splits]
    todo = [(i, ids, spans) for i, ids, spans in todo if len(ids) != len(units[i].ids)]  # type: ignore[arg-type]
    seqs = [ids for _, ids, _ in todo]
    device = next(module.parameters()).device
    for batch in length_batches(seqs, batch_tokens):
        ids, targets = pad_sequences([seqs[b] for b in batch], ops)
        with precision(device, compute_dtype):
            h_fwd, h_bwd, _ = module.both_sides(ids.to(device), targets.to(device))
            lengths = (targets != module.pad_id).sum(1).tolist()
            starts = [0, *itertools.accumulate(lengths)][:-1]
            # a word's features: the forward state before its first piece, the backward state
            # after its last one (position j's states: see BiLSTMLanguageModel.both_sides)
            first = [starts[j] + a for j, b in enumerate(batch) for a, _ in todo[b][2]]
            last = [starts[j] + e - 1 for j, b in enumerate(batch) for _, e in todo[b][2]]
            feats = module.fill_features(h_fwd[torch.tensor(first, device=device)], h_bwd[torch.tensor(last, device=device)])
        at = 0
        for b in batch:
            n = len(todo[b][2])
            out[todo[b][0]] = feats[at : at + n].to(out[todo[b][0]].dtype)
            at += n


def precision(device: torch.device, compute_dtype: Optional[torch.dtype]) -> torch.autocast:
    """Autocast to `compute_dtype` for the matrix products (plain float32 if None). Entered once
    around a loop of chunks, it also keeps the low-precision copies of the weights between the
    chunks (autocast caches them until its outermost context exits), instead of casting the
    softmax's ~1.5 M weights again for every chunk of rows."""
    return torch.autocast(device.type, dtype=compute_dtype or torch.float32, enabled=compute_dtype is not None)


def float32(device: torch.device) -> torch.autocast:
    """Autocast off: products that must stay float32 whatever context encloses them (cosines)."""
    return torch.autocast(device.type, enabled=False)


def full_logprobs(
    module: LSTMLanguageModel, feats: torch.Tensor, compute_dtype: Optional[torch.dtype] = None
) -> torch.Tensor:
    """Float32 log-probs over the whole vocabulary of feature rows (rows, width) → (rows, vocab)."""
    with torch.inference_mode(), precision(feats.device, compute_dtype):
        return torch.cat([module.log_probs(feats[i : i + FULL_ROWS]).float() for i in range(0, feats.shape[0], FULL_ROWS)])


class PoolLogprobs:
    """Exact log-probs of chosen words for rows of softmax features, level by level.

    With an adaptive softmax, the head (frequent words and one entry per cluster) is computed
    for every row, and a cluster only for the rows that need one of its words: a substitute pool
    or a correction candidate needs a few exact log-probs, not the whole 30k-word row.
    `pool_clusters` clusters are computed for every row (they take part in `top`). A cluster is
    kept as log P(w | cluster) and one log P(cluster) per row, added only where a word is read.
    """

    def __init__(self, module: LSTMLanguageModel, feats: torch.Tensor, compute_dtype: Optional[torch.dtype], pool_clusters: int = 1):
        self.module, self.feats, self.dtype = module, feats, compute_dtype
        self.adaptive = module.adaptive
        with self._precision():
            if self.adaptive is None:
                self.head = module.log_probs(feats).float()  # (rows, vocab): no levels
                self.tables: List[Tuple[torch.Tensor, torch.Tensor]] = []
            else:
                self.head = head_logprobs(self.adaptive, feats)  # (rows, shortlist + clusters)
                self.tables = [self._cluster(c, None) for c in range(min(pool_clusters, self.adaptive.n_clusters))]

    def _precision(self):
        return precision(self.feats.device, self.dtype)

    def _cluster(self, c: int, rows: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """log P(w | cluster c) for `rows` (all if None), (rows, cluster size), and each row's
        log P(cluster c), (rows, 1): log P(w) is their sum."""
        a = self.adaptive
        h = self.feats if rows is None else self.feats[rows]
        head = self.head if rows is None else self.head[rows]
        return F.log_softmax(a.tail[c](h).float(), dim=1), head[:, a.shortlist_size + c].unsqueeze(1)

    @property
    def pool_size(self) -> int:
        """Words covered by `top`: the head's words and the pool clusters' words."""
        if self.adaptive is None:
            return self.head.shape[1]
        return self.adaptive.cutoffs[len(self.tables)]

    def top(self, k: int, exclude: torch.Tensor, n_special: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """The `k` most likely words among the pool's (never a special nor the row's `exclude`
        id): ids and log-probs, (rows, k), best first."""
        if self.adaptive is None:
            levels = [(0, self.head, None)]
        else:
            levels = [(0, self.head[:, : self.adaptive.shortlist_size], None)]
            levels += [(self.adaptive.cutoffs[c], table, offset) for c, (table, offset) in enumerate(self.tables)]
        ids, lps = [], []
        for start, table, offset in levels:
            # the best k + (words that may be left out) of the level, then those left out
            extra = 1 + (n_special if start == 0 else 0)
            best = torch.topk(table, min(k + extra, table.shape[1]), dim=1)
            level_ids = best.indices + start
            values = best.values if offset is None else best.values + offset
            left_out = (level_ids == exclude.unsqueeze(1)) | (level_ids < n_special)
            ids.append(level_ids)
            lps.append(values.masked_fill(left_out, float("-inf")))
        ids_t, lps_t = torch.cat(ids, 1), torch.cat(lps, 1)
        best = torch.topk(lps_t, min(k, lps_t.shape[1]), dim=1)
        return ids_t.gather(1, best.indices), best.values

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        """log P(ids[r, j]) for every row r: (rows, m) ids → (rows, m) float32."""
        if self.adaptive is None:
            return self.head.gather(1, ids)
        a = self.adaptive
        short = a.shortlist_size
        out = self.head.gather(1, ids.clamp_max(short - 1)).masked_fill(ids >= short, float("-inf"))
        for c in range(a.n_clusters):
            lo, hi = a.cutoffs[c], a.cutoffs[c + 1]
            sel = (ids >= lo) & (ids < hi)
            if c < len(self.tables):
                rows = None
            else:
                rows = sel.any(1).nonzero(as_tuple=True)[0]
                if not rows.numel():
                    continue
            if rows is None:
                table, offset = self.tables[c]
                local = (ids - lo).clamp(0, hi - lo - 1)
                out = torch.where(sel, table.gather(1, local) + offset, out)
                continue
            with self._precision():
                table, offset = self._cluster(c, rows)
            local = (ids[rows] - lo).clamp(0, hi - lo - 1)
            out[rows] = torch.where(sel[rows], table.gather(1, local) + offset, out[rows])
        return out
