"""Drawing alternative words through an adaptive softmax's two levels, without its full distribution.

An adaptive softmax factorises P(w) = P(head entry) for a frequent word, and
P(cluster c) × P(w | c) for a rare one. Drawing a head entry first and, when it is a cluster, a
word inside it is an exact draw from P, and costs a softmax over the ~2k head entries plus the
clusters actually hit, instead of the full 30k-word row at every position. Sampling without
replacement is exact too: a drawn word is removed from its level (zeroed in the head, or zeroed in
its cluster with the cluster's head mass reduced by its probability), as in
`sampling.draw_distinct`. Only temperature 1 factorises this way; other temperatures go through
the full distribution.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn import functional as F

Segment = Tuple[int, int, torch.Generator]  # rows [start, end) of one sequence, and its generator


def head_logprobs(adaptive: nn.AdaptiveLogSoftmaxWithLoss, h: torch.Tensor) -> torch.Tensor:
    """Float32 log-probabilities of the head entries (n, shortlist + clusters), whatever the
    precision of the matrix product (autocast)."""
    return F.log_softmax(adaptive.head(h).float(), dim=1)


def head_entry(adaptive: nn.AdaptiveLogSoftmaxWithLoss, ids: torch.Tensor) -> torch.Tensor:
    """The head entry of each word id: itself for a frequent word, its cluster's entry otherwise."""
    cluster = torch.bucketize(ids, torch.tensor(adaptive.cutoffs[:-1], device=ids.device), right=True)
    return torch.where(cluster == 0, ids, adaptive.shortlist_size + cluster - 1)


class _ClusterRows:
    """P(w | cluster) for the rows that needed it so far, computed once per row (lazily).

    `table` has a row per input row, allocated empty: only the rows computed are ever touched.
    """

    def __init__(self, adaptive: nn.AdaptiveLogSoftmaxWithLoss, cluster: int, h: torch.Tensor, targets: torch.Tensor):
        self.layer = adaptive.tail[cluster]
        self.start = adaptive.cutoffs[cluster]
        self.end = adaptive.cutoffs[cluster + 1]
        self.h, self.targets = h, targets
        self.done = torch.zeros(h.shape[0], dtype=torch.bool, device=h.device)
        self.table: Optional[torch.Tensor] = None

    def rows(self, rows: torch.Tensor) -> torch.Tensor:
        """The table, with `rows` computed."""
        if self.table is None:
            self.table = torch.empty((self.h.shape[0], self.end - self.start), device=self.h.device)
        new = torch.unique(rows[~self.done[rows]])
        if new.numel():
            q = torch.softmax(self.layer(self.h[new]).float(), dim=1)
            t = self.targets[new]
            own = (t >= self.start) & (t < self.end)  # the observed word is never an alternative
            q[own.nonzero(as_tuple=True)[0], t[own] - self.start] = 0.0
            self.table[new] = q
            self.done[new] = True
        return self.table


def _segment_bounds(rows: torch.Tensor, segments: Sequence[Segment]) -> List[Tuple[int, int, torch.Generator]]:
    """For ascending `rows`, the [lo, hi) range of entries falling in each segment."""
    starts = torch.tensor([s for s, _, _ in segments] + [segments[-1][1]], device=rows.device)
    cuts = torch.searchsorted(rows, starts).tolist()
    return [(cuts[k], cuts[k + 1], gen) for k, (_, _, gen) in enumerate(segments) if cuts[k + 1] > cuts[k]]


