"""Verified exercise data: generated exercises (`build`, from the vocabulary in `skills` and `loops`), exercises
mined from the corpora's doctests (`mine`) and real requests, documented functions and MBPP's train split (`real`);
the last two cut functions out of their files alike (`source_functions`)."""
