"""Requests on three numbers: arithmetic of three parameters ("the product of a and b, plus c"), the largest, the
smallest, the middle one and the average, how many of them pass a test, and claims about all three ("a, b and c
are all different").

An arithmetic result may sit inside one more operation from `skills.UNARY` ("the square of the sum of a, b and
c"), as `skills.number_sentence` does for two numbers, but only around one definite noun phrase ("the sum of a, b
and c", never "a times b, plus c"); the tables of skills.py are read here, never extended.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.compose import FILTERS
from tinygpt.data.exercises.frames import CLAIM_FRAMES, claim_text
from tinygpt.data.exercises.skills import UNARY, Draft, pick
from tinygpt.data.exercises.tables import ROLES
from tinygpt.data.exercises.wording import Wording, choices

__all__ = ["THREE_CLAIMS", "THREE_VALUES", "three_numbers"]

THREE_VALUES = [  # (expression of {a} {b} {c}, name, phrases, more bodies' expressions, c must be positive)
    ("{a} + {b} + {c}", "sum_of_three", choices(["the sum of {a}, {b} and {c}", "{a} plus {b} plus {c}",
                                                 "the total of {a}, {b} and {c}"],
                                                ["{a}, {b} and {c} combined by addition"]),
     ["sum(({a}, {b}, {c}))"], False),
    ("{a} * {b} * {c}", "product_of_three", choices(["the product of {a}, {b} and {c}", "{a} times {b} times {c}"],
                                                    ["{a}, {b} and {c} multiplied out"]), [], False),
    ("{a} * {b} + {c}", "multiply_add", choices(["{a} times {b}, plus {c}", "the product of {a} and {b}, plus {c}",
                                                 "{c} more than the product of {a} and {b}"],
                                                ["{c} added onto {a} lots of {b}"]), ["{c} + {b} * {a}"], False),
    ("({a} + {b}) * {c}", "sum_times", choices(["the sum of {a} and {b}, multiplied by {c}",
                                                "{c} times the sum of {a} and {b}"], ["{a} plus {b}, scaled by {c}"]),
     ["{a} * {c} + {b} * {c}"], False),
    ("{a} + {b} * {c}", "add_product", choices(["{a} plus the product of {b} and {c}",
                                                "the sum of {a} and the product of {b} and {c}"],
                                               ["{a} increased by {b} lots of {c}"]), ["{b} * {c} + {a}"], False),
    ("{a} - {b} - {c}", "subtract_both", choices(["{a} minus {b} minus {c}", "{a} minus both {b} and {c}"],
                                                 ["what remains of {a} once {b} and {c} are taken away"]),
     ["{a} - ({b} + {c})"], False),
    ("({a} - {b}) * {c}", "difference_times", choices(["the difference {a} - {b}, multiplied by {c}",
                                                       "{c} times the difference {a} minus {b}"],
                                                      ["the gap from {b} up to {a}, scaled by {c}"]),
     ["{a} * {c} - {b} * {c}"], False),
    ("max({a}, {b}, {c})", "largest_of_three", choices(["the largest of {a}, {b} and {c}",
                                                        "the maximum of {a}, {b} and {c}"],
                                                       ["the top value among {a}, {b} and {c}"]),
     ["sorted([{a}, {b}, {c}])[-1]", "max(max({a}, {b}), {c})"], False),
    ("min({a}, {b}, {c})", "smallest_of_three", choices(["the smallest of {a}, {b} and {c}",
                                                         "the minimum of {a}, {b} and {c}"],
                                                        ["the bottom value among {a}, {b} and {c}"]),
     ["sorted([{a}, {b}, {c}])[0]", "min(min({a}, {b}), {c})"], False),
    ("sorted([{a}, {b}, {c}])[1]", "middle_of_three",
     choices(["the middle value of {a}, {b} and {c} (the second one once they are sorted)",
              "the median of the three numbers {a}, {b} and {c}"], ["the central one of {a}, {b} and {c} by size"]),
     ["{a} + {b} + {c} - max({a}, {b}, {c}) - min({a}, {b}, {c})"], False),
    ("({a} + {b} + {c}) / 3", "average_of_three", choices(["the average of {a}, {b} and {c}",
                                                           "the mean of {a}, {b} and {c}"],
                                                          ["the arithmetic middle of {a}, {b} and {c}"]),
     ["sum([{a}, {b}, {c}]) / 3"], False),
    ("({a} + {b}) // {c}", "sum_floor_divided", choices(["the sum of {a} and {b}, divided by {c} and rounded down "
                                                         "({c} is positive)",
                                                         "{a} plus {b}, integer-divided by the positive number {c}"],
                                                        ["the floor of {a} plus {b} over the positive {c}"]),
     [], True),
    ("abs({a} - {b}) + abs({b} - {c})", "path_length",
     choices(["the distance from {a} to {b} plus the distance from {b} to {c}",
              "the absolute difference of {a} and {b} plus the absolute difference of {b} and {c}"],
             ["how far one walks going from {a} to {b} and then on to {c}"]), [], False),
    ("{a} * {a} + {b} * {b} + {c} * {c}", "sum_of_squares_of_three",
     choices(["the sum of the squares of {a}, {b} and {c}", "{a} squared plus {b} squared plus {c} squared"],
             ["the squares of {a}, {b} and {c} totalled"]), ["{a} ** 2 + {b} ** 2 + {c} ** 2"], False),
]
THREE_CLAIMS = [  # (condition, name, claims, more bodies' conditions)
    ("{a} < {b} < {c}", "strictly_increasing", choices([("{a}, {b} and {c}", "are", "in strictly increasing order"),
                                                        ("{a}", "is", "less than {b}, and {b} less than {c}")],
                                                       [("{a}, {b} and {c}", "climb", "strictly, in that order")]),
     ["{a} < {b} and {b} < {c}"]),
    ("{a} == {b} == {c}", "all_equal", choices([("{a}, {b} and {c}", "are", "all equal"),
                                                ("{a}, {b} and {c}", "have", "the same value")],
                                               [("{a}, {b} and {c}", "coincide", "in value")]),
     ["{a} == {b} and {b} == {c}", "len({{{a}, {b}, {c}}}) == 1"]),
    ("len({{{a}, {b}, {c}}}) == 3", "all_different", choices([("{a}, {b} and {c}", "are", "all different"),
                                                              ("no two of {a}, {b} and {c}", "are", "equal")],
                                                             [("{a}, {b} and {c}", "are", "pairwise distinct")]),
     ["{a} != {b} and {b} != {c} and {a} != {c}"]),
    ("min({a}, {c}) <= {b} <= max({a}, {c})", "in_between",
     choices([("{b}", "is", "between {a} and {c} inclusive, in either order"),
              ("{b}", "lies", "from {a} to {c} or from {c} to {a}, ends included")],
             [("{b}", "sits", "inside the span of {a} and {c}, endpoints counted")]),
     ["{a} <= {b} <= {c} or {c} <= {b} <= {a}"]),
    ("{a} > 0 and {b} > 0 and {c} > 0 and {a} < {b} + {c} and {b} < {a} + {c} and {c} < {a} + {b}", "is_triangle",
     choices([("{a}, {b} and {c}", "are", "possible side lengths of a triangle (each positive and less than the sum "
               "of the other two)")], [("{a}, {b} and {c}", "could", "close up into a triangle (all positive, each "
                                        "under the other two combined)")]),
     ["min({a}, {b}, {c}) > 0 and 2 * max({a}, {b}, {c}) < {a} + {b} + {c}"]),
]
COUNT_REQUESTS = choices(["how many of {a}, {b} and {c} are {p}", "the number of values among {a}, {b} and {c} that "
                          "are {p}"], ["the tally of {a}, {b} and {c} being {p}"])


def three_numbers(rng: random.Random, words: Wording) -> Draft:
    names = list(words.pick(rng, ROLES["three ints"]))
    a, b, c = names
    kind = rng.random()
    if kind < 0.55:
        return value_of_three(rng, words, names)
    if kind < 0.8:
        condition, name, claims, others = pick(rng, THREE_CLAIMS)
        claim = tuple(part.format(a=a, b=b, c=c) for part in words.pick(rng, claims))
        bodies = [f"    return {rule.format(a=a, b=b, c=c)}\n" for rule in [condition] + others]
        summary = words.pick(rng, CLAIM_FRAMES).format(claim=claim_text(claim))
        return Draft("three_numbers", name, names, summary, bodies,
                     lambda rng: tuple(rng.randint(-3, 9) for _ in range(3)), claim=claim)
    test, filter_name, phrases = pick(rng, FILTERS)
    values = {"k": rng.randint(-2, 6), "m": rng.choice([3, 4, 5]), "lo": -2, "hi": rng.randint(1, 6)}
    phrase = words.pick(rng, phrases).format(**values)
    what = words.pick(rng, COUNT_REQUESTS).format(a=a, b=b, c=c, p=phrase)
    condition = test.format(x="value", **values)
    bodies = [f"    return sum(1 for value in ({a}, {b}, {c}) if {condition})\n",
              f"    count = 0\n    for value in [{a}, {b}, {c}]:\n        if {condition}:\n            count += 1\n"
              "    return count\n",
              "    return " + " + ".join(f"int({test.format(x=name, **values)})" for name in names) + "\n"]
    name = "count_" + filter_name.format(**{key: str(v).replace("-", "minus_") for key, v in values.items()})
    return Draft("three_numbers", name, names, words.value_request(rng, what), bodies,
                 lambda rng: tuple(rng.randint(-8, 9) for _ in range(3)), what=what)


def value_of_three(rng: random.Random, words: Wording, names: list[str]) -> Draft:
    expression, name, phrases, others, positive_c = pick(rng, THREE_VALUES)
    a, b, c = names
    inner = [form.format(a=a, b=b, c=c) for form in [expression] + others]
    phrase = words.pick(rng, phrases).format(a=a, b=b, c=c)
    if one_noun_phrase(phrase, names) and "/" not in expression and rng.random() < 0.3:
        outer = pick(rng, [unary for unary in UNARY if unary[1] != "last_digit"])
        form, outer_name, outer_phrases = outer
        inner = [form.format(x=f"({value})") for value in inner]
        phrase = words.pick(rng, outer_phrases).format(p=phrase)
        name = f"{outer_name}_of_{name}"
    bodies = [f"    return {inner[0]}\n", f"    result = {inner[0]}\n    return result\n"] + [
        f"    return {value}\n" for value in inner[1:]]

    def draw(rng):
        return rng.randint(-12, 12), rng.randint(-12, 12), rng.randint(1, 9) if positive_c else rng.randint(-12, 12)

    return Draft("three_numbers", name, names, words.value_request(rng, phrase), bodies, draw, what=phrase)


def one_noun_phrase(phrase: str, names: list[str]) -> bool:
    """Whether "the square of <phrase>" reads one way only: a definite noun phrase ("the sum of a, b and c") with
    no comma or operation word of its own ("the distance from a to b plus ..." would leave the scope open)."""
    bare = phrase.replace(f"{names[0]}, {names[1]} and {names[2]}", "")
    return phrase.startswith("the ") and "," not in bare and not any(
        word in f" {bare} " for word in (" plus ", " minus ", " times "))
