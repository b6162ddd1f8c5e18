"""Data: Python sources to token arrays (prepare, corpus, contamination checks, exercises), and the batches cut
from them (dataset)."""
