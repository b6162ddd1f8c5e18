"""Evaluation: bits per byte, held-out functions and HumanEval's sampled pass@k; the tasks, the suite's runner and
the sandbox they run in are the floors below (`tinygpt.tasks`, `tinygpt.sandbox`)."""
