"""Prediction for the `rnnlm` component: docs → units → forward scores, substitutes, corrections.

Given a `Context` (the network, the vocabulary's tables and the call's settings; see context.py)
and returns plain `Unit` records; the component writes them to the docs. Only the forward LM runs unless
substitutes or correction need the context features, or listeners the token states. Results do not depend on the batch:
sequences are right-padded (padding never reaches a position's output) and each sentence draws
with its own generator, seeded from its text.
"""
import functools
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy
import torch
from spacy.tokens import Doc

from ..models.wrapper import LMBatch, pad_sequences
from ..pieces import Pieces, pieces_logprobs
from ..sampling import make_generator
from ..spelling import SpellingModel
from ..vocab import UNK_ID
from .context import Context
from .fill import PoolLogprobs, context_features, precision
from .states import predict_states
from .substitutes import draw_substitutes, word_meanings
from .units import Unit, encode, length_batches, sequence_units, unit_seed


def predict_units(ctx: Context, docs: Sequence[Doc], states: bool = False) -> List[List[Unit]]:
    """The scored units of each doc, with alternatives and corrections as configured, and with
    `states` their words' token states (for listeners)."""
    settings = ctx.settings
    per_doc = [[Unit(unit) for unit in sequence_units(doc)] for doc in docs]
    units, words = [], []
    for doc, doc_units in zip(docs, per_doc):
        texts = [t.text for t in doc]  # one pass over the doc, not a Token object per lookup
        for unit in doc_units:
            units.append(unit)
            words.append([texts[i] for i in unit.token_ids])
    for unit, ws in zip(units, words):
        unit.ids = encode(ctx.vocab, ws)
        unit.spelling = [None] * len(ws)
    if ctx.spelling is not None:
        unknown_word_logprobs(ctx.spelling, ctx.pieces, units, words, functools.partial(chosen_logprobs, ctx))
    module, ops = ctx.module, ctx.model.ops
    if states:
        predict_states(module, units, batch_tokens=settings.batch_tokens, compute_dtype=settings.compute_dtype, ops=ops)
    both_sides = ctx.has_fill_in
    substitutes = settings.n_alternatives > 0 and settings.alternatives_context == "both" and both_sides
    if not (substitutes or settings.detect_odd):
        if not states or settings.n_alternatives > 0:  # the states' pass has scored the units already
            score_forward(ctx, units, words, draw=settings.n_alternatives > 0)
        return per_doc
    feats = context_features(
        module, units, both_sides=both_sides, batch_tokens=settings.batch_tokens, compute_dtype=settings.compute_dtype, ops=ops
    )
    if settings.n_alternatives and not substitutes:
        score_forward(ctx, units, words, draw=True)  # "left": continuations
    if substitutes:
        _substitutes(ctx, units, words, feats)
    if settings.detect_odd:
        correct_units(ctx, units, words, feats)
    return per_doc


