"""Verified exercise data: generated exercises (`build`, from the vocabulary in `skills` and `loops`, widened for
training by the chains of `compose` and the tables of operations that `tables` draws, put in the sentence frames of
`frames`), exercises mined from the corpora's doctests (`mine`) and real requests, documented functions and MBPP's
train split (`real`); the last two cut functions out of their files alike (`source_functions`)."""
