"""Training beyond one process: streaming, sharded corpus readers and the torch.distributed
entry point (`python -m torch.distributed.run … -m spacy_rnnlm.training.distributed`)."""
