"""Turning a next-word distribution into draws: temperature, top-k and top-p filters, then
`torch.multinomial` with an explicit, seeded `torch.Generator`.

Sampling instead of always taking the most likely word keeps the diversity of language.
Each filter is a small validated step on natural-log probabilities of shape (n, vocab).
"""
from typing import Iterable, Optional, Tuple

import torch

from .errors import Errors


def check_temperature(temperature: float, *, allow_zero: bool = True) -> float:
    if not isinstance(temperature, (int, float)) or temperature < 0 or (temperature == 0 and not allow_zero):
        expected = "a number >= 0 (0 = greedy)" if allow_zero else "a number > 0"
        raise ValueError(Errors.E005.format(name="temperature", value=temperature, expected=expected))
    return float(temperature)


def check_top_k(top_k: int) -> int:
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
        raise ValueError(Errors.E005.format(name="top_k", value=top_k, expected="an integer >= 0 (0 = off)"))
    return top_k


def check_top_p(top_p: float) -> float:
    if not isinstance(top_p, (int, float)) or not 0.0 < top_p <= 1.0:
        raise ValueError(Errors.E005.format(name="top_p", value=top_p, expected="a number in (0, 1] (1 = off)"))
    return float(top_p)


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A generator of its own for one draw, so draws do not depend on anything else in the process."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed % (2**63))
    return gen


def apply_temperature(logprobs: torch.Tensor, temperature: float) -> torch.Tensor:
    return logprobs / temperature if temperature != 1.0 else logprobs


def apply_top_k(logprobs: torch.Tensor, top_k: int) -> torch.Tensor:
    """Keep the `top_k` most likely entries of each row (0 = keep all)."""
    if top_k <= 0 or top_k >= logprobs.shape[-1]:
        return logprobs
    kth = torch.topk(logprobs, top_k, dim=-1).values[..., -1:]
    return logprobs.masked_fill(logprobs < kth, float("-inf"))


def apply_top_p(logprobs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely entries whose probability reaches `top_p` (1 = keep all)."""
    if top_p >= 1.0:
        return logprobs
    sorted_lp, order = torch.sort(logprobs, dim=-1, descending=True)
    cum = torch.softmax(sorted_lp, dim=-1).cumsum(dim=-1)
    # Drop an entry when the mass before it already reaches top_p; the first entry always stays.
    drop_sorted = (cum - torch.softmax(sorted_lp, dim=-1)) >= top_p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logprobs.masked_fill(drop, float("-inf"))


def draw_distinct(
    logprobs: torch.Tensor,
    n: int,
    *,
    exclude: Iterable[int] = (),
    exclude_targets: Optional[torch.Tensor] = None,
    temperature: float = 1.0,
    generator: Optional[torch.Generator] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Draw `n` distinct ids per row of `logprobs` (rows, vocab) with `torch.multinomial`.

    `exclude` ids (specials) and each row's `exclude_targets` id (the observed word) are never
    drawn. Returns the ids (rows, n) and their untempered log-probabilities (rows, n).

    The draws follow sampling without replacement exactly: the first `n` distinct words of a
    sequence of independent draws are distributed as `multinomial(replacement=False)`, which
    however spends one random number per vocabulary entry. Here each round draws `4 * n` words
    with replacement per row (a few random numbers), keeps the new distinct ones in order, and
    zeroes them out; rows still short continue the same sequence in another round.
    """
    rows, n_vocab = logprobs.shape
    exclude = list(exclude)
    n = min(n, n_vocab - len(exclude) - (1 if exclude_targets is not None else 0))
    if n <= 0 or rows == 0:
        return logprobs.new_zeros((rows, 0), dtype=torch.long), logprobs.new_zeros((rows, 0))
    probs = torch.softmax(apply_temperature(logprobs, temperature), dim=-1)
    # A floor keeps every allowed word drawable even when a low temperature underflows it to 0.
    probs = probs + 1e-12
    if exclude:
        probs[:, exclude] = 0.0
    if exclude_targets is not None:
        probs.scatter_(1, exclude_targets.unsqueeze(1), 0.0)
    m = 4 * n
    earlier = torch.ones(m, m, dtype=torch.bool, device=probs.device).tril(-1)
    ids = torch.zeros((rows, n), dtype=torch.long, device=probs.device)
    filled = torch.zeros(rows, dtype=torch.long, device=probs.device)
    active = torch.arange(rows, device=probs.device)
    while active.numel():
        draws = torch.multinomial(probs[active], m, replacement=True, generator=generator)  # (active, m)
        first = ~((draws.unsqueeze(2) == draws.unsqueeze(1)) & earlier).any(2)  # first occurrences
        rank = first.cumsum(1)
        take = first & (rank <= (n - filled[active]).unsqueeze(1))
        r, c = take.nonzero(as_tuple=True)
        target_rows = active[r]
        ids[target_rows, filled[target_rows] + rank[r, c] - 1] = draws[r, c]
        probs[target_rows, draws[r, c]] = 0.0  # drawn words are not drawn again
        filled[active] += take.sum(1)
        active = active[filled[active] < n]
    return ids, logprobs.gather(1, ids)