def correct_units(ctx: Context, units: List[Unit], words: List[List[str]], feats: List[torch.Tensor]) -> None:
    """Corrections of each unit, in up to `odd_rounds` rounds: a sentence corrected in one round
    is rescored with its corrections in place and looked at again (its corrected words stay as
    they are), so a sentence with two slips can come back clean."""
    module, dtype = ctx.module, ctx.settings.compute_dtype
    corrector, segment = ctx.corrector, ctx.segmenter
    if corrector is None:
        raise ValueError("correct_units needs a Context with a corrector (detect_odd)")
    frozen: List[Set[int]] = [set() for _ in units]
    # per unit, what each position of its current words stands for: [start, end) of the original
    spans: List[List[Tuple[int, int]]] = [[(p, p + 1) for p in range(len(ws))] for ws in words]
    current, current_words, active = list(units), list(words), list(range(len(units)))
    for round_ in range(ctx.settings.odd_rounds):
        with torch.inference_mode(), precision(next(module.parameters()).device, dtype):
            corrector(
                current,
                current_words,
                lambda pairs: PoolLogprobs(module, torch.stack([feats[k][p] for k, p in pairs]), dtype),
                lambda texts, given: text_logprobs(ctx, texts, given),
                frozen=[frozen[k] for k in active],
                segment=segment,
            )
        # round 0 wrote to the units themselves; a later round's stand-ins map back to them
        for j, k in enumerate(active if round_ > 0 else ()):
            unit = current[j]
            for p, odd in enumerate(unit.odd):  # type: ignore[arg-type]
                start, end = spans[k][p]
                if odd is not None and (units[k].odd[start] is None or odd[0] > units[k].odd[start][0]):  # type: ignore[index]
                    for q in range(start, end):
                        units[k].odd[q] = odd  # type: ignore[index]
            for start, end, replacement, gain in unit.edits:
                units[k].edits.append((spans[k][start][0], spans[k][end - 1][1], replacement, gain))
            units[k].edits.sort()
        changed = [(k, current[j], current_words[j]) for j, k in enumerate(active) if current[j].edits]
        if not changed or round_ + 1 == ctx.settings.odd_rounds:
            break
        # the next round: the changed units with their corrections in place
        active, current, current_words = [], [], []
        for k, unit, ws in changed:
            new_words, new_spans, new_frozen = [], [], set()
            edits = {start: (end, replacement) for start, end, replacement, _ in unit.edits}
            p = 0
            while p < len(ws):
                if p in edits:
                    end, replacement = edits[p]
                    for word in replacement:
                        new_frozen.add(len(new_words))
                        new_words.append(word)
                        new_spans.append((spans[k][p][0], spans[k][end - 1][1]))
                    p = end
                else:
                    if p in frozen[k]:
                        new_frozen.add(len(new_words))
                    new_words.append(ws[p])
                    new_spans.append(spans[k][p])
                    p += 1
            shadow = Unit(list(range(len(new_words))), ids=encode(ctx.vocab, new_words), spelling=[None] * len(new_words))
            active.append(k)
            current.append(shadow)
            current_words.append(new_words)
            spans[k], frozen[k] = new_spans, new_frozen
        if ctx.spelling is not None:
            unknown_word_logprobs(ctx.spelling, ctx.pieces, current, current_words, functools.partial(chosen_logprobs, ctx))
        feats = context_features(
            module, current, both_sides=ctx.has_fill_in, batch_tokens=ctx.settings.batch_tokens, compute_dtype=dtype, ops=ctx.model.ops
        )


def score_forward(ctx: Context, units: List[Unit], words: List[List[str]], draw: bool) -> None:
    """Forward log-probs of each unit through the thinc model; with `draw`, left-context
    alternatives drawn exactly from P(w | w<t) (through the adaptive softmax's levels)."""
    seqs = [unit.ids for unit in units]
    ops = ctx.model.ops
    for batch in length_batches(seqs, ctx.settings.batch_tokens):
        output = ctx.model.predict(
            LMBatch(
                [seqs[i] for i in batch],
                n_samples=ctx.settings.n_alternatives if draw else 0,
                temperature=ctx.settings.temperature,
                seeds=[unit_seed(ctx.settings.seed, words[i]) for i in batch],
                compute_dtype=ctx.settings.compute_dtype,
            )
        )
        for j, i in enumerate(batch):
            unit = units[i]
            unit.logprobs = ops.to_numpy(output.logprobs[j])
            if draw:
                unit.alt_ids = ops.to_numpy(output.sample_ids[j])[:-1]
                unit.alt_probs = numpy.exp(ops.to_numpy(output.sample_logprobs[j])[:-1])


def unknown_word_logprobs(
    spelling: SpellingModel,
    pieces: Pieces,
    units: List[Unit],
    words: List[List[str]],
    score: Callable[[List[List[int]], List[List[int]]], List[Sequence[float]]],
    given: Optional[Sequence[Dict[int, float]]] = None,
) -> None:
    """Each unknown word's log P_spell into `unit.spelling` and, where it has vocabulary pieces,
    its pieces path into `unit.pieces` (see spacy_rnnlm/pieces.py; `Unit.fold_pieces` adds them
    once P(<unk> | context) is known). `score` gives the forward log-probs of chosen predictions
    of id sequences (one call for all units; see `chosen_logprobs`). `given[k]`: unknown words
    of unit k whose log Q is known already (by position), taken as they are."""
    splits: List[Dict[int, List[int]]] = []
    for k, (unit, ws) in enumerate(zip(units, words)):
        unit_splits = {}
        for pos in numpy.flatnonzero(unit.ids[1:-1] == UNK_ID).tolist():
            if given is not None and pos in given[k]:
                unit.spelling[pos] = given[k][pos]  # type: ignore[index]
                continue
            unit.spelling[pos] = spelling.logprob(ws[pos])  # type: ignore[index]
            split = pieces.split(ws[pos])
            if split is not None:
                unit_splits[pos] = split
        splits.append(unit_splits)
    composed = pieces_logprobs([unit.ids.tolist() for unit in units], splits, score)  # type: ignore[union-attr]
    for unit, unit_splits, unit_composed in zip(units, splits, composed):
        if unit_splits:
            unit.splits = unit_splits
            unit.pieces = [None] * len(unit.spelling)  # type: ignore[arg-type]
            for pos, split in unit_splits.items():
                unit.pieces[pos] = pieces.path_logprob(unit_composed.get(pos), len(split))


