"""Verified exercise data: generated exercises (`build`, from the vocabulary in `skills` and `loops`) and exercises
mined from the corpora's doctests (`mine`)."""
