"""Tests of tinygpt.cli through the commands: bad input, what they load, `tinygpt generate`, fault injection."""
