"""Operations on two lists and on lists of lists: zipping, element-wise arithmetic, the dot product, interleaving,
merging, set-like questions, and rows of a grid (flatten, transpose, sums of rows).

Each is an `Op` (`tables.py`) with two or more bodies; lists that must have the same length are drawn so, and the
words say so.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import Draft, int_list
from tinygpt.data.exercises.tables import Op, draw_op
from tinygpt.data.exercises.wording import Wording, choices

__all__ = ["TWO_LIST_OPS", "two_list_op"]


def two_lists(rng: random.Random) -> tuple:
    return int_list(rng, -5, 9, 6), int_list(rng, -5, 9, 6)


def equal_lists(rng: random.Random) -> tuple:
    size = rng.randint(0, 6)
    return [rng.randint(-9, 12) for _ in range(size)], [rng.randint(-9, 12) for _ in range(size)]


def grid(rng: random.Random) -> tuple:
    width = rng.randint(1, 4)
    return ([[rng.randint(-5, 9) for _ in range(width)] for _ in range(rng.randint(0, 4))],)


def ragged(rng: random.Random) -> tuple:
    return ([int_list(rng, -5, 9, 4)[:rng.randint(0, 4)] for _ in range(rng.randint(0, 4))],)


ELEMENTWISE = [  # (names, expression of {a} and {b}, words); the two lists have the same length
    (("add_lists", "elementwise_sum", "pairwise_add"), "{a} + {b}",
     choices(["a list of the sums of the numbers at the same position in {0} and {1} (two lists of equal length)",
              "the element-wise sum of {0} and {1}, two lists of the same length, as a list"],
             ["{0} and {1} combined position by position by addition"])),
    (("subtract_lists", "elementwise_difference"), "{a} - {b}",
     choices(["a list of {0}[i] - {1}[i] for each position i ({0} and {1} have the same length)",
              "the element-wise difference {0} minus {1} of two lists of equal length, as a list"],
             ["each entry of {1} taken away from the matching entry of {0}, as a list"])),
    (("multiply_lists", "elementwise_product"), "{a} * {b}",
     choices(["a list of the products of the numbers at the same position in {0} and {1} (two lists of equal "
              "length)", "the element-wise product of the equally long lists {0} and {1}, as a list"],
             ["{0} and {1} combined position by position by multiplication"])),
    (("pairwise_max", "elementwise_max"), "max({a}, {b})",
     choices(["a list holding, at each position, the larger of the numbers of {0} and {1} there (the lists have "
              "the same length)", "the element-wise maximum of the equally long lists {0} and {1}, as a list"],
             ["the winner of each positional contest between {0} and {1}, as a list"])),
    (("pairwise_min", "elementwise_min"), "min({a}, {b})",
     choices(["a list holding, at each position, the smaller of the numbers of {0} and {1} there (the lists have "
              "the same length)", "the element-wise minimum of the equally long lists {0} and {1}, as a list"],
             ["the loser of each positional contest between {0} and {1}, as a list"])),
]

TWO_LIST_OPS = [
    Op(names, ("two lists",), words,
       ("    return [" + expression.format(a="x", b="y") + " for x, y in zip({0}, {1})]\n",
        "    return [" + expression.format(a="{0}[i]", b="{1}[i]") + " for i in range(len({0}))]\n",
        "    result = []\n    for x, y in zip({0}, {1}):\n        result.append(" + expression.format(a="x", b="y")
        + ")\n    return result\n"),
       equal_lists, (([], []), ([1, 2], [3, -4])))
    for names, expression, words in ELEMENTWISE
] + [
    Op(("dot_product", "dot", "sum_of_products"), ("two lists",),
       choices(["the sum of the products of the numbers at the same positions in {0} and {1} (two lists of equal "
                "length)", "the dot product of the equally long lists {0} and {1}"],
               ["the total of {0}[i] * {1}[i] over every shared position i"]),
       ("    return sum(x * y for x, y in zip({0}, {1}))\n",
        "    total = 0\n    for i in range(len({0})):\n        total += {0}[i] * {1}[i]\n    return total\n"),
       equal_lists, (([], []), ([1, 2], [3, -4]))),
    Op(("zip_lists", "pair_up", "zipped"), ("two lists",),
       choices(["a list of tuples pairing each item of {0} with the item at the same position in {1}, as long as "
                "the shorter list", "a list of the pairs ({0}[i], {1}[i]) for every position i both lists have"],
               ["{0} and {1} stitched into (left, right) tuples until either runs dry"]),
       ("    return list(zip({0}, {1}))\n",
        "    return [({0}[i], {1}[i]) for i in range(min(len({0}), len({1})))]\n",
        "    result = []\n    for i in range(min(len({0}), len({1}))):\n        result.append(({0}[i], {1}[i]))\n"
        "    return result\n"),
       two_lists, (([], [1]), ([1, 2, 3], [4, 5]))),
    Op(("interleave", "alternate", "weave"), ("two lists",),
       choices(["a list of the items of {0} and {1} taken in turn, starting with {0}; when one list runs out, the "
                "rest of the other follows",
                "{0}[0], {1}[0], {0}[1], {1}[1] and so on, as one list, with the leftover items of the longer list "
                "at the end"],
               ["{0} and {1} shuffled together like cards, {0} leading, extras tacked on last"]),
       ("    result = []\n    for i in range(max(len({0}), len({1}))):\n        if i < len({0}):\n"
        "            result.append({0}[i])\n        if i < len({1}):\n            result.append({1}[i])\n"
        "    return result\n",
        "    result = []\n    for x, y in zip({0}, {1}):\n        result += [x, y]\n    shorter = min(len({0}), "
        "len({1}))\n"
        "    return result + {0}[shorter:] + {1}[shorter:]\n"),
       two_lists, (([], [1]), ([1, 2, 3], [4, 5]))),
    Op(("merge_sorted", "sorted_union_with_repeats", "merge_all"), ("two lists",),
       choices(["all the numbers of {0} and {1} together, sorted from smallest to largest, repeats kept",
                "a sorted list of every item of {0} and every item of {1}"],
               ["the contents of {0} and {1} pooled and put in increasing order, duplicates included"]),
       ("    return sorted({0} + {1})\n",
        "    result = list({0})\n    result.extend({1})\n    result.sort()\n    return result\n"),
       two_lists, (([], [2, 1]), ([3, 1], [2]))),
    Op(("common_sorted", "shared_values", "intersection"), ("two lists",),
       choices(["a sorted list of the values that are in both {0} and {1}, each once",
                "the distinct values {0} and {1} have in common, in increasing order"],
               ["every value present in {0} and also in {1}, once each, in increasing order"]),
       ("    return sorted(set({0}) & set({1}))\n",
        "    result = []\n    for x in {0}:\n        if x in {1} and x not in result:\n            result.append(x)\n"
        "    return sorted(result)\n"),
       lambda rng: (int_list(rng, 0, 8, 6), int_list(rng, 0, 8, 6)), (([], [1]), ([1, 2, 2], [2, 3]))),
    Op(("all_values", "union_sorted"), ("two lists",),
       choices(["a sorted list of the values that are in {0} or in {1} (or both), each once",
                "the distinct values of {0} and {1} together, in increasing order"],
               ["every value found in either {0} or {1}, once each, in increasing order"]),
       ("    return sorted(set({0}) | set({1}))\n",
        "    result = []\n    for x in {0} + {1}:\n        if x not in result:\n            result.append(x)\n"
        "    return sorted(result)\n"),
       lambda rng: (int_list(rng, 0, 8, 6), int_list(rng, 0, 8, 6)), (([], [1]), ([1, 2, 2], [2, 3]))),
    Op(("in_exactly_one", "symmetric_difference"), ("two lists",),
       choices(["a sorted list of the values that are in exactly one of {0} and {1}, each once",
                "the distinct values found in {0} or in {1} but not in both, in increasing order"],
               ["every value that only one of {0} and {1} holds, once each, in increasing order"]),
       ("    return sorted(set({0}) ^ set({1}))\n",
        "    result = set()\n    for x in {0} + {1}:\n        if (x in {0}) != (x in {1}):\n            result.add(x)\n"
        "    return sorted(result)\n"),
       lambda rng: (int_list(rng, 0, 8, 6), int_list(rng, 0, 8, 6)), (([], [1]), ([1, 2, 2], [2, 3]))),
    Op(("no_common_values", "disjoint"), ("two lists",),
       choices([("{0} and {1}", "have", "no value in common"), ("no value of {0}", "is", "also in {1}")],
               [("{0} and {1}", "share", "nothing at all")]),
       ("    return not set({0}) & set({1})\n",
        "    for x in {0}:\n        if x in {1}:\n            return False\n    return True\n"),
       lambda rng: (int_list(rng, 0, 12, 4), int_list(rng, 0, 12, 4)), (([], [1]), ([1, 2], [2, 3]))),
    Op(("contains_all", "is_subset"), ("two lists",),
       choices([("every value of {0}", "is", "also in {1}"), ("all the numbers in {0}", "are", "found in {1}")],
               [("{1}", "covers", "each value of {0}")]),
       ("    return set({0}) <= set({1})\n", "    return all(x in {1} for x in {0})\n",
        "    for x in {0}:\n        if x not in {1}:\n            return False\n    return True\n"),
       lambda rng: (int_list(rng, 0, 5, 3), int_list(rng, 0, 5, 7)), (([], [1]), ([1, 2], [2, 1, 3]))),
    Op(("same_length", "equal_lengths"), ("two lists",),
       choices([("{0} and {1}", "have", "the same number of items"), ("{0}", "is", "exactly as long as {1}")],
               [("{0} and {1}", "match", "in size")]),
       ("    return len({0}) == len({1})\n",
        "    if len({0}) != len({1}):\n        return False\n    return True\n"),
       lambda rng: (int_list(rng, 0, 5, 3), int_list(rng, 0, 5, 3)), (([], []), ([1, 2], [2]))),
    Op(("flatten_rows", "flatten_once", "concatenate_rows"), ("rows",),
       choices(["one list of all the items of the lists in {0}, in order", "the lists of {0} joined end to end into "
                "one list"], ["{0} squashed one level into a single list"]),
       ("    return [item for row in {0} for item in row]\n",
        "    result = []\n    for row in {0}:\n        result.extend(row)\n    return result\n",
        "    return sum({0}, [])\n"),
       ragged, (([],), ([[1, 2], [], [3]],))),
    Op(("row_sums", "sum_each_row", "totals_per_row"), ("rows",),
       choices(["a list of the sums of the lists in {0}, in order", "the sum of each row of {0}, as a list"],
               ["the total of every inner list of {0}, collected in a list"]),
       ("    return [sum(row) for row in {0}]\n",
        "    result = []\n    for row in {0}:\n        total = 0\n        for item in row:\n            total += item\n"
        "        result.append(total)\n    return result\n"),
       ragged, (([],), ([[1, 2], [], [3]],))),
    Op(("longest_row", "biggest_group"), ("rows",),
       choices(["the longest list in {0} (the first one on a tie), or None if {0} is empty",
                "the inner list of {0} with the most items, the earliest on a tie; None if there are none"],
               ["whichever inner list of {0} is lengthiest (earliest wins ties), None when {0} is empty"]),
       ("    return max({0}, key=len, default=None)\n",
        "    best = None\n    for row in {0}:\n        if best is None or len(row) > len(best):\n            best = "
        "row\n"
        "    return best\n"),
       ragged, (([],), ([[1], [2, 3], [4, 5]],))),
    Op(("transpose", "columns"), ("rows",),
       choices(["the columns of the rectangular list of lists {0}, as a list of lists, first column first",
                "{0}, a grid whose rows all have the same length, turned so that its columns become rows"],
               ["{0} flipped across its diagonal (rows into columns), a rectangular grid"]),
       ("    return [list(column) for column in zip(*{0})]\n",
        "    if not {0}:\n        return []\n    return [[row[i] for row in {0}] for i in range(len({0}[0]))]\n"),
       grid, (([],), ([[1, 2, 3], [4, 5, 6]],))),
    Op(("column_sums", "sum_each_column"), ("rows",),
       choices(["a list of the sums of the columns of the rectangular list of lists {0}",
                "the sum of each column of {0}, a grid whose rows all have the same length, as a list"],
               ["the total down every column of the rectangular grid {0}, as a list"]),
       ("    return [sum(column) for column in zip(*{0})]\n",
        "    if not {0}:\n        return []\n    result = [0] * len({0}[0])\n    for row in {0}:\n"
        "        for i, item in enumerate(row):\n            result[i] += item\n    return result\n"),
       grid, (([],), ([[1, 2, 3], [4, 5, 6]],))),
]


def two_list_op(rng: random.Random, words: Wording) -> Draft:
    return draw_op(rng, words, TWO_LIST_OPS, "two_lists")
