"""Prediction for the `rnnlm` component: docs → units → forward scores, substitutes, corrections.

Reads the component's settings at call time (they may be changed after loading) and returns plain
`Unit` records; the component writes them to the docs. Only the forward LM runs unless
substitutes or correction need the context features, or listeners the token states. Results do not depend on the batch:
sequences are right-padded (padding never reaches a position's output) and each sentence draws
with its own generator, seeded from its text.
"""
import functools
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy
import torch
from spacy.tokens import Doc

from ..models.architectures import torch_module
from ..models.wrapper import LMBatch, pad_sequences
from ..pieces import Pieces, pieces_logprobs
from ..sampling import make_generator
from ..spelling import SpellingModel
from ..vocab import UNK_ID
from .correction import Segmenter
from .fill import PoolLogprobs, context_features, precision
from .states import predict_states
from .substitutes import draw_substitutes, word_meanings
from .units import Unit, encode, length_batches, sequence_units, unit_seed

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.lm import RNNLM


def predict_units(lm: "RNNLM", docs: Sequence[Doc], states: bool = False) -> List[List[Unit]]:
    """The scored units of each doc, with alternatives and corrections as configured, and with
    `states` their words' token states (for listeners)."""
    vocab = lm.lm_vocab
    per_doc = [[Unit(unit) for unit in sequence_units(doc)] for doc in docs]
    units, words = [], []
    for doc, doc_units in zip(docs, per_doc):
        texts = [t.text for t in doc]  # one pass over the doc, not a Token object per lookup
        for unit in doc_units:
            units.append(unit)
            words.append([texts[i] for i in unit.token_ids])
    for unit, ws in zip(units, words):
        unit.ids = encode(vocab, ws)
        unit.spelling = [None] * len(ws)
    if lm.spelling is not None:
        unknown_word_logprobs(lm.spelling, lm.pieces(), units, words, functools.partial(chosen_logprobs, lm))
    module = torch_module(lm.model)
    if states:
        predict_states(module, units, batch_tokens=lm.batch_tokens, compute_dtype=lm.compute_dtype(), ops=lm.model.ops)
    both_sides = lm.has_fill_in
    substitutes = lm.n_alternatives > 0 and lm.alternatives_context == "both" and both_sides
    if not (substitutes or lm.detect_odd):
        if not states or lm.n_alternatives > 0:  # the states' pass has scored the units already
            score_forward(lm, units, words, draw=lm.n_alternatives > 0)
        return per_doc
    feats = context_features(
        module, units, both_sides=both_sides, batch_tokens=lm.batch_tokens, compute_dtype=lm.compute_dtype(), ops=lm.model.ops
    )
    if lm.n_alternatives and not substitutes:
        score_forward(lm, units, words, draw=True)  # "left": continuations
    if substitutes:
        _substitutes(lm, module, units, words, feats)
    if lm.detect_odd:
        correct_units(lm, module, units, words, feats)
    return per_doc


