"""Training beyond one process and one step: streaming, sharded corpus readers, the
torch.distributed entry point (`python -m torch.distributed.run … -m spacy_rnnlm.training.distributed`)
and parameter averaging (`use_averages`)."""
