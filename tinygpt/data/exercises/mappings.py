"""Operations on dictionaries, tuples and sets: grouping, inverting, counting, filtering by value, merging, the key
of the largest value, sorting keys by value, building a dict from two lists or from pairs, pairs sorted by their
second item, and repeated values.

Each is an `Op` (`tables.py`) with two or more bodies; where a dictionary is returned, every body inserts its keys
in the same order (the tests compare reprs), and the words say which order that is when it matters.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import WORDS, Draft, int_list, pick
from tinygpt.data.exercises.tables import Op, draw_op, sentence_text, word_list
from tinygpt.data.exercises.wording import Wording, choices

__all__ = ["MAPPING_OPS", "mapping_op"]


def scores(rng: random.Random, low: int = -5, high: int = 20) -> dict:
    return {word: rng.randint(low, high) for word in rng.sample(WORDS, rng.randint(0, 5))}


def scores_and_limit(rng: random.Random) -> tuple:
    return scores(rng), rng.randint(0, 12)


def some_pairs(rng: random.Random) -> tuple:
    return ([(pick(rng, WORDS[:8]), rng.randint(0, 9)) for _ in range(rng.randint(0, 5))],)


def lists_by_key(rng: random.Random) -> tuple:
    return ({word: int_list(rng, -3, 9, 4)[:rng.randint(0, 4)] for word in rng.sample(WORDS, rng.randint(0, 4))},)


MAPPING_OPS = [
    Op(("group_by_length", "words_by_length"), ("words",),
       choices(["a dictionary mapping each length to the list of the strings of {0} that have it, in their order",
                "the strings of {0} grouped by length: a dict from a length to those strings, in order"],
               ["{0} bucketed by character count into a dict of lists"]),
       ("    result = {{}}\n    for word in {0}:\n        result.setdefault(len(word), []).append(word)\n"
        "    return result\n",
        "    result = {{}}\n    for word in {0}:\n        if len(word) in result:\n            "
        "result[len(word)].append(word)\n"
        "        else:\n            result[len(word)] = [word]\n    return result\n"),
       lambda rng: (word_list(rng),), (([],), (["ab", "c", "de"],))),
    Op(("group_by_initial", "index_by_first_letter"), ("words",),
       choices(["a dictionary mapping each first character to the list of the strings of {0} that start with it, in "
                "order", "the strings of {0} grouped by their first character, as a dict of lists"],
               ["{0} filed under their opening letters in a dict of lists"]),
       ("    result = {{}}\n    for word in {0}:\n        result.setdefault(word[0], []).append(word)\n"
        "    return result\n",
        "    result = {{}}\n    for word in {0}:\n        if word[0] not in result:\n            result[word[0]] = []\n"
        "        result[word[0]].append(word)\n    return result\n"),
       lambda rng: (word_list(rng),), (([],), (["ab", "cd", "ae"],))),
    Op(("split_by_parity", "evens_and_odds"), ("nums",),
       choices(["a dictionary with the key 'even' for the list of the even numbers of {0} and the key 'odd' for the "
                "list of its odd numbers, each in order", "{{'even': the even numbers of {0}, 'odd': its odd numbers}},"
                " both lists in their original order"],
               ["the values of {0} sorted into an 'even' list and an 'odd' list, held in a dict"]),
       ("    return {{'even': [x for x in {0} if x % 2 == 0], 'odd': [x for x in {0} if x % 2 != 0]}}\n",
        "    result = {{'even': [], 'odd': []}}\n    for x in {0}:\n        if x % 2 == 0:\n"
        "            result['even'].append(x)\n        else:\n            result['odd'].append(x)\n    return "
        "result\n"),
       lambda rng: (int_list(rng),), (([],), ([1, 2, 3],))),
    Op(("invert_to_lists", "keys_by_value"), ("d",),
       choices(["a dictionary mapping each value of {0} to the list of the keys that have that value, in the order "
                "of {0}", "{0} inverted: each value becomes a key whose value is the list of the keys of {0} that "
                "had it"], ["a reverse index of {0}: value to every key holding it, in order"]),
       ("    result = {{}}\n    for key, val in {0}.items():\n        result.setdefault(val, []).append(key)\n"
        "    return result\n",
        "    return {{val: [key for key in {0} if {0}[key] == val] for val in {0}.values()}}\n"),
       lambda rng: (scores(rng, 0, 3),), (({},), ({"a": 1, "b": 2, "c": 1},))),
    Op(("word_counts", "word_frequencies"), ("s",),
       choices(["a dictionary mapping each word of {0} to the number of times it occurs, words in the order they "
                "first occur", "how often each word of {0} occurs, as a dict from word to count"],
               ["a tally of the words of {0} kept in a dict"]),
       ("    result = {{}}\n    for word in {0}.split():\n        result[word] = result.get(word, 0) + 1\n"
        "    return result\n",
        "    parts = {0}.split()\n    return {{word: parts.count(word) for word in parts}}\n"),
       lambda rng: (" ".join(pick(rng, ["red", "blue", "sun", "moon"]) for _ in range(rng.randint(0, 6))),),
       (("",), ("a b a",))),
    Op(("count_by_value", "value_histogram"), ("d",),
       choices(["a dictionary mapping each value of {0} to how many keys have that value",
                "for every value in {0}, the number of keys holding it, as a dict"],
               ["a histogram of the values of {0}, as a dict"]),
       ("    result = {{}}\n    for val in {0}.values():\n        result[val] = result.get(val, 0) + 1\n"
        "    return result\n",
        "    values = list({0}.values())\n    return {{val: values.count(val) for val in values}}\n"),
       lambda rng: (scores(rng, 0, 3),), (({},), ({"a": 1, "b": 2, "c": 1},))),
    Op(("filter_above", "entries_above"), ("d", "limit"),
       choices(["a new dictionary with only the keys of {0} whose value is greater than {1}, with their values",
                "the items of {0} with a value above {1}, as a dict in the same order"],
               ["{0} trimmed to the keys whose values exceed {1}"]),
       ("    return {{key: val for key, val in {0}.items() if val > {1}}}\n",
        "    result = {{}}\n    for key in {0}:\n        if {0}[key] > {1}:\n            result[key] = {0}[key]\n"
        "    return result\n"),
       scores_and_limit, (({}, 3), ({"a": 1, "b": 5}, 3))),
    Op(("count_above", "how_many_above"), ("d", "limit"),
       choices(["how many values of {0} are greater than {1}", "the number of keys of {0} whose value is above {1}"],
               ["the tally of entries of {0} with values exceeding {1}"]),
       ("    return sum(1 for val in {0}.values() if val > {1})\n",
        "    total = 0\n    for key in {0}:\n        if {0}[key] > {1}:\n            total += 1\n    return total\n"),
       scores_and_limit, (({}, 3), ({"a": 1, "b": 5}, 3))),
    Op(("merge_dicts", "combined", "merge"), ("two dicts",),
       choices(["a new dictionary with the keys and values of {0} and of {1}; for a key in both, the value from {1}",
                "{0} updated with {1}, as a new dictionary ({1} wins where both have a key)"],
               ["the union of {0} and {1}, {1} overriding shared keys, as a fresh dict"]),
       ("    return {{**{0}, **{1}}}\n",
        "    result = dict({0})\n    for key, val in {1}.items():\n        result[key] = val\n    return result\n",
        "    result = {0}.copy()\n    result.update({1})\n    return result\n"),
       lambda rng: (scores(rng), scores(rng)), (({}, {"a": 1}), ({"a": 1, "b": 2}, {"b": 3}))),
    Op(("key_of_max", "best_key", "argmax_key"), ("d",),
       choices(["the key of {0} with the largest value (the first such key on a tie), or None if {0} is empty",
                "the key whose value in {0} is the biggest, the earliest on a tie; None for an empty dictionary"],
               ["whichever key of {0} holds the top value (earliest wins ties), None when {0} is empty"]),
       ("    return max({0}, key={0}.get, default=None)\n",
        "    best = None\n    for key in {0}:\n        if best is None or {0}[key] > {0}[best]:\n            best = "
        "key\n"
        "    return best\n"),
       lambda rng: (scores(rng, 0, 6),), (({},), ({"a": 2, "b": 5, "c": 5},))),
    Op(("key_of_min", "worst_key"), ("d",),
       choices(["the key of {0} with the smallest value (the first such key on a tie), or None if {0} is empty",
                "the key whose value in {0} is the lowest, the earliest on a tie; None for an empty dictionary"],
               ["whichever key of {0} holds the bottom value (earliest wins ties), None when {0} is empty"]),
       ("    return min({0}, key={0}.get, default=None)\n",
        "    best = None\n    for key in {0}:\n        if best is None or {0}[key] < {0}[best]:\n            best = "
        "key\n"
        "    return best\n"),
       lambda rng: (scores(rng, 0, 6),), (({},), ({"a": 2, "b": 1, "c": 1},))),
    Op(("keys_by_value", "ranked_keys"), ("d",),
       choices(["a list of the keys of {0} sorted by their values, smallest value first (keys with equal values "
                "keep their order in {0})", "the keys of {0} ordered from the lowest value to the highest, ties in "
                "their order in {0}"], ["{0}'s keys ranked upward by value, stable on ties"]),
       ("    return sorted({0}, key={0}.get)\n",
        "    return [key for key, val in sorted({0}.items(), key=lambda item: item[1])]\n"),
       lambda rng: (scores(rng, 0, 6),), (({},), ({"a": 2, "b": 1, "c": 1},))),
    Op(("sorted_items", "items_by_key"), ("d",),
       choices(["a list of the (key, value) pairs of {0}, sorted by key", "the items of {0} as tuples, in "
                "alphabetical order of their keys"], ["{0} flattened to (key, value) tuples, keys in order"]),
       ("    return sorted({0}.items())\n",
        "    return [(key, {0}[key]) for key in sorted({0})]\n"),
       lambda rng: (scores(rng),), (({},), ({"b": 1, "a": 2},))),
    Op(("scale_values", "multiply_values"), ("d", "amount"),
       choices(["a new dictionary with the same keys as {0} and every value multiplied by {1}",
                "{0} with each value times {1}, as a new dict"], ["{0} with every value scaled by a factor of {1}"]),
       ("    return {{key: val * {1} for key, val in {0}.items()}}\n",
        "    result = {{}}\n    for key in {0}:\n        result[key] = {0}[key] * {1}\n    return result\n"),
       lambda rng: (scores(rng), rng.randint(-3, 5)), (({}, 2), ({"a": 1}, 3))),
    Op(("zip_to_dict", "dict_from_lists"), ("keys and values",),
       choices(["a dictionary mapping each item of {0} to the item at the same position in {1} (the two lists have "
                "the same length and {0} has no repeats)", "the dict whose keys are the items of {0} and whose "
                "values are the items of {1}, matched by position ({0} has no repeats, both lists are as long)"],
               ["{0} and {1} paired position by position into a dict (distinct {0}, equal lengths)"]),
       ("    return dict(zip({0}, {1}))\n",
        "    result = {{}}\n    for i in range(len({0})):\n        result[{0}[i]] = {1}[i]\n    return result\n"),
       lambda rng: (lambda keys: (keys, [rng.randint(0, 9) for _ in keys]))(rng.sample(WORDS, rng.randint(0, 4))),
       (([], []), (["a", "b"], [1, 2]))),
    Op(("pairs_to_dict", "dict_of_pairs"), ("pairs",),
       choices(["a dictionary built from the (key, value) pairs in {0}, a later pair replacing the value of an "
                "earlier pair with the same key", "the dict of the key-value tuples in {0}, the last value winning "
                "for a repeated key"], ["{0}, a list of 2-tuples, folded into a dict (later entries override)"]),
       ("    return dict({0})\n",
        "    result = {{}}\n    for key, val in {0}:\n        result[key] = val\n    return result\n"),
       some_pairs, (([],), ([("a", 1), ("a", 2)],))),
    Op(("sort_pairs_by_second", "rank_pairs"), ("pairs",),
       choices(["the pairs in {0} sorted by their second item, largest first (pairs with equal second items keep "
                "their order)", "a new list of the tuples of {0} ordered by second item from highest to lowest, "
                "ties in their original order"], ["{0} ranked downward by the number each tuple holds, stable"]),
       ("    return sorted({0}, key=lambda pair: pair[1], reverse=True)\n",
        "    return sorted({0}, key=lambda pair: -pair[1])\n"),
       some_pairs, (([],), ([("a", 1), ("b", 3), ("c", 1)],))),
    Op(("sum_of_seconds", "total_of_second_items"), ("pairs",),
       choices(["the sum of the second items of the pairs in {0}", "the total of the numbers in the second "
                "position of the tuples of {0}"], ["what the numeric halves of the tuples of {0} add to"]),
       ("    return sum(pair[1] for pair in {0})\n",
        "    total = 0\n    for key, val in {0}:\n        total += val\n    return total\n"),
       some_pairs, (([],), ([("a", 1), ("b", 3)],))),
    Op(("swap_pairs", "flipped_pairs"), ("pairs",),
       choices(["a list of the pairs of {0} with their two items swapped", "the tuples of {0}, each turned into "
                "(second item, first item), as a list"], ["{0} with every 2-tuple reversed"]),
       ("    return [(val, key) for key, val in {0}]\n",
        "    result = []\n    for pair in {0}:\n        result.append((pair[1], pair[0]))\n    return result\n"),
       some_pairs, (([],), ([("a", 1)],))),
    Op(("numbered", "enumerate_from_one"), ("words",),
       choices(["a list of (number, string) tuples for the strings of {0}, numbered from 1",
                "the items of {0} paired with their positions counted from 1, as (position, item) tuples"],
               ["{0} labelled 1, 2, 3 and so on, as (label, entry) tuples"]),
       ("    return list(enumerate({0}, 1))\n",
        "    result = []\n    for i in range(len({0})):\n        result.append((i + 1, {0}[i]))\n    return result\n"),
       lambda rng: (word_list(rng),), (([],), (["a", "b"],))),
    Op(("with_lengths", "length_pairs"), ("words",),
       choices(["a list of (string, length) tuples for the strings of {0}, in order",
                "each item of {0} paired with its number of characters, as a list of tuples"],
               ["{0} annotated with lengths as (entry, size) tuples"]),
       ("    return [(word, len(word)) for word in {0}]\n",
        "    result = []\n    for word in {0}:\n        result.append((word, len(word)))\n    return result\n"),
       lambda rng: (word_list(rng),), (([],), (["ab"],))),
    Op(("repeated_values", "duplicates"), ("nums",),
       choices(["a sorted list of the values that occur more than once in {0}, each once",
                "the values of {0} that are repeated, each listed once, in increasing order"],
               ["every value showing up twice or more in {0}, once each, in increasing order"]),
       ("    return sorted({{x for x in {0} if {0}.count(x) > 1}})\n",
        "    result = []\n    for x in {0}:\n        if {0}.count(x) > 1 and x not in result:\n            "
        "result.append(x)\n"
        "    return sorted(result)\n"),
       lambda rng: (int_list(rng, 0, 6, 8),), (([],), ([3, 1, 3, 2, 1],))),
    Op(("sum_of_lists", "total_of_all_lists"), ("d",),
       choices(["the sum of all the numbers in the lists that are the values of {0}",
                "the total of every number stored in {0}, a dictionary whose values are lists of numbers"],
               ["what all the numeric lists held in {0} add up to together"]),
       ("    return sum(sum(val) for val in {0}.values())\n",
        "    total = 0\n    for key in {0}:\n        for x in {0}[key]:\n            total += x\n    return total\n"),
       lists_by_key, (({},), ({"a": [1, 2], "b": []},))),
    Op(("list_sums", "sum_per_key"), ("d",),
       choices(["a dictionary with the same keys as {0}, each mapped to the sum of its list of numbers",
                "for every key of {0} (whose values are lists of numbers), the total of its list, as a dict"],
               ["{0} with each list of numbers collapsed to its total"]),
       ("    return {{key: sum(val) for key, val in {0}.items()}}\n",
        "    result = {{}}\n    for key in {0}:\n        result[key] = 0\n        for x in {0}[key]:\n"
        "            result[key] += x\n    return result\n"),
       lists_by_key, (({},), ({"a": [1, 2], "b": []},))),
    Op(("sentence_lengths", "word_length_map"), ("s",),
       choices(["a dictionary mapping each word of {0} to its number of characters",
                "for every word in {0}, its length, as a dict from word to length"],
               ["the words of {0} keyed to their sizes in a dict"]),
       ("    return {{word: len(word) for word in {0}.split()}}\n",
        "    result = {{}}\n    for word in {0}.split():\n        result[word] = len(word)\n    return result\n"),
       lambda rng: (sentence_text(rng),), (("",), ("a bb",))),
]


def mapping_op(rng: random.Random, words: Wording) -> Draft:
    return draw_op(rng, words, MAPPING_OPS, "dicts")
