"""Sentence frames: the ways people put a request for a value or for a yes-or-no answer, naming the inputs' kinds.

A skill says what its function returns as a noun phrase (`Draft.what`: "the sum of the even numbers in nums") or
as a claim whose truth it returns (`Draft.claim`: ("n", "is", "even")). A frame puts it into a request:

    Return the sum of the even numbers in nums.                           imperative (wording.VALUE_FRAMES)
    Write a function that returns the sum of ...                          a request for a function
    Given a list of integers nums, return the sum of ...                  the inputs named with their kinds
    What is the sum of ...?                                               a question
    Takes a list of integers nums and returns the sum of ...              a description, the result last
    Returns the sum of ...                                                third person
    You are given a list of integers nums. Return the sum of ...          two sentences: the inputs, the result
    Is n even?   Check whether n is even.   Return True if n is even, otherwise False.

The kinds are read off the values the tests pass (`render.type_name`). Every frame is a `choices(seen, unseen)`
like every other phrase (`wording.py`). Only training is reframed (`reframe`, called for the seen share after the
skill drew its own sentence), so the unseen-words set draws exactly the numbers it drew before.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.render import type_name
from tinygpt.data.exercises.skills import Draft
from tinygpt.data.exercises.wording import VALUE_FRAMES, Wording, choices, fits

__all__ = ["CLAIM_FRAMES", "CLAIM_GIVEN_FRAMES", "CLAIM_QUESTIONS", "VALUE_GIVEN_FRAMES", "VALUE_QUESTIONS",
           "claim_text", "inputs", "question", "reframe"]

OWN_SENTENCE_SHARE = 0.25  # how often training keeps the sentence the skill drew instead of a frame from here
PLAIN_SHARE = 0.3  # how often a family's first, plainest frame ("Return ...", "Given ..., return ...") is taken

VALUE_GIVEN_FRAMES = choices(["Given {inputs}, return {what}.", "Takes {inputs} and returns {what}.",
                              "Take {inputs} and return {what}.", "Write a function that takes {inputs} and returns "
                              "{what}.", "You are given {inputs}. Return {what}.",
                              "The function takes {inputs}. It returns {what}.", "Accepts {inputs} and returns {what}.",
                              "For {inputs}, return {what}.", "Using {inputs}, compute {what}."],
                             ["Provided with {inputs}, produce {what}.", "From {inputs}, derive {what}."])
VALUE_QUESTIONS = choices(["What is {what}?", "Given {inputs}, what is {what}?"], ["Which value is {what}?"])
CLAIM_FRAMES = choices(["Return True if {claim}, otherwise False.", "Return True if {claim} and False otherwise.",
                        "Check whether {claim}.", "Check if {claim}.", "Return whether {claim}.",
                        "Write a function that checks whether {claim}.", "Returns True if {claim}, else False.",
                        "Test whether {claim}.", "Find out whether {claim}.",
                        "Return a boolean that says whether {claim}."],
                       ["Report whether {claim}.", "Answer True exactly when {claim}."])
CLAIM_GIVEN_FRAMES = choices(["Given {inputs}, return True if {claim}, otherwise False.",
                              "Takes {inputs} and returns True if {claim}, False otherwise.",
                              "You are given {inputs}. Return True if {claim}, otherwise False.",
                              "Given {inputs}, check whether {claim}.",
                              "The function takes {inputs}. It returns True if {claim} and False otherwise."],
                             ["Provided with {inputs}, report whether {claim}."])
CLAIM_QUESTIONS = choices(["{question}", "You are given {inputs}. {question}"], ["Tell me: {question}"])

KIND_NOUNS = {  # a type_name -> (one value of it, several), for "an integer n" and "two integers a and b"
    "int": choices([("an integer", "integers"), ("a whole number", "whole numbers"), ("an int", "ints")],
                   [("an integral value", "integral values")]),
    "float": choices([("a number", "numbers"), ("a float", "floats")], [("a real value", "real values")]),
    "str": choices([("a string", "strings"), ("a str", "strs")], [("a piece of text", "pieces of text")]),
    "bool": choices([("a boolean", "booleans")], [("a truth value", "truth values")]),
    "list of int": choices([("a list of integers", "lists of integers"), ("a list of numbers", "lists of numbers"),
                            ("a list of ints", "lists of ints")], [("an array of integers", "arrays of integers")]),
    "list of str": choices([("a list of strings", "lists of strings"), ("a list of words", "lists of words")],
                           [("an array of strings", "arrays of strings")]),
    "list of list": choices([("a list of lists", "lists of lists")], [("a nested array", "nested arrays")]),
    "list of tuple": choices([("a list of tuples", "lists of tuples"), ("a list of pairs", "lists of pairs")],
                             [("an array of tuples", "arrays of tuples")]),
    "list": choices([("a list", "lists")], [("an array", "arrays")]),
    "dict": choices([("a dictionary", "dictionaries"), ("a dict", "dicts")], [("a mapping", "mappings")]),
    "tuple": choices([("a tuple", "tuples")], [("a fixed record", "fixed records")]),
}
SINGULAR_HEADS = {"sum", "product", "total", "largest", "smallest", "maximum", "minimum", "number", "count", "average",
                  "mean", "index", "position", "first", "last", "second", "difference", "absolute", "square", "cube",
                  "remainder", "integer", "larger", "smaller", "bigger", "lesser", "distance", "negative", "length",
                  "longest", "shortest", "greatest", "least", "middle", "value", "key", "word", "character", "digit",
                  "dot", "median", "range", "greater"}
COUNT_WORDS = {2: "two", 3: "three", 4: "four"}
LEMMAS = {"has": "have", "does": "do", "goes": "go"}  # the verb after "does", where it is not the verb less its "s"


def joined(names: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def inputs(params: list[str], kinds: list[str], rng: random.Random, words: Wording) -> str:
    """"a list of integers nums and an integer k", "two strings a and b"; '' when a kind has no name here. A noun
    that is the parameter's own name is avoided ("a list of words strings", not "a list of strings strings")."""
    if not params or any(kind not in KIND_NOUNS for kind in kinds):
        return ""
    groups: list[tuple[str, list[str]]] = []
    for name, kind in zip(params, kinds):
        if groups and groups[-1][0] == kind:
            groups[-1][1].append(name)
        else:
            groups.append((kind, [name]))
    parts = []
    for kind, names in groups:
        nouns = [noun for noun in words.options(KIND_NOUNS[kind]) if noun[1].split()[-1] != names[0]]
        one, many = nouns[rng.randrange(len(nouns))] if nouns else words.pick(rng, KIND_NOUNS[kind])
        parts.append(f"{one} {names[0]}" if len(names) == 1 else f"{COUNT_WORDS[len(names)]} {many} {joined(names)}")
    return joined(parts)


