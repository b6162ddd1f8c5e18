"""Tests of tinygpt.data: prepare, mixtures, contamination, the exercise generator and real requests."""
