"""The rnnlm component's settings: what each means, their checks, and the callback that changes
the run-time ones.

The factory (`rnnlm`, pipeline/lm.py) takes them; here each is checked once, with one coded error
naming the setting, the value and what was expected.

model (Model[LMBatch, LMOutput]): The language model: spacy-rnnlm.BiLSTMLanguageModel.v1
    (forward LM + backward network + fill-in head) or spacy-rnnlm.LSTMLanguageModel.v1
    (forward only).
n_alternatives (int): Words drawn per token for `Token._.lm_alternatives`; 0 switches drawing off.
alternatives_context (str): "both": substitutes, drawn from how well a word fits between the
    token's left and right context (the fill-in head) and how close it stays to the token
    (see spacy_rnnlm/inference/substitutes.py); "left": continuations, drawn from
    P(w | left context) exactly (the behaviour before the fill-in head). A forward-only model
    always uses "left".
alternatives_pool (int): Substitutes are drawn among the token's thesaurus synonyms, this
    many of its nearest words by embedding, and this many frequent words the fill-in head
    finds most likely there.
alternatives_similarity (float): Weight, in nats, of the cosine between a substitute's and the
    token's word embeddings (15 and the bonus of 30 were chosen on the HanLS human
    substitutes, benchmarks/lexsub.py; see docs/substitutes.md).
alternatives_synonym_bonus (float): Nats added to a substitute that the thesaurus lists as a
    synonym of the token (0 = the thesaurus only adds candidates).
alternatives_min_p (float): Substitutes are drawn only among the words whose probability is
    at least this share of the most probable one's (min-p sampling; 0 = the whole pool): no
    draw from the far tail.
temperature (float): Temperature (> 0) of the distribution the alternatives are drawn from.
seed (int): Seed of the draws; with the same text and model, the same seed gives the same draws.
max_length (int): Training sequences longer than this many tokens are cut into windows.
batch_tokens (int): Padded tokens per recurrent-network call (sequences sorted by length) in
    training and scoring; bounds memory and padding, not results.
length_ratio (float): In training, the longest sequence of one recurrent-network call is at
    most this many times its shortest (length bucketing: without it, about half of the
    LSTM's steps run on padding, sentence lengths having a long tail). Speed only, not
    results. (Scoring measured no faster with it, and runs without.)
inference_dtype (str): Precision of the matrix products when scoring and generating:
    "bfloat16" (twice as fast on CPUs with native bf16, e.g. AVX512-BF16, and on GPUs; test
    perplexity changes by < 0.1%) or "float32". Where the hardware lacks bf16, float32 is
    used.
training_dtype (str): The same for training ("bfloat16": autocast, float32 weights, optimizer
    and softmaxes; "float32"). Where the hardware lacks bf16, float32 is used.
detect_odd (bool): Spelling correction (`Token._.lm_is_odd`, `lm_suggestion`,
    `Doc._.lm_odd_tokens`, `lm_corrected`, `lm_corrections`): words the fill-in head finds
    unlikely are replaced by sound-alike or look-alike candidates when that makes the sentence
    much more probable (see spacy_rnnlm/inference/correction.py). Off by default; the
    extensions are None while it is off.
odd_threshold (float): A correction is made when it raises its sentence's log-prob, less
    its cost, by more than this many nats. 4.5 was chosen on real essays (SIGHAN 2013:
    sentence-level F1 0.431; 0.448 at 3.0, which changes 4.4 % of SIGHAN 2014's clean
    sentences against 2.6 %) among the thresholds that change none of the everyday sentences;
    7.5 is the precision-first setting, 3.0 the recall one (docs/correction.md).
odd_margin (float): Only words this many nats below the fill-in head's most likely word at
    their position are examined (unknown words always are).
odd_candidates (int): One-for-one replacements rescored per examined word (the best by fill-in
    log-prob less cost; merged neighbours add up to three more).
odd_edit_cost (float): Nats a replacement pays for changing a character to one that sounds
    the same (toneless pinyin).
odd_near_cost (float): ... to one that sounds nearly the same (zh/z, n/l, -ang/-an, ...).
odd_other_cost (float): ... to any other character.
odd_look_cost (float): ... to one that looks alike (清 / 请, 未 / 末: see spacy_rnnlm/glyphs.py),
    when that is cheaper than its sound class.
odd_rounds (int): A corrected sentence is rescored with its corrections in place and looked
    at again, up to this many rounds in all (1: one look), so several slips can be fixed.
odd_rare_chars (bool): Also change characters that no vocabulary word holds (湍 in 湍急, 鳕):
    off by default, since such a character is a rare word's, not a slip (slips land on
    common characters), and changing it breaks correct text.
pieces_weight (float): λ in [0, 1]: the weight of the second way of writing an unknown word,
    as the vocabulary words it is made of (穿点 = 穿 + 点), added to the path that spells it
    out; 0 spells every unknown word (see spacy_rnnlm/pieces.py; fitted on dev: 1).
pieces_continue (float): ρ in [0, 1): the geometric prior on the number k ≥ 2 of pieces,
    π_k = (1 − ρ) ρ^(k − 2).
scorer (Optional[Callable]): The scoring method, reporting `lm_perplexity` and `lm_score`.
"""
from typing import Any, Callable, Dict

