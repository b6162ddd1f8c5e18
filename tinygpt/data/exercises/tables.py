"""Tables of operations: the shape the newer skills share, and the families of parameter names they draw from.

An `Op` is one function: a few names for it, the roles of its parameters (each role a `choices` of name families,
`ROLES`), what it returns in words, two or more bodies in different styles, and how to draw its arguments. The words
are a `choices` of noun phrases ("the index of the largest number in {0}") or of claims, (subject, verb, rest)
triples ("{0}", "reads", "the same forwards and backwards"), with the parameters as {0}, {1}, ... and the function's
own name as {name} in recursive bodies. `draw_op` draws one into a `Draft` whose `what` or `claim` the frames of
`frames.py` put into a sentence.

A name inside a body (item, total, result, best, ...) is never one its op's roles offer (a test runs every op under
every name family). A number that a sentence names inline ("the first k items of nums") is called by a letter, so the
sentence reads.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tinygpt.data.exercises.frames import CLAIM_FRAMES, claim_text
from tinygpt.data.exercises.skills import WORDS, Draft, pick
from tinygpt.data.exercises.wording import Choices, Wording, choices

__all__ = ["ROLES", "Op", "draw_op", "sentence_text", "word_list"]


@dataclass(frozen=True)
class Op:
    names: tuple[str, ...]
    roles: tuple[str, ...]
    words: Choices  # noun phrases, or (subject, verb, rest) claims
    bodies: tuple[str, ...]
    draw: Callable[[random.Random], tuple]
    edge: tuple[tuple, ...] = ()


ROLES = {  # a role -> its name families (a tuple for roles that name several parameters)
    "nums": choices(["nums", "numbers", "values", "xs", "lst", "arr", "data", "scores", "ints", "items"],
                    ["sequence", "collection"]),
    "two lists": choices([("xs", "ys"), ("a", "b"), ("first", "second"), ("left", "right"), ("nums1", "nums2"),
                          ("list1", "list2")], [("seq_a", "seq_b"), ("former", "latter")]),
    "amount": choices(["k", "n"], ["how_many"]),
    "size": choices(["n", "k", "m"], ["chunk_len"]),
    "shift": choices(["k", "n", "shift"], ["offset"]),
    "stride": choices(["k", "n", "m"], ["j"]),
    "target": choices(["target", "value", "x"], ["needle", "wanted"]),
    "old and new": choices([("old", "new"), ("old_value", "new_value"), ("target", "replacement")],
                           [("original", "substitute")]),
    "s": choices(["s", "text", "string", "sentence", "phrase"], ["passage", "content"]),
    "two strings": choices([("s", "t"), ("a", "b"), ("first", "second"), ("word1", "word2"), ("s1", "s2")],
                           [("source", "other_text")]),
    "sub": choices(["sub", "pattern", "part"], ["fragment"]),
    "words": choices(["words", "names", "strings", "tokens"], ["labels", "vocabulary"]),
    "ch": choices(["ch", "char", "c"], ["glyph"]),
    "sep": choices(["sep", "separator", "joiner"], ["glue"]),
    "width": choices(["width", "n", "size"], ["field_size"]),
    "limit": choices(["limit", "n", "max_len"], ["cutoff"]),
    "n": choices(["n", "number", "num", "x"], ["figure"]),
    "two ints": choices([("a", "b"), ("x", "y"), ("m", "n"), ("first", "second")], [("alpha", "beta")]),
    "three ints": choices([("a", "b", "c"), ("x", "y", "z"), ("p", "q", "r"), ("first", "second", "third")],
                          [("n1", "n2", "n3")]),
    "bounds": choices([("low", "high"), ("lo", "hi"), ("lower", "upper"), ("a", "b")],
                      [("floor_value", "ceiling_value")]),
    "range with stride": choices([("low", "high", "stride"), ("first", "last", "gap"), ("a", "b", "d"),
                                  ("begin", "end", "jump")], [("origin", "limit_value", "increment")]),
    "d": choices(["d", "mapping", "table", "counts", "data"], ["registry", "catalogue"]),
    "two dicts": choices([("a", "b"), ("first", "second"), ("d1", "d2"), ("left", "right")],
                         [("base_map", "extra_map")]),
    "keys and values": choices([("keys", "values"), ("names", "scores"), ("labels", "numbers")],
                               [("headings", "entries")]),
    "pairs": choices(["pairs", "records", "items"], ["couples"]),
    "rows": choices(["rows", "lists", "groups", "matrix", "grid"], ["blocks"]),
    "year": choices(["year", "y"], ["yr"]),
    "seconds": choices(["seconds", "total_seconds", "secs"], ["duration"]),
}


def param_names(rng: random.Random, words: Wording, roles: tuple[str, ...]) -> list[str]:
    """One family per role, flattened; the first family of each role if two roles drew the same name."""
    def flat(options) -> list[str]:
        return [name for option in options for name in (option if isinstance(option, tuple) else (option,))]

    names = flat([words.pick(rng, ROLES[role]) for role in roles])
    return names if len(set(names)) == len(names) else flat([words.options(ROLES[role])[0] for role in roles])


def draw_op(rng: random.Random, words: Wording, table: list[Op], skill: str) -> Draft:
    op = pick(rng, table)
    names = param_names(rng, words, op.roles)
    name = pick(rng, op.names)
    bodies = [body.format(*names, name=name) for body in op.bodies]
    option = words.pick(rng, op.words)
    if isinstance(option, tuple):  # a claim
        claim = tuple(part.format(*names) for part in option)
        summary = words.pick(rng, CLAIM_FRAMES).format(claim=claim_text(claim))
        return Draft(skill, name, names, summary, bodies, op.draw, list(op.edge), claim=claim)
    what = option.format(*names)
    return Draft(skill, name, names, words.value_request(rng, what), bodies, op.draw, list(op.edge), what=what)


def word_list(rng: random.Random, shortest: int = 0, longest: int = 5) -> list[str]:
    """A few words, some capitalised."""
    return [word.capitalize() if rng.random() < 0.2 else word
            for word in rng.sample(WORDS, rng.randint(shortest, longest))]


def sentence_text(rng: random.Random, shortest: int = 0, longest: int = 5) -> str:
    return " ".join(word_list(rng, shortest, longest))
