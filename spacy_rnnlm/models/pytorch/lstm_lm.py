"""The language model as a plain `torch.nn.Module`: embedding → multi-layer LSTM → output layer.

Knows nothing of spaCy or thinc. The output layer is either a full softmax (optionally tied to the
embedding) or an adaptive softmax (Grave et al. 2017): frequent words in a head, rare words in
clusters behind smaller projections, which removes most of the cost of a 30k-word softmax. Both
give the exact log-probability of an observed word cheaply; the full distribution over the
vocabulary is only computed where it is asked for (drawing alternatives, generation).
"""
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from ...sampling import draw_distinct, make_generator
from .adaptive_draws import Segment, draw_distinct_adaptive, head_entry, head_logprobs

State = Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]  # a GRU's h, or an LSTM's (h, c)


class Outputs(NamedTuple):
    """What `forward` returns when more than the log-probs is asked for; all (batch, seq_len, …)."""

    logprobs: torch.Tensor  # (batch, seq_len)
    sample_ids: torch.Tensor  # (batch, seq_len, n_samples)
    sample_logprobs: torch.Tensor


# Rows of the (rows, vocab) full distribution computed at once: bounds memory on long sequences.
CHUNK_ROWS = 256
# Rows drawn from at once through the adaptive softmax's levels (head rows are ~2k wide).
ADAPTIVE_CHUNK_ROWS = 256
# Rows whose observed-word log-probs are computed at once (the cheap path needs no full vocab row
# for the adaptive softmax, so bigger chunks only save call overhead).
TARGET_CHUNK_ROWS = 4096


