"""Evaluation: bits per byte, held-out functions, the task suite and HumanEval, run in a sandbox."""