def chosen_logprobs(ctx: Context, seqs: Sequence[Sequence[int]], wanted: Sequence[Sequence[int]]) -> List[List[float]]:
    """Forward log-probs of the predictions `wanted[i]` (indices) of each id sequence `seqs[i]`:
    the LSTM runs over the whole sequence, the softmax only where asked (the pieces of unknown
    words are a few of a sentence's positions)."""
    module = ctx.module
    device = next(module.parameters()).device
    dtype = ctx.settings.compute_dtype
    out: List[List[float]] = [[] for _ in seqs]
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode(), precision(device, dtype):
            for batch in length_batches(seqs, ctx.settings.batch_tokens):
                ids, targets = pad_sequences([numpy.asarray(seqs[i], dtype="int64") for i in batch], ctx.model.ops)
                h, _ = module.hidden(ids.to(device))
                rows = torch.tensor([j for j, i in enumerate(batch) for _ in wanted[i]], dtype=torch.long)
                cols = torch.tensor([c for i in batch for c in wanted[i]], dtype=torch.long)
                lps = module.rows_logprobs(h[rows.to(device), cols.to(device)], targets[rows, cols].to(device)).tolist()
                at = 0
                for i in batch:
                    out[i] = lps[at : at + len(wanted[i])]
                    at += len(wanted[i])
    finally:
        module.train(was_training)
    return out


def text_logprobs(ctx: Context, texts: List[List[str]], given: Optional[Sequence[Dict[int, float]]] = None) -> List[float]:
    """Open-vocabulary forward log-prob of each word sequence (its words and its end; unknown
    words through both of their paths, as `Doc._.lm_logprob` counts them). `given[k]`: log Q of
    unknown words of text k known already (see `unknown_word_logprobs`)."""
    units = [Unit(list(range(len(ws))), ids=encode(ctx.vocab, ws), spelling=[None] * len(ws)) for ws in texts]
    if ctx.spelling is not None:
        unknown_word_logprobs(ctx.spelling, ctx.pieces, units, texts, functools.partial(chosen_logprobs, ctx), given)
    score_forward(ctx, units, texts, draw=False)
    return [unit.total_logprob() for unit in units]


def _substitutes(ctx: Context, units: List[Unit], words: List[List[str]], feats: List[torch.Tensor]) -> None:
    """Substitutes from both sides for every word (see substitutes.py)."""
    if not units:
        return
    module = ctx.module
    device = feats[0].device
    flat_ids = numpy.concatenate([unit.ids[1:-1] for unit in units])
    originals = torch.as_tensor(flat_ids, device=device)
    flat_words = [w for ws in words for w in ws]
    meanings, parts = word_meanings(module, flat_ids.tolist(), flat_words, ctx.vocab)
    unknown_synonyms = None
    if ctx.tables.thesaurus is not None and ctx.tables.thesaurus.unknown:
        unknown_synonyms = ctx.tables.thesaurus.of_words([w if i == UNK_ID else None for i, w in zip(flat_ids.tolist(), flat_words)], device)
    ids, probs = draw_substitutes(
        module,
        torch.cat(feats),
        originals,
        [len(unit.token_ids) for unit in units],
        [make_generator(unit_seed(ctx.settings.seed, ws), device) for ws in words],
        n=ctx.settings.n_alternatives,
        pool=ctx.settings.alternatives_pool,
        temperature=ctx.settings.temperature,
        similarity=ctx.settings.alternatives_similarity,
        synonym_bonus=ctx.settings.alternatives_synonym_bonus,
        thesaurus=ctx.tables.thesaurus,
        compute_dtype=ctx.settings.compute_dtype,
        meanings=meanings,
        parts=parts,
        min_p=ctx.settings.alternatives_min_p,
        function=ctx.tables.function_words(device),
        unknown_synonyms=unknown_synonyms,
    )
    ids, probs = ids.cpu().numpy(), probs.cpu().numpy()
    start = 0
    for unit in units:
        end = start + len(unit.token_ids)
        unit.alt_ids, unit.alt_probs = ids[start:end], probs[start:end]
        start = end


def has_native_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix products are fast here (emulated bf16 on older CPUs is slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False