class LSTMLanguageModel(nn.Module):
    """Next-word model over a closed vocabulary of `n_vocab` ids; id `pad_id` is padding."""

    def __init__(
        self,
        n_vocab: int,
        *,
        embed_width: int = 256,
        hidden_width: int = 512,
        depth: int = 1,
        dropout: float = 0.2,
        tie_weights: bool = False,
        cutoffs: Sequence[int] = (),
        div_value: float = 4.0,
        pad_id: int = 0,
        n_special: int = 4,
        cell: str = "lstm",
    ):
        super().__init__()
        if tie_weights and cutoffs:
            raise ValueError("tie_weights needs a full softmax: set cutoffs to an empty list")
        cutoffs = [c for c in cutoffs if 0 < c < n_vocab - 1]
        self.n_vocab = n_vocab
        self.pad_id = pad_id
        self.n_special = n_special
        self.embed = nn.Embedding(n_vocab, embed_width, padding_idx=pad_id)
        self.drop = FastDropout(dropout)
        # The left-to-right network (an LSTM or a GRU); named `lstm` so that saved weights load.
        self.lstm = make_rnn(cell, embed_width, hidden_width, depth, dropout)
        out_width = embed_width if tie_weights else hidden_width
        self.proj: Optional[nn.Linear] = nn.Linear(hidden_width, out_width) if out_width != hidden_width else None
        self.adaptive: Optional[nn.AdaptiveLogSoftmaxWithLoss] = None
        self.decoder: Optional[nn.Linear] = None
        if cutoffs:
            self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(out_width, n_vocab, cutoffs, div_value=div_value)
        else:
            self.decoder = nn.Linear(out_width, n_vocab)
            if tie_weights:
                self.decoder.weight = self.embed.weight
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        with torch.no_grad():
            self.embed.weight[self.pad_id].zero_()

    def hidden(self, ids: torch.Tensor, state: Optional[State] = None) -> Tuple[torch.Tensor, State]:
        """ids (batch, seq_len) → output features (batch, seq_len, out_width) and the LSTM state.

        Rows are right-padded: the LSTM reads left to right, so a position's output never depends
        on padding after it nor on other rows.
        """
        x = self.drop(self.embed(ids))  # (batch, seq_len, embed_width)
        h, state = self.lstm(x, state)
        h = self.drop(h)  # (batch, seq_len, hidden_width)
        if self.proj is not None:
            h = self.proj(h)
        return h, state

    def row_features(self, ids: torch.Tensor, mask: torch.Tensor, group_sizes: Sequence[int]) -> torch.Tensor:
        """Softmax features (n, out_width) of the `mask` positions of right-padded `ids`, in row
        order, with the LSTM run over length groups of rows (see `run_rows`): the same values as
        `hidden(ids)[0][mask]`, for a fraction of the padding."""
        x = self.drop(self.embed(ids[mask]))  # (n, embed_width)
        h = self.drop(run_rows(self.lstm, x, mask.sum(1).tolist(), group_sizes))
        return self.proj(h) if self.proj is not None else h

    @property
    def state_width(self) -> int:
        """Width of `token_states`: the input embedding and the forward state."""
        return self.embed.embedding_dim + self.lstm.hidden_size

    def token_states(
        self, ids: torch.Tensor, targets: torch.Tensor, group_sizes: Optional[Sequence[int]] = None, logprobs: bool = False
    ):
        """Contextual features of every word (n_words, state_width), rows in row order (a row's
        words are ids[:, 1:] up to its length): the word's input embedding and the forward state
        after reading it (ELMo-style features for other components, see pipeline/listener.py).
        With `logprobs`, also the forward log-probs of the targets (batch, seq_len) from the same
        pass: a pipeline with listeners scores without running the LSTM a second time."""
        mask = targets != self.pad_id
        lens = mask.sum(1).tolist()
        emb = self.embed(ids[mask])
        h = run_rows(self.lstm, self.drop(emb), lens, list(group_sizes) if group_sizes else [len(lens)])
        word = mask.nonzero(as_tuple=True)[1] >= 1  # position 0 is <s>
        states = torch.cat([emb[word], h[word]], dim=-1)
        return (states, self.states_logprobs(h, targets, mask)) if logprobs else states

    def forward_features(self, h_fwd: torch.Tensor) -> torch.Tensor:
        """Forward states → the forward LM's softmax features (as `hidden`)."""
        h = self.drop(h_fwd)
        return self.proj(h) if self.proj is not None else h

    def states_logprobs(self, h_fwd: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Forward states at the `mask` positions (n, hidden) → float32 log P(target) (batch, seq_len)."""
        return scatter_rows(mask, self.rows_logprobs(self.forward_features(h_fwd), targets[mask]))

    def target_logprobs(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Features (n, width) and target ids (n,) → log P(target) (n,), without the full softmax.

        Softmaxes run in float32 whatever the precision of the matrix products (autocast), so a
        likely word keeps a log-prob below 0 and a rare one does not underflow.
        """
        if self.adaptive is None:
            logits = self.decoder(h).float()  # (n, vocab)
            return logits.gather(1, targets.unsqueeze(1)).squeeze(1) - torch.logsumexp(logits, dim=1)
        a = self.adaptive
        entry = head_entry(a, targets)
        out = head_logprobs(a, h).gather(1, entry.unsqueeze(1)).squeeze(1)
        for c in range(a.n_clusters):
            rows = (entry == a.shortlist_size + c).nonzero(as_tuple=True)[0]
            if rows.numel():
                tail_lp = F.log_softmax(a.tail[c](h[rows]).float(), dim=1)
                inner = (targets[rows] - a.cutoffs[c]).unsqueeze(1)
                out = out.index_add(0, rows, tail_lp.gather(1, inner).squeeze(1))
        return out

    def observed_logprobs(self, h: torch.Tensor, targets: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Features (batch, seq_len, width) → float32 log P(target) at the `mask` columns (default:
        not padding), 0.0 elsewhere (batch, seq_len)."""
        mask = (targets != self.pad_id) if mask is None else mask
        return scatter_rows(mask, self.rows_logprobs(h[mask], targets[mask]))

    def rows_logprobs(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Features (n, width), targets (n,) → float32 log P(target) (n,), in chunks."""
        if targets.shape[0] == 0:
            return torch.zeros((0,), dtype=torch.float32, device=targets.device)
        return torch.cat(
            [
                self.target_logprobs(h[i : i + TARGET_CHUNK_ROWS], targets[i : i + TARGET_CHUNK_ROWS]).float()
                for i in range(0, targets.shape[0], TARGET_CHUNK_ROWS)
            ]
        )

    def left_in(
        self, ids: torch.Tensor, targets: torch.Tensor, compute_dtype: Optional[torch.dtype] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """For inference: the softmax features of each target column from its left context
        (batch, seq_len, width), and the log-probs of the targets (batch, seq_len)."""
        with torch.autocast(ids.device.type, dtype=compute_dtype or torch.float32, enabled=compute_dtype is not None):
            h, _ = self.hidden(ids)
            return h, self.observed_logprobs(h, targets)

    def log_probs(self, h: torch.Tensor) -> torch.Tensor:
        """Features (n, width) → float32 log-probabilities over the whole vocabulary (n, vocab)."""
        if self.adaptive is None:
            return F.log_softmax(self.decoder(h).float(), dim=-1)
        a = self.adaptive
        head_lp = head_logprobs(a, h)
        parts = [head_lp[:, : a.shortlist_size]]
        for c in range(a.n_clusters):
            parts.append(F.log_softmax(a.tail[c](h).float(), dim=1) + head_lp[:, a.shortlist_size + c].unsqueeze(1))
        return torch.cat(parts, dim=1)

    def forward(
        self,
        ids: torch.Tensor,
        targets: torch.Tensor,
        n_samples: int = 0,
        temperature: float = 1.0,
        seeds: Optional[Sequence[int]] = None,
        compute_dtype: Optional[torch.dtype] = None,
        group_sizes: Optional[Sequence[int]] = None,
    ) -> Union[torch.Tensor, Outputs]:
        """ids, targets (batch, seq_len) → log P(targets) (batch, seq_len), 0.0 where target is padding.

        With `n_samples` > 0, also draws that many distinct alternative words per position from
        the model's distribution (never a special nor the observed word), each row with its own
        generator seeded by `seeds[row]`: ids and log-probs of shape (batch, seq_len, n_samples),
        in `Outputs`.
        `compute_dtype` (e.g. torch.bfloat16) runs the matrix products in that precision under
        autocast; outputs are float32 either way. `group_sizes`: see `run_rows`.
        """
        with torch.autocast(ids.device.type, dtype=compute_dtype or torch.float32, enabled=compute_dtype is not None):
            mask = targets != self.pad_id
            h_obs = self.row_features(ids, mask, group_sizes) if group_sizes else self.hidden(ids)[0][mask]
            t_obs = targets[mask]
            out = scatter_rows(mask, self.rows_logprobs(h_obs, t_obs))
            if n_samples <= 0:
                return out
            gens = [make_generator(seeds[row] if seeds is not None else 0, ids.device) for row in range(ids.shape[0])]
            drawn, drawn_lps = self._draw(h_obs, t_obs, out[mask], mask.sum(1).tolist(), gens, n_samples, temperature)
        return Outputs(out, *_unmask(mask, drawn, drawn_lps.float()))

    def _draw(
        self,
        h: torch.Tensor,
        targets: torch.Tensor,
        target_lps: torch.Tensor,
        lengths: List[int],
        gens: List[torch.Generator],
        n: int,
        temperature: float,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Alternatives for the observed rows `h` (rows, width), the rows of sequence k being the
        k-th `lengths[k]` rows: the rows go in chunks across sequences (big matrix products),
        each sequence's draws use only its own generator."""
        n = min(n, self.n_vocab - self.n_special - 1)
        hierarchical = self.adaptive is not None and temperature == 1.0 and self.adaptive.shortlist_size >= self.n_special
        ids = targets.new_zeros((h.shape[0], max(n, 0)))
        lps = torch.zeros((h.shape[0], max(n, 0)), device=h.device)
        if n <= 0:
            return ids, lps
        for lo, hi, pieces in _row_chunks(lengths, gens, ADAPTIVE_CHUNK_ROWS if hierarchical else CHUNK_ROWS):
            if hierarchical:
                ids[lo:hi], lps[lo:hi] = draw_distinct_adaptive(
                    self.adaptive, h[lo:hi], targets[lo:hi], target_lps[lo:hi], n, pieces, range(self.n_special)
                )
                continue
            full = self.log_probs(h[lo:hi]).float()  # (chunk, vocab)
            for start, end, gen in pieces:
                ids[lo + start : lo + end], lps[lo + start : lo + end] = draw_distinct(
                    full[start:end],
                    n,
                    exclude=range(self.n_special),
                    exclude_targets=targets[lo + start : lo + end],
                    temperature=temperature,
                    generator=gen,
                )
        return ids, lps

    def extra_repr(self) -> str:
        return f"n_vocab={self.n_vocab}, pad_id={self.pad_id}"


RNN_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class FastDropout(nn.Dropout):
    """`nn.Dropout` with its mask drawn as uniform numbers compared with `p`: the same
    distribution and scaling, and on CPU about 2.4× faster than the `bernoulli_` that
    `nn.Dropout` uses (measured: 4.3 vs 10.3 ms for a (100, 31, 384) tensor, 2 cores), which
    was 8 % of a training step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p >= 1.0:
            return x * 0.0
        keep = torch.rand(x.shape, device=x.device) >= self.p
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))


def scatter_rows(mask: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Values of the `mask` positions, in row order (n,) → float32 (batch, seq_len), 0.0 elsewhere."""
    out = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
    out[mask] = values
    return out


def run_rows(rnn: nn.RNNBase, x: torch.Tensor, lengths: Sequence[int], group_sizes: Sequence[int]) -> torch.Tensor:
    """Run `rnn` over sequences given as flat rows: `x` (sum(lengths), width) holds sequence k's
    `lengths[k]` inputs after those of sequences < k; `group_sizes` splits the sequences into
    consecutive groups, each padded to its own longest and run as one batch. Returns the states
    (sum(lengths), hidden) in the same order.

    With sequences sorted by length and groups whose lengths stay close, the network runs on
    little padding, while everything around it (embedding, dropout, softmax and their gradients)
    runs once on the real positions of the whole batch: sentence lengths have a long tail, and one
    padded batch spends about half of its steps on padding. Sequences never mix, so a sequence's
    states are the same whatever its group.
    """
    if sum(group_sizes) != len(lengths):
        raise ValueError(f"group sizes cover {sum(group_sizes)} sequences, there are {len(lengths)}")
    pieces, seq, offset = [], 0, 0
    for size in group_sizes:
        group = list(lengths[seq : seq + size])
        seq += size
        n = sum(group)
        if n == 0:
            continue
        cut = max(group)
        mask = torch.arange(cut).unsqueeze(0) < torch.tensor(group).unsqueeze(1)  # (size, cut)
        mask = mask.to(x.device)
        padded = x.new_zeros((size, cut, x.shape[1])).index_put((mask,), x[offset : offset + n])
        h, _ = rnn(padded)
        pieces.append(h[mask])
        offset += n
    if not pieces:
        return x.new_zeros((0, rnn.hidden_size))
    return torch.cat(pieces)


def make_rnn(cell: str, input_width: int, hidden_width: int, depth: int, dropout: float) -> nn.RNNBase:
    """A stack of `depth` recurrent layers (nn.LSTM or nn.GRU), batch first."""
    if cell not in RNN_CELLS:
        raise ValueError(f"cell must be one of {sorted(RNN_CELLS)}, not {cell!r}")
    return RNN_CELLS[cell](input_width, hidden_width, depth, dropout=dropout if depth > 1 else 0.0, batch_first=True)


def _unmask(mask: torch.Tensor, values: torch.Tensor, lps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rows of the observed positions back into (batch, seq_len, width) tensors (zeros at padding)."""
    ids = values.new_zeros((*mask.shape, values.shape[1]))
    out = lps.new_zeros((*mask.shape, lps.shape[1]))
    ids[mask], out[mask] = values, lps
    return ids, out


def _row_chunks(
    lengths: List[int], gens: List[torch.Generator], max_rows: int
) -> Iterator[Tuple[int, int, List[Segment]]]:
    """Consecutive rows [lo, hi) of at most `max_rows` (whole sequences where they fit, a long
    sequence in pieces), with each sequence's row range inside the chunk and its generator."""
    lo, pieces, offset = 0, [], 0
    for length, gen in zip(lengths, gens):
        for start in range(offset, offset + length, max_rows):
            end = min(start + max_rows, offset + length)
            if pieces and end - lo > max_rows:
                yield lo, start, pieces
                lo, pieces = start, []
            pieces.append((start - lo, end - lo, gen))
        offset += length
    if pieces:
        yield lo, offset, pieces


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__: List[str] = ["LSTMLanguageModel", "count_parameters", "make_rnn"]
