"""Tests of tinygpt.eval and its commands: bits per byte, the suite, HumanEval, held-out functions."""
