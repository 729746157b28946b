"""The language model as a plain `torch.nn.Module`: embedding → multi-layer LSTM → output layer.

Knows nothing of spaCy or thinc. The output layer is either a full softmax (optionally tied to the
embedding) or an adaptive softmax (Grave et al. 2017): frequent words in a head, rare words in
clusters behind smaller projections, which removes most of the cost of a 30k-word softmax. Both
give the exact log-probability of an observed word cheaply; the full distribution over the
vocabulary is only computed where it is asked for (drawing alternatives, generation).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from ...sampling import draw_distinct, make_generator

State = Tuple[torch.Tensor, torch.Tensor]
# Rows of the (rows, vocab) full distribution computed at once: bounds memory on long sequences.
CHUNK_ROWS = 256
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
    ):
        super().__init__()
        if tie_weights and cutoffs:
            raise ValueError("tie_weights needs a full softmax: set cutoffs to an empty list")
        cutoffs = [c for c in cutoffs if 0 < c < n_vocab - 1]
        self.n_vocab = n_vocab
        self.pad_id = pad_id
        self.n_special = n_special
        self.embed = nn.Embedding(n_vocab, embed_width, padding_idx=pad_id)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed_width, hidden_width, depth, dropout=dropout if depth > 1 else 0.0, batch_first=True)
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
        on padding after it nor on other rows (packing would add nothing but CPU time).
        """
        x = self.drop(self.embed(ids))  # (batch, seq_len, embed_width)
        h, state = self.lstm(x, state)
        h = self.drop(h)  # (batch, seq_len, hidden_width)
        if self.proj is not None:
            h = self.proj(h)
        return h, state

    def target_logprobs(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Features (n, width) and target ids (n,) → log P(target) (n,), without the full softmax."""
        if self.adaptive is not None:
            return self.adaptive(h, targets).output
        logits = self.decoder(h)  # (n, vocab)
        return logits.gather(1, targets.unsqueeze(1)).squeeze(1) - torch.logsumexp(logits, dim=1)

    def log_probs(self, h: torch.Tensor) -> torch.Tensor:
        """Features (n, width) → log-probabilities over the whole vocabulary (n, vocab)."""
        if self.adaptive is not None:
            return self.adaptive.log_prob(h)
        return F.log_softmax(self.decoder(h), dim=-1)

    def forward(
        self,
        ids: torch.Tensor,
        targets: torch.Tensor,
        n_samples: int = 0,
        temperature: float = 1.0,
        seeds: Optional[Sequence[int]] = None,
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """ids, targets (batch, seq_len) → log P(targets) (batch, seq_len), 0.0 where target is padding.

        With `n_samples` > 0, also draws that many distinct alternative words per position from
        the model's distribution (never a special nor the observed word), each row with its own
        generator seeded by `seeds[row]`: ids and log-probs of shape (batch, seq_len, n_samples).
        """
        h, _ = self.hidden(ids)
        mask = targets != self.pad_id
        out = h.new_zeros(targets.shape)
        if bool(mask.any()):
            h_obs, t_obs = h[mask], targets[mask]
            out[mask] = torch.cat(
                [
                    self.target_logprobs(h_obs[i : i + TARGET_CHUNK_ROWS], t_obs[i : i + TARGET_CHUNK_ROWS])
                    for i in range(0, t_obs.shape[0], TARGET_CHUNK_ROWS)
                ]
            )
        if n_samples <= 0:
            return out
        sample_ids = targets.new_zeros((*targets.shape, n_samples))
        sample_lps = h.new_zeros((*targets.shape, n_samples))
        for row in range(ids.shape[0]):
            gen = make_generator(seeds[row] if seeds is not None else 0, h.device)
            n_pos = int(mask[row].sum())
            for start in range(0, n_pos, CHUNK_ROWS):
                end = min(start + CHUNK_ROWS, n_pos)
                lps = self.log_probs(h[row, start:end])  # (chunk, vocab)
                drawn, drawn_lps = draw_distinct(
                    lps,
                    n_samples,
                    exclude=range(self.n_special),
                    exclude_targets=targets[row, start:end],
                    temperature=temperature,
                    generator=gen,
                )
                sample_ids[row, start:end, : drawn.shape[1]] = drawn
                sample_lps[row, start:end, : drawn.shape[1]] = drawn_lps.to(h.dtype)
        return out, sample_ids, sample_lps

    def extra_repr(self) -> str:
        return f"n_vocab={self.n_vocab}, pad_id={self.pad_id}"


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__: List[str] = ["LSTMLanguageModel", "count_parameters"]
