"""Chains of one to three steps on a list of numbers: keep some, change each, reduce to the answer; worded in one
sentence or as steps, then the result.

    Return the sum of the squares of the numbers in nums that are even.              one sentence
    Keep the numbers in nums that are even and square each of them. Return their sum. the steps, then the result
    Triple every number in xs, then keep the results that are greater than 4. Return how many there are.

A chain is a filter (`FILTERS`), a map (`MAPS`) and a reduction (`REDUCTIONS`), the first two optional and in
either order; "change, then keep" is only ever said in steps, since one sentence would leave open whether the
condition is on the numbers or on the results. Each step has its own synonyms (x * 3: "each tripled", "each
multiplied by 3", "triple each number", "multiply each number by 3"), and the bodies come in three styles: one
loop, a comprehension with a built-in, and named stages (`kept = ...`, `results = ...`).
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import Draft, int_list, pick
from tinygpt.data.exercises.wording import Wording, choices

__all__ = ["FILTERS", "MAPS", "REDUCTIONS", "chain"]

NUMBER_LISTS = choices([("nums", "n"), ("numbers", "number"), ("values", "value"), ("xs", "x"), ("lst", "item"),
                        ("arr", "a"), ("data", "d"), ("scores", "score"), ("nums", "num"), ("items", "item")],
                       [("sequence", "member"), ("readings", "reading")])
NOUNS = choices(["numbers", "values", "elements", "items"], ["figures"])
SOURCES = choices(["the {noun} in {xs}", "the {noun} of {xs}"], ["the {noun} held in {xs}"])
EACH_OF_LIST = choices(["each number in {xs}", "every number in {xs}", "each element of {xs}"],
                       ["each figure within {xs}"])
EACH_OF_KEPT = choices(["each of them", "every one of them"], ["each such figure"])
RESULTS = choices(["the results", "the new numbers"], ["the outcomes"])
KEPT = choices(["those numbers", "the numbers kept", "the remaining numbers"], ["the survivors"])

FILTERS = [  # (condition on {x}, name, phrases after "that are"); {k}, {lo} and {hi} are filled in
    ("{x} % 2 == 0", "even", choices(["even", "divisible by 2"], ["of even parity"])),
    ("{x} % 2 != 0", "odd", choices(["odd", "not divisible by 2"], ["of odd parity"])),
    ("{x} > 0", "positive", choices(["positive", "greater than 0"], ["strictly above nought"])),
    ("{x} < 0", "negative", choices(["negative", "less than 0"], ["strictly below nought"])),
    ("{x} >= 0", "non_negative", choices(["not negative", "zero or more"], ["nonnegative"])),
    ("{x} != 0", "nonzero", choices(["not zero", "different from 0"], ["nonzero"])),
    ("{x} % {m} == 0", "multiples_of_{m}", choices(["divisible by {m}", "multiples of {m}"],
                                                   ["cleanly divisible by {m}"])),
    ("{x} % {m} != 0", "not_multiples_of_{m}", choices(["not divisible by {m}", "not multiples of {m}"],
                                                       ["indivisible by {m}"])),
    ("{x} > {k}", "above_{k}", choices(["greater than {k}", "larger than {k}", "more than {k}"], ["exceeding {k}"])),
    ("{x} < {k}", "below_{k}", choices(["less than {k}", "smaller than {k}"], ["short of {k}"])),
    ("{x} >= {k}", "at_least_{k}", choices(["at least {k}", "greater than or equal to {k}"], ["not under {k}"])),
    ("{x} <= {k}", "at_most_{k}", choices(["at most {k}", "less than or equal to {k}"], ["not over {k}"])),
    ("{lo} <= {x} <= {hi}", "between_{lo}_and_{hi}",
     choices(["between {lo} and {hi} inclusive", "from {lo} to {hi}, both included"], ["within {lo}..{hi}"])),
    ("abs({x}) > {m}", "far_from_zero", choices(["greater than {m} in absolute value"], ["of magnitude beyond {m}"])),
    ("{x} != {k}", "not_{k}", choices(["not equal to {k}", "different from {k}"], ["other than {k}"])),
]

MAPS = [  # (expression of {x}, name, "the squares of {items}" forms or None, ", each ..." forms, verbs on {them})
    ("{x} * {x}", "squares", choices(["the squares of {items}"], ["the second powers of {items}"]),
     choices(["each squared", "each multiplied by itself"], ["each raised to the power two"]),
     choices(["square {them}", "multiply {them} by itself"], ["raise {them} to the second power"])),
    ("{x} * {x} * {x}", "cubes", choices(["the cubes of {items}"], ["the third powers of {items}"]),
     choices(["each cubed"], ["each raised to the power three"]),
     choices(["cube {them}"], ["raise {them} to the cube"])),
    ("2 * {x}", "doubled", None, choices(["each doubled", "each multiplied by 2", "each times 2"],
                                         ["each scaled twofold"]),
     choices(["double {them}", "multiply {them} by 2"], ["scale {them} twofold"])),
    ("3 * {x}", "tripled", None, choices(["each tripled", "each multiplied by 3", "each times 3"],
                                         ["each scaled threefold"]),
     choices(["triple {them}", "multiply {them} by 3"], ["scale {them} threefold"])),
    ("{x} * {k}", "times_{k}", None, choices(["each multiplied by {k}", "each times {k}"], ["each scaled by {k}"]),
     choices(["multiply {them} by {k}"], ["scale {them} by {k}"])),
    ("{x} + {k}", "plus_{k}", None, choices(["each plus {k}", "each increased by {k}", "each with {k} added"],
                                            ["each shifted up by {k}"]),
     choices(["add {k} to {them}", "increase {them} by {k}"], ["shift {them} up by {k}"])),
    ("{x} - {k}", "minus_{k}", None, choices(["each minus {k}", "each decreased by {k}", "each with {k} taken off"],
                                             ["each lowered by {k}"]),
     choices(["subtract {k} from {them}", "decrease {them} by {k}"], ["lower {them} by {k}"])),
    ("-{x}", "negated", choices(["the negatives of {items}"], ["the sign-flipped copies of {items}"]),
     choices(["each negated", "each with its sign flipped"], ["each turned to its opposite"]),
     choices(["negate {them}", "flip the sign of {them}"], ["turn {them} into its opposite"])),
    ("abs({x})", "absolute", choices(["the absolute values of {items}"], ["the sizes of {items}, signs dropped"]),
     choices(["each replaced by its absolute value"], ["each stripped of its sign"]),
     choices(["take the absolute value of {them}", "replace {them} by its absolute value"],
             ["strip the sign of {them}"])),
    ("{x} // 2", "halved", None, choices(["each halved and rounded down", "each divided by 2, rounded down"],
                                         ["each floor-halved"]),
     choices(["halve {them}, rounding down", "divide {them} by 2, rounding down"], ["floor-halve {them}"])),
    ("{x} % {m}", "mod_{m}", None,
     choices(["each taken modulo {m}", "each replaced by its remainder after division by {m}"],
             ["each reduced mod {m}"]),
     choices(["replace {them} by its remainder after division by {m}", "take {them} modulo {m}"],
             ["reduce {them} mod {m}"])),
    ("min({x}, {k})", "capped_at_{k}", None, choices(["each capped at {k} (anything larger becomes {k})"],
                                                     ["each clipped to at most {k}"]),
     choices(["cap {them} at {k}, so anything larger becomes {k}"], ["clip {them} to at most {k}"])),
    ("{x} * {m} + {k}", "times_{m}_plus_{k}", None, choices(["each multiplied by {m} and then increased by {k}"],
                                                            ["each scaled by {m} and shifted up by {k}"]),
     choices(["multiply {them} by {m}, then add {k}"], ["scale {them} by {m} and shift it up by {k}"])),
    ("abs({x}) % 10", "last_digits", choices(["the last digits of {items}"], ["the units digits of {items}"]),
     choices(["each replaced by its last digit"], ["each cut down to its units digit"]),
     choices(["replace {them} by its last digit"], ["cut {them} down to its units digit"])),
]

REDUCTIONS = {  # name -> (one-sentence forms of {items}, result sentences on {those}, function-name words)
    "sum": (choices(["the sum of {items}", "the total of {items}"], ["{items} summed"]),
            choices(["Return their sum.", "Return the sum of {those}.", "Return the total of {those}."],
                    ["Report their total."]), ("sum", "total")),
    "product": (choices(["the product of {items} (1 if there are none)"], ["{items} multiplied out (1 for none)"]),
                choices(["Return their product, or 1 if there are none.", "Return the product of {those} (1 if there "
                         "are none)."], ["Report their product (1 for none)."]), ("product",)),
    "count": (choices(["the count of {items}", "the number of {items}"], ["the tally of {items}"]),
              choices(["Return how many there are.", "Return the number of {those}.", "Return the count of {those}."],
                      ["Report their tally."]), ("count", "how_many")),
    "max": (choices(["the largest of {items}, or None if there are none", "the maximum of {items} (None if there are "
                     "none)"], ["the greatest of {items} (None for none)"]),
            choices(["Return the largest of {those}, or None if there are none.", "Return their maximum (None if "
                     "there are none)."], ["Report the greatest (None for none)."]), ("max", "largest")),
    "min": (choices(["the smallest of {items}, or None if there are none", "the minimum of {items} (None if there are "
                     "none)"], ["the least of {items} (None for none)"]),
            choices(["Return the smallest of {those}, or None if there are none.", "Return their minimum (None if "
                     "there are none)."], ["Report the least (None for none)."]), ("min", "smallest")),
    "list": (choices(["a list of {items}, in their original order", "a new list of {items}, keeping their order"],
                     ["{items}, gathered in order into a list"]),
             choices(["Return {those} as a list, in their original order.", "Return a list of {those}, keeping their "
                      "order."], ["Report them in order as a list."]), ("", "list")),
    "sorted": (choices(["a list of {items}, sorted from smallest to largest", "a list of {items}, in increasing "
                        "order"], ["{items}, ranked upward in a list"]),
               choices(["Return {those} sorted from smallest to largest.", "Return a list of {those} in increasing "
                        "order."], ["Report them ranked upward."]), ("sorted", "ascending")),
    "sorted_desc": (choices(["a list of {items}, sorted from largest to smallest", "a list of {items}, in decreasing "
                             "order"], ["{items}, ranked downward in a list"]),
                    choices(["Return {those} sorted from largest to smallest.", "Return a list of {those} in "
                             "decreasing order."], ["Report them ranked downward."]), ("descending", "sorted_desc")),
    "mean": (choices(["the average of {items}, or None if there are none", "the mean of {items} (None if there are "
                      "none)"], ["the arithmetic middle of {items} (None for none)"]),
             choices(["Return their average, or None if there are none.", "Return the mean of {those} (None if there "
                      "are none)."], ["Report their arithmetic middle (None for none)."]), ("mean", "average")),
    "distinct": (choices(["the number of distinct values among {items}", "how many different values occur among "
                          "{items}"], ["the tally of unlike values among {items}"]),
                 choices(["Return how many different values there are among {those}.", "Return the number of "
                          "distinct values among {those}."], ["Report how many unlike values remain."]),
                 ("distinct_count", "count_distinct")),
    "first": (choices(["the first of {items}, or None if there are none"], ["the earliest of {items} (None for none)"]),
              choices(["Return the first of {those}, or None if there are none."], ["Report the earliest (None for "
                       "none)."]), ("first",)),
    "last": (choices(["the last of {items}, or None if there are none"], ["the latest of {items} (None for none)"]),
             choices(["Return the last of {those}, or None if there are none."], ["Report the latest (None for "
                      "none)."]), ("last",)),
    "positions": (choices(["a list of the positions (indexes) of {items}", "the indexes of {items}, as a list in "
                           "increasing order"], ["where {items} sit, as a list of indexes"]),
                  None, ("positions", "indexes")),
}
NEEDS_FILTER = {"count", "first", "last", "positions"}  # without a filter: len(xs), xs[0] ... not worth a request
LOOP_STEPS = {  # reduction -> (set up, update with {v}, finish), four-space indented at the loop's level
    "sum": ("total = 0", "total += {v}", "return total"),
    "product": ("result = 1", "result *= {v}", "return result"),
    "count": ("count = 0", "count += 1", "return count"),
    "max": ("best = None", "if best is None or {v} > best:\n    best = {v}", "return best"),
    "min": ("best = None", "if best is None or {v} < best:\n    best = {v}", "return best"),
    "list": ("result = []", "result.append({v})", "return result"),
    "sorted": ("result = []", "result.append({v})", "result.sort()\nreturn result"),
    "sorted_desc": ("result = []", "result.append({v})", "result.sort(reverse=True)\nreturn result"),
    "mean": ("total = 0\ncount = 0", "total += {v}\ncount += 1", "return total / count if count else None"),
    "distinct": ("found = set()", "found.add({v})", "return len(found)"),
    "first": ("", "return {v}", "return None"),
    "last": ("result = None", "result = {v}", "return result"),
}
ON_A_LIST = {  # reduction -> the return statement on a list {s}
    "sum": "return sum({s})", "product": "import math\nreturn math.prod({s})", "count": "return len({s})",
    "max": "return max({s}, default=None)", "min": "return min({s}) if {s} else None", "list": "return {s}",
    "sorted": "return sorted({s})", "sorted_desc": "return sorted({s}, reverse=True)",
    "mean": "return sum({s}) / len({s}) if {s} else None", "distinct": "return len(set({s}))",
    "first": "return {s}[0] if {s} else None", "last": "return {s}[-1] if {s} else None",
}
FILTER_STEPS = choices(["Keep the {noun} in {xs} that are {p}.", "Take the {noun} of {xs} that are {p}.",
                        "Select the {noun} in {xs} that are {p}.", "Filter {xs} down to the {noun} that are {p}.",
                        "Look only at the {noun} in {xs} that are {p}."],
                       ["Retain only those {noun} of {xs} that are {p}.", "Sift {xs}, leaving the {noun} that are "
                                                                          "{p}."])
THEN = choices(["then {step}.", "{step}."], ["after that, {step}."])
KEEP_RESULTS = choices(["then keep the results that are {p}", "and keep only the results that are {p}"],
                       ["then retain the outcomes that are {p}"])
KEPT_RESULTS = choices(["the results kept", "those results"], ["the surviving outcomes"])


def capitalized(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def indented(block: str, level: int = 1) -> str:
    return "".join("    " * level + line + "\n" for line in block.split("\n") if line)


def constants(rng: random.Random) -> dict:
    low = rng.randint(-5, 5)
    return {"k": rng.randint(-3, 10), "m": rng.choice([3, 4, 5, 7]), "lo": low, "hi": low + rng.randint(2, 9)}


def identifier(part: str, values: dict) -> str:
    return part.format(**{key: str(value).replace("-", "minus_") for key, value in values.items()})


def loop_body(xs: str, x: str, reduction: str, condition: str, expression: str, map_first: bool) -> str:
    set_up, update, finish = LOOP_STEPS[reduction]
    value = "y" if map_first else expression
    step = f"        y = {expression}\n" if map_first else ""
    inner = indented(update.format(v=value), 3 if condition else 2)
    test = f"        if {condition}:\n" if condition else ""
    return indented(set_up) + f"    for {x} in {xs}:\n" + step + test + inner + indented(finish)


def list_body(xs: str, x: str, reduction: str, condition: str, expression: str, map_first: bool) -> str:
    if map_first:
        values = f"[y for y in [{expression} for {x} in {xs}] if {condition}]"
    else:
        values = f"[{expression} for {x} in {xs}" + (f" if {condition}]" if condition else "]")
    inline = {"sum": f"return sum({values[1:-1]})", "count": f"return len({values})",
              "max": f"return max(({values[1:-1]}), default=None)", "list": f"return {values}",
              "sorted": f"return sorted({values[1:-1]})", "distinct": f"return len({{{values[1:-1]}}})"}
    if reduction in inline:
        return indented(inline[reduction])
    return indented(f"kept = {values}\n" + ON_A_LIST[reduction].format(s="kept"))


def stages_body(xs: str, x: str, reduction: str, condition: str, expression: str, map_first: bool,
                mapped: bool) -> str:
    if map_first:
        lines = f"results = [{expression} for {x} in {xs}]\nkept = [y for y in results if {condition}]\n"
        return indented(lines + ON_A_LIST[reduction].format(s="kept"))
    lines, last = "", xs
    if condition:
        lines, last = f"kept = [{x} for {x} in {xs} if {condition}]\n", "kept"
    if mapped:
        lines, last = lines + f"results = [{expression} for {x} in {last}]\n", "results"
    return indented(lines + ON_A_LIST[reduction].format(s=last))


def positions_bodies(xs: str, x: str, test: str, values: dict) -> list[str]:
    """The indexes of the items that pass `test` (a FILTERS condition, {x} not yet filled in)."""
    condition, at_index = test.format(x=x, **values), test.format(x=f"{xs}[i]", **values)
    return [f"    return [i for i, {x} in enumerate({xs}) if {condition}]\n",
            f"    result = []\n    for i, {x} in enumerate({xs}):\n        if {condition}:\n"
            "            result.append(i)\n    return result\n",
            f"    result = []\n    for i in range(len({xs})):\n        if {at_index}:\n"
            "            result.append(i)\n    return result\n"]


def chain(rng: random.Random, words: Wording) -> Draft:
    """A filter, a map and a reduction on a list of numbers (the first two optional), in one sentence or in steps."""
    xs, x = words.pick(rng, NUMBER_LISTS)
    reduction = pick(rng, list(REDUCTIONS))
    has_filter = reduction in NEEDS_FILTER or rng.random() < 0.6
    has_map = reduction != "positions" and (not has_filter or rng.random() < 0.6)
    map_first = has_filter and has_map and (reduction == "count" or rng.random() < 0.3)  # a map before a count
    in_steps = map_first or (reduction != "positions" and rng.random() < 0.45)
    test, filter_name, filter_phrases = pick(rng, FILTERS) if has_filter else ("", "", None)
    expression, map_name, prefixes, each, verbs = pick(rng, MAPS) if has_map else ("{x}", "", None, None, None)
    filter_values, map_values = constants(rng), constants(rng) | {"k": rng.randint(2, 10)}
    condition = test.format(x="y" if map_first else x, **filter_values)
    item = expression.format(x=x, **map_values)
    phrase = words.pick(rng, filter_phrases).format(**filter_values) if has_filter else ""
    noun = words.pick(rng, NOUNS)
    if noun == xs:  # not "the items of items"
        noun = "values" if xs == "numbers" else "numbers"
    forms, results, name_words = REDUCTIONS[reduction]
    if in_steps:
        summary, what = steps_request(rng, words, xs, noun, phrase, map_first,
                                      verbs and (lambda them: words.pick(rng, verbs).format(them=them, **map_values)),
                                      results), ""
    else:
        items = words.pick(rng, SOURCES).format(noun=noun, xs=xs) + (f" that are {phrase}" if has_filter else "")
        if has_map and prefixes and rng.random() < 0.6:
            items = words.pick(rng, prefixes).format(items=items)
        elif has_map:
            items = f"{items}, {words.pick(rng, each).format(**map_values)}"
        what = words.pick(rng, forms).format(items=items)
        summary = words.value_request(rng, what)
    parts = [pick(rng, name_words), identifier(filter_name, filter_values), identifier(map_name, map_values)]
    name = "_".join(part for part in parts if part)
    if reduction == "positions":
        bodies = positions_bodies(xs, x, test, filter_values)
    else:
        bodies = [loop_body(xs, x, reduction, condition, item, map_first),
                  list_body(xs, x, reduction, condition, item, map_first),
                  stages_body(xs, x, reduction, condition, item, map_first, has_map)]
    return Draft("chain", name, [xs], summary, bodies, lambda rng: (int_list(rng),), edge=[([],), ([4, -3, 8, 0],)],
                 what=what)


def steps_request(rng: random.Random, words: Wording, xs: str, noun: str, phrase: str, map_first: bool, verb,
                  results) -> str:
    """The steps, then the result: "Keep the numbers in nums that are even. Square each of them. Return their sum."
    `verb(them)` words the map (None: no map)."""
    if map_first:
        keep = words.pick(rng, KEEP_RESULTS).format(p=phrase)
        sentences, those = [capitalized(f"{verb(words.pick(rng, EACH_OF_LIST).format(xs=xs))}, {keep}.")], \
            words.pick(rng, KEPT_RESULTS)
    elif phrase:
        kept = words.pick(rng, FILTER_STEPS).format(noun=noun, xs=xs, p=phrase)
        if verb is None:
            sentences, those = [kept], words.pick(rng, KEPT)
        elif rng.random() < 0.5:
            sentences, those = [f"{kept[:-1]} and {verb(words.pick(rng, EACH_OF_KEPT))}."], words.pick(rng, RESULTS)
        else:
            then = words.pick(rng, THEN).format(step=verb(words.pick(rng, EACH_OF_KEPT)))
            sentences, those = [kept, capitalized(then)], words.pick(rng, RESULTS)
    else:
        sentences, those = [capitalized(verb(words.pick(rng, EACH_OF_LIST).format(xs=xs))) + "."], \
            words.pick(rng, RESULTS)
    return " ".join(sentences + [words.pick(rng, results).format(those=those)])
