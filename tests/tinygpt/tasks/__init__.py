"""Tests of tinygpt.tasks: the suite, MBPP as tasks, code that checks itself, and the decoding sweep over them."""