def draw_distinct_adaptive(
    adaptive: nn.AdaptiveLogSoftmaxWithLoss,
    h: torch.Tensor,
    targets: torch.Tensor,
    target_logprobs: torch.Tensor,
    n: int,
    segments: Sequence[Segment],
    exclude: Sequence[int],
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Draw `n` distinct words per row of features `h` (rows, width) with `torch.multinomial`.

    Never draws an `exclude` id (all in the head) nor the row's `targets` id (whose exact
    log-probability is `target_logprobs`). Rows are split into `segments`, each drawing with its
    own generator, so a sequence's draws do not depend on the other rows. Returns ids (rows, n)
    and their log-probabilities (rows, n).
    """
    rows = h.shape[0]
    short, n_clusters = adaptive.shortlist_size, adaptive.n_clusters
    head_lp = head_logprobs(adaptive, h)  # (rows, short + n_clusters)
    probs = head_lp.exp()
    cluster_lp = head_lp[:, short:]
    probs[:, list(exclude)] = 0.0
    in_head = targets < short
    r = in_head.nonzero(as_tuple=True)[0]
    probs[r, targets[r]] = 0.0
    r = (~in_head).nonzero(as_tuple=True)[0]
    if r.numel():  # a rare observed word leaves its cluster: the cluster's mass shrinks by its probability
        col = head_entry(adaptive, targets[r])
        probs[r, col] = (probs[r, col] - target_logprobs[r].float().exp()).clamp_min(0.0)
    clusters = [_ClusterRows(adaptive, c, h, targets) for c in range(n_clusters)]

    ids = torch.zeros((rows, n), dtype=torch.long, device=h.device)
    lps = torch.zeros((rows, n), dtype=torch.float32, device=h.device)
    filled = torch.zeros(rows, dtype=torch.long, device=h.device)
    active = torch.arange(rows, device=h.device)
    need = n
    while active.numel():
        # Each round draws as many words as the rows still need (at most `need`): a round's
        # draws after the needed distinct ones would only cost cluster lookups.
        m = max(need, 2)  # torch.multinomial draws a single sample through the slow path
        bounds = _segment_bounds(active, segments)
        draws = torch.cat(
            [torch.multinomial(probs[active[lo:hi]], m, replacement=True, generator=gen) for lo, hi, gen in bounds]
        )  # (active, m) head entries
        words = draws.clone()
        word_lp = head_lp[active.unsqueeze(1), draws]
        for c, cluster in enumerate(clusters):
            hr, hc = (draws == short + c).nonzero(as_tuple=True)  # ascending rows
            if not hr.numel():
                continue
            hit_rows = active[hr]
            table = cluster.rows(hit_rows)
            # Two draws, keep the first: torch.multinomial takes a draw of one sample through
            # one exponential random number per entry (20k here), two or more through the CDF.
            inner = torch.cat(
                [
                    torch.multinomial(table[hit_rows[lo:hi]], 2, replacement=True, generator=gen)[:, 0]
                    for lo, hi, gen in _segment_bounds(hit_rows, segments)
                ]
            )
            words[hr, hc] = cluster.start + inner
            word_lp[hr, hc] = cluster_lp[hit_rows, c] + table[hit_rows, inner].log()
        # Keep the first new distinct words of each row, in order (as in sampling.draw_distinct).
        earlier = torch.ones(m, m, dtype=torch.bool, device=h.device).tril(-1)
        first = ~((words.unsqueeze(2) == words.unsqueeze(1)) & earlier).any(2)
        rank = first.cumsum(1)
        take = first & (rank <= (n - filled[active]).unsqueeze(1))
        r, c_ = take.nonzero(as_tuple=True)
        row, word, lp = active[r], words[r, c_], word_lp[r, c_]
        ids[row, filled[row] + rank[r, c_] - 1] = word
        lps[row, filled[row] + rank[r, c_] - 1] = lp
        # Drawn words are not drawn again: zero them in their level.
        head = word < short
        probs[row[head], word[head]] = 0.0
        for c, cluster in enumerate(clusters):
            sel = (~head) & (word >= cluster.start) & (word < cluster.end)
            if sel.any():
                rr = row[sel]
                cluster.table[rr, word[sel] - cluster.start] = 0.0
                col = torch.full_like(rr, short + c)
                probs.index_put_((rr, col), -lp[sel].exp(), accumulate=True)  # a row may repeat
                probs[rr, col] = probs[rr, col].clamp_min(0.0)
        filled[active] += take.sum(1)
        active = active[filled[active] < n]
        if active.numel():
            need = int((n - filled[active]).max())
    return ids, lps