from spacy.language import Language
from spacy.util import registry

from ..errors import Errors
from ..pieces import check_pieces_settings
from ..sampling import check_temperature

INFERENCE_DTYPES = ("bfloat16", "float32")
CONTEXTS = ("both", "left")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# setting → (is the value acceptable, what is expected); settings not listed are not checked here
CHECKS: Dict[str, tuple] = {
    "n_alternatives": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "alternatives_context": (lambda v: v in CONTEXTS, " or ".join(map(repr, CONTEXTS))),
    "alternatives_pool": (lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    "alternatives_similarity": (_number, "a number (nats)"),
    "alternatives_synonym_bonus": (_number, "a number (nats)"),
    "alternatives_min_p": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "max_length": (lambda v: _integer(v) and v >= 2, "an integer >= 2"),
    "batch_tokens": (lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    "length_ratio": (lambda v: _number(v) and v >= 1, "a number >= 1"),
    "inference_dtype": (lambda v: v in INFERENCE_DTYPES, " or ".join(INFERENCE_DTYPES)),
    "training_dtype": (lambda v: v in INFERENCE_DTYPES, " or ".join(INFERENCE_DTYPES)),
    "detect_odd": (lambda v: isinstance(v, bool), "true or false"),
    "odd_threshold": (_number, "a number (nats)"),
    "odd_margin": (lambda v: _number(v) and v >= 0, "a number >= 0 (nats)"),
    "odd_candidates": (lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    "odd_edit_cost": (lambda v: _number(v) and v >= 0, "a number >= 0 (nats)"),
    "odd_near_cost": (lambda v: _number(v) and v >= 0, "a number >= 0 (nats)"),
    "odd_other_cost": (lambda v: _number(v) and v >= 0, "a number >= 0 (nats)"),
    "odd_look_cost": (lambda v: _number(v) and v >= 0, "a number >= 0 (nats)"),
    "odd_rounds": (lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    "odd_rare_chars": (lambda v: isinstance(v, bool), "true or false"),
}


def check_settings(values: Dict[str, Any]) -> None:
    """Raise a ValueError for the first setting whose value is not acceptable."""
    if "temperature" in values:
        check_temperature(values["temperature"], allow_zero=False)
    for key, value in values.items():
        if key in CHECKS and not CHECKS[key][0](value):
            raise ValueError(Errors.E005.format(name=key, value=value, expected=CHECKS[key][1]))
    if "pieces_weight" in values or "pieces_continue" in values:
        check_pieces_settings(values.get("pieces_weight", 1.0), values.get("pieces_continue", 0.05))


def checked_settings(values: Dict[str, Any]) -> Dict[str, Any]:
    """`values` checked (see `check_settings`), numbers in nats or ratios as floats."""
    check_settings(values)
    return {key: float(v) if key in FLOATS else int(v) if key == "seed" else v for key, v in values.items()}


FLOATS = {
    "alternatives_similarity",
    "alternatives_synonym_bonus",
    "alternatives_min_p",
    "temperature",
    "length_ratio",
    "odd_threshold",
    "odd_margin",
    "odd_edit_cost",
    "odd_near_cost",
    "odd_other_cost",
    "odd_look_cost",
    "pieces_weight",
    "pieces_continue",
}


# Settings a pipeline may change on a trained (e.g. sourced) component: read at call time.
RUNTIME_SETTINGS = (
    "n_alternatives",
    "alternatives_context",
    "alternatives_min_p",
    "temperature",
    "seed",
    "detect_odd",
    "odd_threshold",
    "odd_rounds",
    "batch_tokens",
    "pieces_weight",
    "pieces_continue",
)


@registry.callbacks("spacy-rnnlm.rnnlm_settings.v1")
def make_settings_callback(settings: Dict[str, Any], component: str = "rnnlm") -> Callable[[Language], Language]:
    """A `[initialize.before_init]` callback that changes run-time settings of an rnnlm component,
    e.g. a sourced, frozen one (spaCy takes a sourced component's settings from its source
    pipeline), and records them in the pipeline's config so the trained pipeline keeps them.

    settings (Dict[str, Any]): New values, keys among RUNTIME_SETTINGS (e.g. n_alternatives = 0
        when only the listener's states are wanted: no substitutes are drawn).
    component (str): The rnnlm component's name.
    """
    unknown = sorted(set(settings) - set(RUNTIME_SETTINGS))
    if unknown:
        raise ValueError(Errors.E005.format(name="settings", value=unknown, expected="keys among " + ", ".join(RUNTIME_SETTINGS)))

    def apply(nlp: Language) -> Language:
        pipe = nlp.get_pipe(component)
        current = {key: getattr(pipe, key) for key in RUNTIME_SETTINGS}
        current.update(settings)
        checked = checked_settings(current)  # as the factory checks them
        for key in settings:
            setattr(pipe, key, checked[key])
            nlp.get_pipe_config(component)[key] = settings[key]
        return nlp

    return apply
