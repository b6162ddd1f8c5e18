"""Operations on one list of numbers beyond a filter, a map and a reduction: running totals, neighbours, positions
of the largest and smallest, the second largest, sorting by a key, rotating, slicing, chunking, de-duplicating,
the most common value and small tuples of results.

Each is an `Op` (`tables.py`): the words say exactly what the bodies do, edge cases included (an empty list, ties,
a shift as long as the list), and every op has two or more bodies in different styles.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import Draft, int_list
from tinygpt.data.exercises.tables import Op, draw_op
from tinygpt.data.exercises.wording import Wording, choices

__all__ = ["LIST_OPS", "list_op"]


def one_list(rng: random.Random) -> tuple:
    return (int_list(rng),)


def non_empty_list(rng: random.Random) -> tuple:
    return (int_list(rng, -9, 12, 8),)


def small_values(rng: random.Random) -> tuple:
    return (int_list(rng, 0, 6, 9),)


def list_and_shift(rng: random.Random) -> tuple:
    values = int_list(rng)
    return values, rng.randint(0, len(values))


def list_and_amount(rng: random.Random) -> tuple:
    return int_list(rng), rng.randint(0, 8)


def list_and_target(rng: random.Random) -> tuple:
    return int_list(rng, 0, 5, 8), rng.randint(0, 6)


def list_old_new(rng: random.Random) -> tuple:
    return int_list(rng, 0, 5, 8), rng.randint(0, 5), rng.randint(6, 9)


LIST_OPS = [
    Op(("running_totals", "cumulative_sums", "prefix_sums"), ("nums",),
       choices(["a list of the running totals of {0}", "a list of the cumulative sums of {0}",
                "a list whose i-th item is the sum of the first i + 1 numbers of {0}"],
               ["the partial sums of {0}, gathered into a list"]),
       ("    result = []\n    total = 0\n    for item in {0}:\n        total += item\n        result.append(total)\n"
        "    return result\n",
        "    return [sum({0}[:i + 1]) for i in range(len({0}))]\n",
        "    from itertools import accumulate\n    return list(accumulate({0}))\n"),
       one_list, (([],), ([3, -1, 4],))),
    Op(("differences", "neighbour_differences", "deltas"), ("nums",),
       choices(["a list of the differences between consecutive numbers of {0}, each number minus the one before it",
                "a list of {0}[i] - {0}[i - 1] for every index i from 1 to the end of {0}"],
               ["the step from each value of {0} to the next, collected in a list"]),
       ("    return [{0}[i] - {0}[i - 1] for i in range(1, len({0}))]\n",
        "    result = []\n    for prev, current in zip({0}, {0}[1:]):\n        result.append(current - prev)\n"
        "    return result\n"),
       one_list, (([],), ([5],), ([1, 4, 2],))),
    Op(("neighbour_sums", "pairwise_sums", "adjacent_sums"), ("nums",),
       choices(["a list of the sums of each two neighbouring numbers of {0}, from left to right",
                "a list of {0}[i] + {0}[i + 1] for every index i except the last"],
               ["the totals of every neighbouring couple in {0}, as a list"]),
       ("    return [{0}[i] + {0}[i + 1] for i in range(len({0}) - 1)]\n",
        "    result = []\n    for prev, current in zip({0}, {0}[1:]):\n        result.append(prev + current)\n"
        "    return result\n"),
       one_list, (([],), ([7],), ([1, 4, 2],))),
    Op(("neighbour_pairs", "adjacent_pairs", "consecutive_pairs"), ("nums",),
       choices(["a list of the pairs of neighbouring items of {0}, each a tuple (item, next item)",
                "a list of (item, next item) tuples for each two neighbours in {0}, from left to right"],
               ["every neighbouring couple of {0} as (earlier, later) tuples in a list"]),
       ("    return list(zip({0}, {0}[1:]))\n",
        "    return [({0}[i], {0}[i + 1]) for i in range(len({0}) - 1)]\n",
        "    result = []\n    for i in range(1, len({0})):\n        result.append(({0}[i - 1], {0}[i]))\n"
        "    return result\n"),
       one_list, (([],), ([1, 2, 3],))),
    Op(("index_of_max", "argmax", "position_of_largest"), ("nums",),
       choices(["the index of the largest number in the non-empty list {0} (the first such index on a tie)",
                "the position of the first occurrence of the largest value in the non-empty list {0}"],
               ["where in the non-empty list {0} its greatest value first sits, as an index"]),
       ("    return {0}.index(max({0}))\n",
        "    best = 0\n    for i in range(1, len({0})):\n        if {0}[i] > {0}[best]:\n            best = i\n"
        "    return best\n",
        "    return max(range(len({0})), key=lambda i: {0}[i])\n"),
       non_empty_list, (([3, 9, 9, 1],),)),
    Op(("index_of_min", "argmin", "position_of_smallest"), ("nums",),
       choices(["the index of the smallest number in the non-empty list {0} (the first such index on a tie)",
                "the position of the first occurrence of the smallest value in the non-empty list {0}"],
               ["where in the non-empty list {0} its least value first sits, as an index"]),
       ("    return {0}.index(min({0}))\n",
        "    best = 0\n    for i in range(1, len({0})):\n        if {0}[i] < {0}[best]:\n            best = i\n"
        "    return best\n",
        "    return min(range(len({0})), key=lambda i: {0}[i])\n"),
       non_empty_list, (([3, -2, 5, -2],),)),
    Op(("second_largest", "runner_up"), ("nums",),
       choices(["the second largest distinct value in {0}, or None if {0} has fewer than two distinct values",
                "the largest value of {0} that is smaller than its maximum, or None if there is no such value"],
               ["the value of {0} ranking just below the top one (repeats of the top ignored), None if none"]),
       ("    distinct = sorted(set({0}))\n    if len(distinct) < 2:\n        return None\n    return distinct[-2]\n",
        "    top = None\n    runner = None\n    for item in {0}:\n        if top is None or item > top:\n"
        "            top, runner = item, top\n        elif item < top and (runner is None or item > runner):\n"
        "            runner = item\n    return runner\n"),
       small_values, (([],), ([4, 4],), ([2, 7, 7, 5],))),
    Op(("count_occurrences", "occurrences", "count_of"), ("nums", "target"),
       choices(["how many times {1} occurs in {0}", "the number of times {1} appears in {0}",
                "the number of items of {0} equal to {1}"], ["the frequency of {1} within {0}"]),
       ("    return {0}.count({1})\n",
        "    total = 0\n    for item in {0}:\n        if item == {1}:\n            total += 1\n    return total\n",
        "    return sum(1 for item in {0} if item == {1})\n"),
       list_and_target, (([], 1), ([1, 2, 1], 1))),
    Op(("sort_by_abs", "sorted_by_absolute_value"), ("nums",),
       choices(["a new list of the numbers of {0} sorted by absolute value from smallest to largest, numbers of equal "
                "absolute value keeping their order in {0}",
                "{0} ordered by the absolute value of each number, from smallest to largest (ties keep their order), "
                "as a new list"],
               ["a copy of {0} arranged by distance from zero, nearest first, equal distances left in place"]),
       ("    return sorted({0}, key=abs)\n",
        "    result = list({0})\n    result.sort(key=abs)\n    return result\n",
        "    result = []\n    for item in {0}:\n        i = len(result)\n"
        "        while i > 0 and abs(result[i - 1]) > abs(item):\n            i -= 1\n        result.insert(i, item)\n"
        "    return result\n"),
       one_list, (([],), ([3, -2, 2, -5],))),
    Op(("sort_descending", "largest_first", "sorted_decreasing"), ("nums",),
       choices(["a new list of the numbers of {0} in decreasing order", "{0} sorted from largest to smallest"],
               ["the values of {0} arranged from the top down"]),
       ("    return sorted({0}, reverse=True)\n", "    result = sorted({0})\n    result.reverse()\n    return result\n",
        "    result = list({0})\n    result.sort(reverse=True)\n    return result\n"),
       one_list, (([],), ([1, 3, 2],))),
    Op(("sort_by_last_digit", "by_last_digit"), ("nums",),
       choices(["a new list of the numbers of {0} sorted by their last digit (the last digit of -13 is 3), numbers "
                "with the same last digit keeping their order"],
               ["{0} arranged by final decimal digit of each number (of its absolute value), stable on ties"]),
       ("    return sorted({0}, key=lambda item: abs(item) % 10)\n",
        "    result = list({0})\n    result.sort(key=lambda item: abs(item) % 10)\n    return result\n"),
       lambda rng: (int_list(rng, -40, 99, 7),), (([],), ([21, -13, 11, 5],))),
    Op(("reverse_list", "reversed_copy", "backwards"), ("nums",),
       choices(["the items of {0} in reverse order, as a new list", "a reversed copy of {0}",
                "a new list with the items of {0} from last to first"], ["{0} turned around, as a fresh list"]),
       ("    return {0}[::-1]\n", "    return list(reversed({0}))\n",
        "    result = []\n    for item in {0}:\n        result.insert(0, item)\n    return result\n"),
       one_list, (([],), ([1, 2, 3],))),
    Op(("rotate_left", "rotated_left"), ("nums", "shift"),
       choices(["{0} rotated left by {1} places: its first {1} items moved, in order, to the end ({1} is at most "
                "the length of {0})",
                "a new list of the items of {0} after the first {1}, followed by those first {1} items ({1} is "
                "between 0 and the length of {0})"],
               ["{0} cycled {1} positions leftward, the leading {1} entries wrapping round to the back"]),
       ("    return {0}[{1}:] + {0}[:{1}]\n",
        "    result = list({0})\n    for _ in range({1}):\n        result.append(result.pop(0))\n    return result\n"),
       list_and_shift, (([], 0), ([1, 2, 3], 1))),
    Op(("rotate_right", "rotated_right"), ("nums", "shift"),
       choices(["{0} rotated right by {1} places: its last {1} items moved, in order, to the front ({1} is at "
                "most the length of {0})",
                "a new list of the last {1} items of {0} followed by the items before them ({1} is between 0 and "
                "the length of {0})"],
               ["{0} cycled {1} positions rightward, the trailing {1} entries wrapping round to the front"]),
       ("    cut = len({0}) - {1}\n    return {0}[cut:] + {0}[:cut]\n",
        "    result = list({0})\n    for _ in range({1}):\n        result.insert(0, result.pop())\n    return "
        "result\n"),
       list_and_shift, (([], 0), ([1, 2, 3], 1))),
    Op(("chunks", "chunked", "split_into_chunks"), ("nums", "size"),
       choices(["{0} cut into consecutive chunks of {1} items each (the last chunk may be shorter), as a list of "
                "lists", "a list of the pieces of {0} of length {1}, in order; the last piece holds whatever is left"],
               ["{0} broken into runs of {1} entries (a shorter final run allowed), as nested lists"]),
       ("    return [{0}[i:i + {1}] for i in range(0, len({0}), {1})]\n",
        "    result = []\n    chunk = []\n    for item in {0}:\n        chunk.append(item)\n"
        "        if len(chunk) == {1}:\n            result.append(chunk)\n            chunk = []\n    if chunk:\n"
        "        result.append(chunk)\n    return result\n"),
       lambda rng: (int_list(rng, -9, 12, 9), rng.randint(1, 4)), (([], 2), ([1, 2, 3, 4, 5], 2))),
    Op(("first_k", "take", "head"), ("nums", "amount"),
       choices(["the first {1} items of {0} (all of {0} if it is shorter), as a list",
                "a list of the first {1} items of {0}, or all of {0} if it has fewer"],
               ["the opening {1} entries of {0}, or every entry when there are not that many"]),
       ("    return {0}[:{1}]\n",
        "    result = []\n    for item in {0}:\n        if len(result) == {1}:\n            break\n"
        "        result.append(item)\n    return result\n"),
       list_and_amount, (([], 2), ([1, 2, 3], 0), ([1, 2, 3], 5))),
    Op(("last_k", "tail"), ("nums", "amount"),
       choices(["the last {1} items of {0} (all of {0} if it is shorter), as a list",
                "a list of the final {1} items of {0} in their order, or all of {0} if it has fewer"],
               ["the closing {1} entries of {0}, or every entry when there are not that many"]),
       ("    return {0}[max(len({0}) - {1}, 0):]\n",
        "    result = []\n    for i in range(len({0})):\n        if i >= len({0}) - {1}:\n"
        "            result.append({0}[i])\n    return result\n"),
       list_and_amount, (([], 2), ([1, 2, 3], 0), ([1, 2, 3], 5))),
    Op(("drop_first_k", "without_first_k", "skip_k"), ("nums", "amount"),
       choices(["{0} without its first {1} items, as a new list (empty if {0} is shorter)",
                "a list of the items of {0} that come after the first {1}"],
               ["what remains of {0} once its opening {1} entries are discarded"]),
       ("    return {0}[{1}:]\n",
        "    result = []\n    for i, item in enumerate({0}):\n        if i >= {1}:\n            result.append(item)\n"
        "    return result\n"),
       list_and_amount, (([], 2), ([1, 2, 3], 0), ([1, 2, 3], 5))),
    Op(("every_kth", "every_nth_item", "stride_items"), ("nums", "stride"),
       choices(["a list of every {1}-th item of {0}, starting with the first (the items at positions 0, {1}, "
                "2 * {1}, ...)", "the items of {0} at the positions that are multiples of {1} (0, {1}, 2 * {1}, ...)"],
               ["{0} sampled at a stride of {1}, beginning at index 0"]),
       ("    return {0}[::{1}]\n", "    return [{0}[i] for i in range(0, len({0}), {1})]\n",
        "    result = []\n    for i, item in enumerate({0}):\n        if i % {1} == 0:\n            "
        "result.append(item)\n"
        "    return result\n"),
       lambda rng: (int_list(rng, -9, 12, 9), rng.randint(2, 4)), (([], 2), ([1, 2, 3, 4, 5], 2))),
    Op(("unique_in_order", "dedupe", "without_repeats"), ("nums",),
       choices(["{0} without repeated values: each value once, where it first occurs, in the order of {0}",
                "a list of the distinct values of {0} in the order they first occur"],
               ["{0} with later repeats of any value dropped, first sightings kept in place"]),
       ("    return list(dict.fromkeys({0}))\n",
        "    result = []\n    for item in {0}:\n        if item not in result:\n            result.append(item)\n"
        "    return result\n"),
       small_values, (([],), ([3, 1, 3, 2, 1],))),
    Op(("cumulative_max", "running_max", "best_so_far"), ("nums",),
       choices(["a list whose i-th item is the largest of the first i + 1 numbers of {0}",
                "a list of the running maximum of {0}: at each position, the largest number seen so far"],
               ["the record high of {0} at each step, as a list"]),
       ("    result = []\n    for item in {0}:\n        result.append(item if not result else max(result[-1], item))\n"
        "    return result\n",
        "    return [max({0}[:i + 1]) for i in range(len({0}))]\n"),
       one_list, (([],), ([1, 3, 2, 5],))),
    Op(("count_rises", "count_increases"), ("nums",),
       choices(["how many numbers in {0} are greater than the number just before them",
                "the number of positions i of {0} where {0}[i] is greater than {0}[i - 1]"],
               ["the count of upward steps from one value of {0} to the next"]),
       ("    return sum(1 for prev, current in zip({0}, {0}[1:]) if current > prev)\n",
        "    total = 0\n    for i in range(1, len({0})):\n        if {0}[i] > {0}[i - 1]:\n            total += 1\n"
        "    return total\n"),
       one_list, (([],), ([1, 3, 2, 5],))),
    Op(("most_common", "mode", "most_frequent"), ("nums",),
       choices(["the value that occurs most often in {0} (on a tie, the one that occurs first in {0}), or None if "
                "{0} is empty", "the most frequent value of {0}, the earliest in {0} on a tie; None for an empty list"],
               ["whichever value of {0} repeats the most (earliest wins ties), None when {0} has nothing"]),
       ("    if not {0}:\n        return None\n    return max({0}, key={0}.count)\n",
        "    best = None\n    for item in {0}:\n        if best is None or {0}.count(item) > {0}.count(best):\n"
        "            best = item\n    return best\n"),
       small_values, (([],), ([2, 1, 1, 2, 3],))),
    Op(("min_and_max", "extremes", "smallest_and_largest"), ("nums",),
       choices(["a tuple (smallest, largest) of the numbers in the non-empty list {0}",
                "the smallest and the largest number of the non-empty list {0}, as a tuple in that order"],
               ["a (low, high) tuple with the extremes of the non-empty list {0}"]),
       ("    return (min({0}), max({0}))\n",
        "    low = high = {0}[0]\n    for item in {0}:\n        if item < low:\n            low = item\n"
        "        if item > high:\n            high = item\n    return (low, high)\n",
        "    ordered = sorted({0})\n    return (ordered[0], ordered[-1])\n"),
       non_empty_list, (([4],),)),
    Op(("count_signs", "positives_and_negatives"), ("nums",),
       choices(["a tuple of how many numbers in {0} are positive and how many are negative, in that order",
                "the pair (number of positive values, number of negative values) of {0}, as a tuple"],
               ["a (plus count, minus count) tuple for the signs of the values of {0}"]),
       ("    return (sum(1 for item in {0} if item > 0), sum(1 for item in {0} if item < 0))\n",
        "    positive = negative = 0\n    for item in {0}:\n        if item > 0:\n            positive += 1\n"
        "        elif item < 0:\n            negative += 1\n    return (positive, negative)\n"),
       one_list, (([],), ([0, 3, -1, 2],))),
    Op(("even_odd_sums", "sums_by_parity"), ("nums",),
       choices(["a tuple of the sum of the even numbers of {0} and the sum of its odd numbers, in that order",
                "the pair (sum of the even values, sum of the odd values) of {0}, as a tuple"],
               ["a tuple totalling the values of {0} by parity, evens then odds"]),
       ("    return (sum(item for item in {0} if item % 2 == 0), sum(item for item in {0} if item % 2 != 0))\n",
        "    evens = odds = 0\n    for item in {0}:\n        if item % 2 == 0:\n            evens += item\n"
        "        else:\n            odds += item\n    return (evens, odds)\n"),
       one_list, (([],), ([1, 2, 3, 4],))),
    Op(("find_index", "index_of", "position_of"), ("nums", "target"),
       choices(["the index of the first occurrence of {1} in {0}, or -1 if {1} is not in {0}",
                "the position where {1} first occurs in {0}, or -1 if it does not occur"],
               ["the earliest index holding {1} in {0} (-1 when absent)"]),
       ("    for i, item in enumerate({0}):\n        if item == {1}:\n            return i\n    return -1\n",
        "    return {0}.index({1}) if {1} in {0} else -1\n"),
       list_and_target, (([], 1), ([1, 2, 1], 1))),
    Op(("last_index", "rfind_value"), ("nums", "target"),
       choices(["the index of the last occurrence of {1} in {0}, or -1 if {1} is not in {0}",
                "the position where {1} occurs last in {0}, or -1 if it does not occur"],
               ["the final index holding {1} in {0} (-1 when absent)"]),
       ("    for i in range(len({0}) - 1, -1, -1):\n        if {0}[i] == {1}:\n            return i\n    return -1\n",
        "    found = -1\n    for i, item in enumerate({0}):\n        if item == {1}:\n            found = i\n"
        "    return found\n"),
       list_and_target, (([], 1), ([1, 2, 1], 1))),
    Op(("replace_value", "replace_all", "substitute"), ("nums", "old and new"),
       choices(["a copy of {0} with every {1} replaced by {2}", "a new list like {0} but with each {1} changed to {2}"],
               ["{0} where all entries equal to {1} are swapped for {2}, as a fresh list"]),
       ("    return [{2} if item == {1} else item for item in {0}]\n",
        "    result = []\n    for item in {0}:\n        if item == {1}:\n            result.append({2})\n        "
        "else:\n"
        "            result.append(item)\n    return result\n"),
       list_old_new, (([], 1, 7), ([1, 2, 1], 1, 8))),
    Op(("zeros_to_end", "move_zeros"), ("nums",),
       choices(["a new list of the numbers of {0} with every 0 moved to the end and the other numbers keeping their "
                "order", "{0} with its zeros moved to the back, the rest in their original order, as a new list"],
               ["{0} with all 0 entries pushed behind the others, whose order stays put"]),
       ("    return [item for item in {0} if item != 0] + [0] * {0}.count(0)\n",
        "    result = []\n    zeros = 0\n    for item in {0}:\n        if item == 0:\n            zeros += 1\n"
        "        else:\n            result.append(item)\n    return result + [0] * zeros\n"),
       lambda rng: (int_list(rng, -2, 4, 8),), (([],), ([0, 1, 0, 2],))),
    Op(("sum_at_even_positions", "sum_even_indexes"), ("nums",),
       choices(["the sum of the items of {0} at even positions (0, 2, 4, ...)",
                "the sum of {0}[0], {0}[2], {0}[4] and so on"],
               ["the total of the entries of {0} sitting at even indexes"]),
       ("    return sum({0}[::2])\n",
        "    total = 0\n    for i in range(0, len({0}), 2):\n        total += {0}[i]\n    return total\n"),
       one_list, (([],), ([1, 2, 3],))),
    Op(("value_range", "spread"), ("nums",),
       choices(["the difference between the largest and the smallest number of the non-empty list {0}",
                "the largest number of the non-empty list {0} minus its smallest"],
               ["how far the top value of the non-empty list {0} sits above its bottom value"]),
       ("    return max({0}) - min({0})\n", "    ordered = sorted({0})\n    return ordered[-1] - ordered[0]\n"),
       non_empty_list, (([4],), ([3, -2, 7],))),
    Op(("mean", "average"), ("nums",),
       choices(["the average of the numbers in the non-empty list {0}", "the mean of {0}, a non-empty list of numbers"],
               ["the arithmetic middle of the non-empty list {0}"]),
       ("    return sum({0}) / len({0})\n",
        "    total = 0\n    for item in {0}:\n        total += item\n    return total / len({0})\n"),
       non_empty_list, (([4, 5],),)),
    Op(("count_distinct", "distinct_count"), ("nums",),
       choices(["how many different values {0} holds", "the number of distinct values in {0}"],
               ["the tally of unlike values within {0}"]),
       ("    return len(set({0}))\n",
        "    found = []\n    for item in {0}:\n        if item not in found:\n            found.append(item)\n"
        "    return len(found)\n"),
       small_values, (([],), ([1, 1, 2],))),
    Op(("is_sorted", "in_order", "is_non_decreasing"), ("nums",),
       choices([("{0}", "is", "sorted from smallest to largest (equal neighbours allowed)"),
                ("each number of {0} after the first", "is", "at least as large as the one before it")],
               [("{0}", "is", "arranged without any drop from one value to the next")]),
       ("    return all(prev <= current for prev, current in zip({0}, {0}[1:]))\n",
        "    return {0} == sorted({0})\n",
        "    for i in range(1, len({0})):\n        if {0}[i] < {0}[i - 1]:\n            return False\n    return "
        "True\n"),
       lambda rng: (sorted(int_list(rng)) if rng.random() < 0.5 else int_list(rng),), (([],), ([1, 1, 2],))),
    Op(("strictly_increasing", "is_increasing"), ("nums",),
       choices([("each number of {0} after the first", "is", "greater than the one before it"),
                ("{0}", "is", "strictly increasing (every number larger than the one before it)")],
               [("{0}", "climbs", "at every step, with no repeats and no drops")]),
       ("    return all(prev < current for prev, current in zip({0}, {0}[1:]))\n",
        "    for i in range(1, len({0})):\n        if {0}[i] <= {0}[i - 1]:\n            return False\n    return "
        "True\n"),
       lambda rng: (sorted(set(int_list(rng))) if rng.random() < 0.5 else int_list(rng),), (([],), ([1, 1, 2],))),
]


def list_op(rng: random.Random, words: Wording) -> Draft:
    return draw_op(rng, words, LIST_OPS, "list_ops")
