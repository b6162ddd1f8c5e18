"""Tests of tinygpt.train: the loop, exact resume, signals, the faults of a run, widening."""
