"""Tests of tinygpt.serve, the playground: its API, what it streams, its deadline, load, the page in a browser."""
