"""The two-direction language model: the forward LM of `LSTMLanguageModel`, a right-to-left
network beside it, and a fill-in head that predicts a word from both of its sides.

Knows nothing of spaCy or thinc. In the spirit of context2vec (Melamud et al. 2016) and ELMo
(Peters et al. 2018): the word at position t is predicted from the forward state after w<t and
the backward state after w>t, through the same adaptive softmax as the forward LM (one set of
output word embeddings, one shared input embedding). The forward LM alone gives the sentence
probability P(w_t | w<t) used by every score; the fill-in distribution P(w_t | w<t, w>t) serves
substitutes and spelling correction, and the backward network runs only when they are asked for.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from .lstm_lm import LSTMLanguageModel, make_rnn, run_rows, scatter_rows


class TrainOutputs(NamedTuple):
    """Training outputs, both (batch, seq_len) and 0.0 where there is nothing to predict."""

    logprobs: torch.Tensor  # forward: log P(target_j | ids_<=j)
    # fill-in: log P(target_j | both sides) / fill_share at the sampled word columns, 0 elsewhere
    # (an unbiased estimate of the full sum: the loss keeps its scale whatever the share)
    fill_logprobs: torch.Tensor


class BiLSTMLanguageModel(LSTMLanguageModel):
    """Forward LM + backward network + fill-in head over a closed vocabulary of `n_vocab` ids.

    Sequences come as in `LSTMLanguageModel.forward`: `ids` = [<s>, w1 … wn] and `targets` =
    [w1 … wn, </s>], right-padded. Column j of the fill-in outputs predicts `targets[:, j]` (a
    word, never the final </s>) from the forward state after ids[:, :j+1] and the backward state
    after the targets right of it.
    """

    def __init__(
        self,
        n_vocab: int,
        *,
        backward_width: int = 0,
        fill_width: int = 0,
        fill_share: float = 1.0,
        fill_detach: bool = False,
        **settings,
    ):
        super().__init__(n_vocab, **settings)
        if not 0.0 < fill_share <= 1.0:
            raise ValueError(f"fill_share must be in (0, 1], not {fill_share}")
        # Share of the words whose fill-in loss a training pass computes (a random subset each
        # pass): the fill-in softmax is a large part of a step, and neighbouring positions share
        # most of their context, so a subset teaches nearly as much for less time.
        self.fill_share = fill_share
        # With fill_detach, the fill-in loss trains the backward network, the fill-in head and the
        # shared softmax, but not the embedding nor the forward LSTM, which then learn from the
        # forward LM's loss alone (every score is the forward LM's); the fill-in head reads the
        # forward states as they are.
        self.fill_detach = fill_detach
        if self.decoder is not None and self.decoder.weight is self.embed.weight:
            raise ValueError("tie_weights is not supported by the two-direction model")
        embed_width = self.embed.embedding_dim
        hidden_width, depth = self.lstm.hidden_size, self.lstm.num_layers
        cell = "gru" if isinstance(self.lstm, nn.GRU) else "lstm"
        dropout = self.drop.p
        backward_width = backward_width or hidden_width
        self.backward_rnn = make_rnn(cell, embed_width, backward_width, depth, dropout)
        out_width = self.proj.out_features if self.proj is not None else hidden_width
        # The fill-in head: [forward state; backward state] → a hidden layer → softmax features.
        fill_width = fill_width or hidden_width
        self.fill = nn.Sequential(
            nn.Linear(hidden_width + backward_width, fill_width), nn.Tanh(), nn.Linear(fill_width, out_width)
        )

    # -- the two sides ----------------------------------------------------------------------------

    def both_sides(
        self, ids: torch.Tensor, targets: torch.Tensor, group_sizes: Optional[Sequence[int]] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw states of both networks at the target positions (`targets != pad`, in row order),
        with the rows run in length groups (`group_sizes`, see `run_rows`; default: one group).

        RETURNS: forward states (n, hidden) (position j of a row has read ids[:, :j+1]), backward
        states (n, backward_hidden) (position j has read the targets right of j, from the end),
        and which of the n positions the fill-in head predicts (n,) (words, not the final </s>).
        """
        mask = targets != self.pad_id
        lengths = mask.sum(1)  # (batch,) words + </s>
        groups = list(group_sizes) if group_sizes else [len(lengths)]
        h_fwd = run_rows(self.lstm, self.drop(self.embed(ids[mask])), lengths.tolist(), groups)
        h_rev = self._reversed_states(targets, mask, lengths, groups, detach=self.fill_detach)
        # With L = a row's length: position j's right context targets[j+1:L] is rev[:L-1-j], whose
        # last state is the row's reversed position L - 2 - j.
        rows, pos = mask.nonzero(as_tuple=True)
        row_len = lengths[rows]
        starts = torch.cumsum(lengths, 0) - lengths
        h_bwd = h_rev[starts[rows] + (row_len - 2 - pos).clamp_min(0)]
        return h_fwd, h_bwd, pos < row_len - 1

    def _reversed_states(
        self, targets: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor, groups: List[int], detach: bool = False
    ) -> torch.Tensor:
        """The backward network over each row reversed within its own length (</s>, wn, …, w1:
        it never sees padding or another row): states (n, backward_hidden) in row order, position
        k of a row having read its last k + 1 targets."""
        cols = torch.arange(targets.shape[1], device=targets.device).unsqueeze(0)  # (1, seq_len)
        rev = targets.gather(1, (lengths.unsqueeze(1) - 1 - cols).clamp_min(0))
        rev_emb = self.embed(rev[mask])
        return run_rows(self.backward_rnn, self.drop(rev_emb.detach() if detach else rev_emb), lengths.tolist(), groups)

    @property
    def state_width(self) -> int:
        """Width of `token_states`: the input embedding, the forward and the backward state."""
        return super().state_width + self.backward_rnn.hidden_size

    def token_states(
        self, ids: torch.Tensor, targets: torch.Tensor, group_sizes: Optional[Sequence[int]] = None, logprobs: bool = False
    ):
        """Contextual features of every word (n_words, state_width), rows in row order: the input
        embedding, the forward state after reading the word, the backward state after reading it
        (from the end of the sentence), as ELMo's token representations. With `logprobs`, also
        the forward log-probs of the targets from the same pass (see `LSTMLanguageModel`)."""
        mask = targets != self.pad_id
        lengths = mask.sum(1)
        groups = list(group_sizes) if group_sizes else [len(lengths)]
        emb = self.embed(ids[mask])
        h_fwd = run_rows(self.lstm, self.drop(emb), lengths.tolist(), groups)
        h_rev = self._reversed_states(targets, mask, lengths, groups)
        rows, pos = mask.nonzero(as_tuple=True)
        word = pos >= 1  # position 0 is <s>
        rows, pos = rows[word], pos[word]
        # With L = a row's length, the word at position j (1 <= j < L) is the row's reversed
        # position L - j: that state has read the sentence from its end back to the word.
        starts = torch.cumsum(lengths, 0) - lengths
        h_bwd = h_rev[starts[rows] + lengths[rows] - pos]
        states = torch.cat([emb[word], h_fwd[word], h_bwd], dim=-1)
        return (states, self.states_logprobs(h_fwd, targets, mask)) if logprobs else states

    def fill_features(self, h_fwd: torch.Tensor, h_bwd: torch.Tensor) -> torch.Tensor:
        """Forward and backward states (…, hidden) → the fill-in head's softmax features (…, width)."""
        return self.fill(self.drop(torch.cat([h_fwd, h_bwd], dim=-1)))

    def fill_in(
        self, ids: torch.Tensor, targets: torch.Tensor, compute_dtype: Optional[torch.dtype] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The fill-in side for inference: features of every word column (batch, seq_len, width),
        the mask of those columns, and the forward log-probs of the targets (batch, seq_len) from
        the same pass."""
        with torch.autocast(ids.device.type, dtype=compute_dtype or torch.float32, enabled=compute_dtype is not None):
            mask = targets != self.pad_id
            h_fwd, h_bwd, fill_rows = self.both_sides(ids, targets)
            fill_mask = torch.zeros_like(mask)
            fill_mask[mask] = fill_rows
            rows_feats = self.fill_features(h_fwd[fill_rows], h_bwd[fill_rows])
            feats = rows_feats.new_zeros((*targets.shape, rows_feats.shape[1]))
            feats[fill_mask] = rows_feats
            fwd_lps = self.states_logprobs(h_fwd, targets, mask)
        return feats, fill_mask, fwd_lps

    def forward(
        self, ids: torch.Tensor, targets: torch.Tensor, fill: bool = False, group_sizes: Optional[Sequence[int]] = None, **kwargs
    ):
        """With `fill`, the training pass of both objectives: `TrainOutputs` (forward and fill-in
        log-probs of the targets). Otherwise the forward LM alone, exactly as
        `LSTMLanguageModel.forward` (the backward network is not run). `group_sizes`: the rows
        run in length groups (see `run_rows`)."""
        if not fill:
            return super().forward(ids, targets, group_sizes=group_sizes, **kwargs)
        compute_dtype = kwargs.get("compute_dtype")
        with torch.autocast(ids.device.type, dtype=compute_dtype or torch.float32, enabled=compute_dtype is not None):
            mask = targets != self.pad_id
            observed = targets[mask]
            h_fwd, h_bwd, fill_rows = self.both_sides(ids, targets, group_sizes)
            fwd = self.states_logprobs(h_fwd, targets, mask)
            if self.training and self.fill_share < 1.0:
                fill_rows = fill_rows & (torch.rand(fill_rows.shape, device=fill_rows.device) < self.fill_share)
            fill_lps = torch.zeros(observed.shape, dtype=torch.float32, device=targets.device)
            if fill_rows.any():
                left = h_fwd.detach() if self.fill_detach else h_fwd
                feats = self.fill_features(left[fill_rows], h_bwd[fill_rows])  # (n_sampled, width)
                fill_lps[fill_rows] = self.rows_logprobs(feats, observed[fill_rows]) / self.fill_share
        return TrainOutputs(fwd, scatter_rows(mask, fill_lps))


__all__: List[str] = ["BiLSTMLanguageModel", "TrainOutputs"]