def claim_text(claim: tuple[str, str, str]) -> str:
    return " ".join(claim)


def question(claim: tuple[str, str, str]) -> str:
    """("n", "is", "even") -> "Is n even?"; ("s", "contains", "a digit") -> "Does s contain a digit?";
    ("a and b", "have", "no value in common") -> "Do a and b have no value in common?"."""
    subject, verb, rest = claim
    if verb in ("is", "are"):
        return f"{verb.capitalize()} {subject} {rest}?"
    if not verb.endswith("s"):  # a plural subject's verb
        return f"Do {subject} {verb} {rest}?"
    lemma = LEMMAS.get(verb) or (verb[:-2] if verb.endswith(("ches", "shes", "sses", "xes")) else verb[:-1])
    return f"Does {subject} {lemma} {rest}?"


def frame_families(draft: Draft, given: str, words: Wording) -> list[tuple[float, tuple[str, ...]]]:
    """(weight, frames) of each family that fits the draft: frames naming the inputs only when their kinds are
    known, a "What is ...?" only for one definite value ("the sum of ...", not "a list of ..." or "the squares")."""
    if draft.claim:
        questions = [f for f in words.options(CLAIM_QUESTIONS) if given or "{inputs}" not in f]
        return [(0.55, words.options(CLAIM_FRAMES)), (0.25 if given else 0, words.options(CLAIM_GIVEN_FRAMES)),
                (0.2, tuple(questions))]
    questions = [f for f in words.options(VALUE_QUESTIONS) if given or "{inputs}" not in f]
    definite = draft.what.split(" ")[:2][-1] in SINGULAR_HEADS and draft.what.startswith("the ")
    plain = tuple(frame for frame in words.options(VALUE_FRAMES) if fits(frame, draft.what))
    given_frames = tuple(frame for frame in words.options(VALUE_GIVEN_FRAMES) if fits(frame, draft.what))
    return [(0.55, plain), (0.3 if given else 0, given_frames), (0.15 if definite else 0, tuple(questions))]


def reframe(draft: Draft, cases: list[tuple], rng: random.Random, words: Wording) -> None:
    """Put the draft's value or claim into a frame of a family that fits (the skill's own sentence is kept a
    quarter of the time). Call it for training's share only: it draws from `rng`."""
    if not (draft.what or draft.claim) or rng.random() < OWN_SENTENCE_SHARE:
        return
    kinds = [type_name([case[i] for case in cases]) for i in range(len(draft.params))]
    given = inputs(draft.params, kinds, rng, words)
    families = [(weight, frames) for weight, frames in frame_families(draft, given, words) if weight and frames]
    frames = rng.choices([frames for _, frames in families], weights=[weight for weight, _ in families])[0]
    frame = frames[0] if rng.random() < PLAIN_SHARE else frames[rng.randrange(len(frames))]
    if draft.claim:
        draft.summary = frame.format(claim=claim_text(draft.claim), question=question(draft.claim), inputs=given)
    else:
        draft.summary = frame.format(what=draft.what, inputs=given)
