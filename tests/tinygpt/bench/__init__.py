"""Tests of tinygpt.bench (`tinygpt bench`) and of the speedrun benchmark built on it."""
