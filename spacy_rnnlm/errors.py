"""Coded errors and warnings. Every message starts with its code, so tests and users can match on it."""


class ErrorsWithCodes(type):
    def __getattribute__(self, code: str) -> str:
        msg = super().__getattribute__(code)
        if code.startswith("__"):
            return msg
        return f"[{code}] {msg}"


class Errors(metaclass=ErrorsWithCodes):
    E001 = (
        "The 'rnnlm' component '{name}' has not been initialized: it has no vocabulary and no "
        "weights yet. Call nlp.initialize(get_examples) with training texts, train it with "
        "`python -m spacy train`, or load a trained pipeline with spacy.load()."
    )
    E002 = "No training texts: 'rnnlm' builds its vocabulary from get_examples(), which gave no tokens."
    E003 = "Cannot load the 'rnnlm' model file '{path}': it is missing. Was the pipeline saved completely?"
    E004 = "Cannot load the 'rnnlm' model data from '{path}': it is corrupted or not an rnnlm model ({err})."
    E005 = "Invalid 'rnnlm' setting {name}={value!r}: {expected}."
    E007 = "The vocabulary data is corrupted or of an unknown format ({err})."
    E009 = (
        "The 'rnnlm' component '{name}' has no tokenizer to segment the prompt (it was unpickled "
        "or created outside a pipeline): use nlp.get_pipe('{name}').generate() on a loaded pipeline."
    )
    E010 = "The spelling-model data is corrupted or of an unknown format ({err})."
    E008 = "The pipeline has no 'rnnlm' component (pipes: {pipes})."
    E011 = (
        "The thesaurus '{source}' needs the package {package}: install it (pip install "
        "'spacy-rnnlm[thesaurus]') or set [initialize.components.rnnlm] thesaurus = null."
    )
    E012 = "The {what} data is corrupted or of an unknown format ({err})."
    E013 = (
        "The listener in component '{component}' expects width {width}, but the 'rnnlm' component "
        "'{name}' gives states of width {expected} (input embedding + forward + backward states): "
        "set width = {expected} in its spacy-rnnlm.RNNLMListener.v1 block."
    )
    E014 = (
        "The listener found no LM states on the docs: the 'rnnlm' component '{name}' did not run on "
        "them. When it is frozen ([training] frozen_components), also list it in [training] "
        "annotating_components."
    )
    E015 = (
        "Building the {what} needs the package {package}, a dependency of spacy-rnnlm: reinstall it "
        "(pip install {package})."
    )
    E016 = (
        "The training examples come from a token cache made with another vocabulary than this "
        "'rnnlm' component's: its ids would mean other words. Preprocess the corpus again with "
        "this pipeline (spacy-rnnlm preprocess CORPUS --model-or-config PIPELINE)."
    )
    E017 = (
        "Components listen to the 'rnnlm' component '{name}', but its training examples come from a "
        "token cache, which holds ids and no text: train listening components from a text corpus."
    )


class Warnings(metaclass=ErrorsWithCodes):
    W001 = "Vocabulary built with only {n} words from the training texts; scores will be poor."
    W002 = (
        "This 'rnnlm' model has no spelling model (saved by an older version): unknown words get "
        "the closed-vocabulary probability of <unk>. Retrain to score them by their spelling."
    )
    W003 = (
        "The token cache {path} was counted with {made}, not min_freq={min_freq}, max_size={max_size}: "
        "its vocabulary is used as it is (the ids depend on it)."
    )