def correct_units(lm: "RNNLM", module, units: List[Unit], words: List[List[str]], feats: List[torch.Tensor]) -> None:
    """Corrections of each unit, in up to `odd_rounds` rounds: a sentence corrected in one round
    is rescored with its corrections in place and looked at again (its corrected words stay as
    they are), so a sentence with two slips can come back clean."""
    dtype = lm.compute_dtype()
    corrector = lm.corrector()
    segment = word_segmenter(lm.tokenizer)
    frozen: List[Set[int]] = [set() for _ in units]
    # per unit, what each position of its current words stands for: [start, end) of the original
    spans: List[List[Tuple[int, int]]] = [[(p, p + 1) for p in range(len(ws))] for ws in words]
    current, current_words, active = list(units), list(words), list(range(len(units)))
    for round_ in range(lm.odd_rounds):
        with torch.inference_mode(), precision(next(module.parameters()).device, dtype):
            corrector(
                current,
                current_words,
                lambda pairs: PoolLogprobs(module, torch.stack([feats[k][p] for k, p in pairs]), dtype),
                lambda texts, given: text_logprobs(lm, texts, given),
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
        if not changed or round_ + 1 == lm.odd_rounds:
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
            shadow = Unit(list(range(len(new_words))), ids=encode(lm.lm_vocab, new_words), spelling=[None] * len(new_words))
            active.append(k)
            current.append(shadow)
            current_words.append(new_words)
            spans[k], frozen[k] = new_spans, new_frozen
        if lm.spelling is not None:
            unknown_word_logprobs(lm.spelling, lm.pieces(), current, current_words, functools.partial(chosen_logprobs, lm))
        feats = context_features(
            module, current, both_sides=lm.has_fill_in, batch_tokens=lm.batch_tokens, compute_dtype=dtype, ops=lm.model.ops
        )


def word_segmenter(tokenizer: Optional[Callable[[str], Doc]]) -> Optional[Segmenter]:
    """The pipeline's tokenizer as a `Segmenter`, cuts remembered per text; None without a
    tokenizer. spaCy's jieba tokenizer is asked through its segmenter: the same cut without
    building a Doc (a correction cuts hundreds of variants of a sentence), and jieba's
    dictionary tells which stretches it may cut as one word."""
    if tokenizer is None:
        return None
    jieba_seg = getattr(tokenizer, "jieba_seg", None)
    if getattr(tokenizer, "segmenter", None) == "jieba" and jieba_seg is not None:
        frequency = getattr(jieba_seg, "get_FREQ", lambda word: None)

        def cut(text: str) -> List[str]:
            return [w for w in jieba_seg.cut(text, cut_all=False) if w.strip()]

        def is_word(text: str) -> bool:
            return bool(frequency(text))

    else:

        def cut(text: str) -> List[str]:
            return [t.text for t in tokenizer(text) if not t.is_space]  # type: ignore[misc]

        def is_word(text: str) -> bool:
            return False

    return Segmenter(functools.lru_cache(maxsize=65536)(cut), is_word)


def score_forward(lm: "RNNLM", units: List[Unit], words: List[List[str]], draw: bool) -> None:
    """Forward log-probs of each unit through the thinc model; with `draw`, left-context
    alternatives drawn exactly from P(w | w<t) (through the adaptive softmax's levels)."""
    seqs = [unit.ids for unit in units]
    ops = lm.model.ops
    for batch in length_batches(seqs, lm.batch_tokens):
        output = lm.model.predict(
            LMBatch(
                [seqs[i] for i in batch],
                n_samples=lm.n_alternatives if draw else 0,
                temperature=lm.temperature,
                seeds=[unit_seed(lm.seed, words[i]) for i in batch],
                compute_dtype=lm.compute_dtype(),
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


def chosen_logprobs(lm: "RNNLM", seqs: Sequence[Sequence[int]], wanted: Sequence[Sequence[int]]) -> List[List[float]]:
    """Forward log-probs of the predictions `wanted[i]` (indices) of each id sequence `seqs[i]`:
    the LSTM runs over the whole sequence, the softmax only where asked (the pieces of unknown
    words are a few of a sentence's positions)."""
    module = torch_module(lm.model)
    device = next(module.parameters()).device
    dtype = lm.compute_dtype()
    out: List[List[float]] = [[] for _ in seqs]
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode(), precision(device, dtype):
            for batch in length_batches(seqs, lm.batch_tokens):
                ids, targets = pad_sequences([numpy.asarray(seqs[i], dtype="int64") for i in batch], lm.model.ops)
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


def text_logprobs(lm: "RNNLM", texts: List[List[str]], given: Optional[Sequence[Dict[int, float]]] = None) -> List[float]:
    """Open-vocabulary forward log-prob of each word sequence (its words and its end; unknown
    words through both of their paths, as `Doc._.lm_logprob` counts them). `given[k]`: log Q of
    unknown words of text k known already (see `unknown_word_logprobs`)."""
    units = [Unit(list(range(len(ws))), ids=encode(lm.lm_vocab, ws), spelling=[None] * len(ws)) for ws in texts]
    if lm.spelling is not None:
        unknown_word_logprobs(lm.spelling, lm.pieces(), units, texts, functools.partial(chosen_logprobs, lm), given)
    score_forward(lm, units, texts, draw=False)
    totals = []
    for unit in units:
        unit.fold_pieces()
        totals.append(float(unit.logprobs.sum()) + sum(s for s in unit.spelling if s is not None))  # type: ignore[union-attr]
    return totals


def _substitutes(lm: "RNNLM", module, units: List[Unit], words: List[List[str]], feats: List[torch.Tensor]) -> None:
    """Substitutes from both sides for every word (see substitutes.py)."""
    if not units:
        return
    device = feats[0].device
    flat_ids = numpy.concatenate([unit.ids[1:-1] for unit in units])
    originals = torch.as_tensor(flat_ids, device=device)
    flat_words = [w for ws in words for w in ws]
    meanings, parts = word_meanings(module, flat_ids.tolist(), flat_words, lm.lm_vocab)
    unknown_synonyms = None
    if lm.thesaurus is not None and lm.thesaurus.unknown:
        unknown_synonyms = lm.thesaurus.of_words([w if i == UNK_ID else None for i, w in zip(flat_ids.tolist(), flat_words)], device)
    ids, probs = draw_substitutes(
        module,
        torch.cat(feats),
        originals,
        [len(unit.token_ids) for unit in units],
        [make_generator(unit_seed(lm.seed, ws), device) for ws in words],
        n=lm.n_alternatives,
        pool=lm.alternatives_pool,
        temperature=lm.temperature,
        similarity=lm.alternatives_similarity,
        synonym_bonus=lm.alternatives_synonym_bonus,
        thesaurus=lm.thesaurus,
        compute_dtype=lm.compute_dtype(),
        meanings=meanings,
        parts=parts,
        min_p=lm.alternatives_min_p,
        function=lm.function_words(device),
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
