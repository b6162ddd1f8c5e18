"""Operations on whole numbers: digits, divisors, primes, the least common multiple, powers of two, ranges with a
stride, multiples, rounding to a multiple, clamping, the sign, the digital root, leap years, time in seconds.

Each is an `Op` (`tables.py`) with two or more bodies (a loop and a formula or a built-in, or a recursion); the
inputs are drawn inside the range the words state ("the non-negative integer n", "the positive integers a and b").
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import Draft
from tinygpt.data.exercises.tables import Op, draw_op
from tinygpt.data.exercises.wording import Wording, choices

__all__ = ["NUMBER_OPS", "number_op"]


def natural(low: int, high: int):
    return lambda rng: (rng.randint(low, high),)


def two_positive(rng: random.Random) -> tuple:
    return rng.randint(1, 30), rng.randint(1, 30)


def strided_range(rng: random.Random) -> tuple:
    low = rng.randint(-10, 10)
    return low, low + rng.randint(-2, 25), rng.randint(1, 5)


def value_and_bounds(rng: random.Random) -> tuple:
    low = rng.randint(-10, 10)
    return rng.randint(-20, 25), low, low + rng.randint(0, 12)


def value_and_positive(rng: random.Random) -> tuple:
    return rng.randint(-40, 60), rng.randint(1, 10)


DIGIT_SOURCE = "the decimal digits of the non-negative integer {0}"

NUMBER_OPS = [
    Op(("digits", "digit_list", "split_digits"), ("n",),
       choices(["a list of the decimal digits of the non-negative integer {0}, most significant first",
                "the digits of {0}, a whole number that is zero or more, as a list of integers from left to right"],
               ["{0} (not negative) broken into its base-10 digits, leading digit first, as a list"]),
       ("    return [int(digit) for digit in str({0})]\n",
        "    result = [{0} % 10]\n    while {0} >= 10:\n        {0} //= 10\n        result.insert(0, {0} % 10)\n"
        "    return result\n"),
       natural(0, 99999), ((0,), (907,))),
    Op(("largest_digit", "max_digit"), ("n",),
       choices([f"the largest of {DIGIT_SOURCE}", "the biggest digit in the decimal form of the non-negative integer "
                "{0}"], ["the top base-10 digit of {0}, which is not negative"]),
       ("    return max(int(digit) for digit in str({0}))\n",
        "    best = 0\n    while {0} > 0:\n        best = max(best, {0} % 10)\n        {0} //= 10\n    return best\n"),
       natural(0, 99999), ((0,), (907,))),
    Op(("digit_product", "product_of_digits"), ("n",),
       choices([f"the product of {DIGIT_SOURCE}", "the decimal digits of the non-negative integer {0} multiplied "
                "with each other (0 gives 0)"], ["the result of multiplying every base-10 digit of {0} (not "
                                                 "negative)"]),
       ("    result = 1\n    for digit in str({0}):\n        result *= int(digit)\n    return result\n",
        "    import math\n    return math.prod(int(digit) for digit in str({0}))\n"),
       natural(0, 99999), ((0,), (234,))),
    Op(("count_even_digits", "even_digit_count"), ("n",),
       choices([f"how many of {DIGIT_SOURCE} are even", "the number of even digits in the decimal form of the "
                "non-negative integer {0}"], ["the tally of even base-10 digits of {0}, which is not negative"]),
       ("    return sum(1 for digit in str({0}) if int(digit) % 2 == 0)\n",
        "    total = 0\n    for digit in str({0}):\n        if digit in '02468':\n            total += 1\n    return "
        "total\n"),
       natural(0, 99999), ((0,), (2467,))),
    Op(("digital_root", "repeated_digit_sum"), ("n",),
       choices(["the digital root of the non-negative integer {0}: add up its digits, then the digits of that sum, "
                "and so on until one digit remains", "the single digit left after summing the decimal digits of the "
                "non-negative integer {0} again and again"],
               ["{0} (not negative) reduced by repeated digit sums to one digit"]),
       ("    while {0} >= 10:\n        {0} = sum(int(digit) for digit in str({0}))\n    return {0}\n",
        "    if {0} < 10:\n        return {0}\n    return {name}(sum(int(digit) for digit in str({0})))\n",
        "    return 0 if {0} == 0 else 1 + ({0} - 1) % 9\n"),
       natural(0, 99999), ((0,), (9875,))),
    Op(("count_one_bits", "popcount", "bit_count"), ("n",),
       choices(["the number of 1 bits in the binary form of the non-negative integer {0}",
                "how many ones there are when the non-negative integer {0} is written in binary"],
               ["the count of set bits of {0}, which is not negative"]),
       ("    return bin({0}).count('1')\n",
        "    total = 0\n    while {0} > 0:\n        total += {0} % 2\n        {0} //= 2\n    return total\n"),
       natural(0, 1000), ((0,), (7,))),
    Op(("divisors", "list_divisors", "factors"), ("n",),
       choices(["a list of the positive divisors of the positive integer {0}, in increasing order",
                "all the whole numbers from 1 to {0} that divide the positive integer {0} exactly, as a list"],
               ["every positive factor of {0} (itself positive), listed from small to large"]),
       ("    return [d for d in range(1, {0} + 1) if {0} % d == 0]\n",
        "    result = []\n    for d in range(1, {0} + 1):\n        if {0} % d == 0:\n            result.append(d)\n"
        "    return result\n"),
       natural(1, 60), ((1,), (12,))),
    Op(("sum_proper_divisors", "aliquot_sum"), ("n",),
       choices(["the sum of the positive divisors of the positive integer {0} that are smaller than {0}",
                "the total of the proper divisors of the positive integer {0} (its divisors other than {0} itself)"],
               ["what the factors of {0} below {0} itself add to ({0} is positive)"]),
       ("    return sum(d for d in range(1, {0}) if {0} % d == 0)\n",
        "    total = 0\n    for d in range(1, {0}):\n        if {0} % d == 0:\n            total += d\n    return "
        "total\n"),
       natural(1, 100), ((1,), (12,))),
    Op(("is_perfect", "perfect_number"), ("n",),
       choices([("the positive integer {0}", "is", "perfect: equal to the sum of its divisors smaller than itself"),
                ("the positive integer {0}", "equals", "the sum of its positive divisors other than itself")],
               [("{0}, a positive integer,", "matches", "the total of its proper factors")]),
       ("    return {0} == sum(d for d in range(1, {0}) if {0} % d == 0)\n",
        "    total = 0\n    for d in range(1, {0}):\n        if {0} % d == 0:\n            total += d\n"
        "    return total == {0}\n"),
       lambda rng: (rng.choice([6, 28, 496]) if rng.random() < 0.4 else rng.randint(1, 100),), ((6,), (12,))),
    Op(("primes_below", "small_primes", "primes_under"), ("n",),
       choices(["a list of the prime numbers smaller than {0}, in increasing order",
                "all primes less than {0}, from smallest to largest, as a list"],
               ["every prime strictly under {0}, listed upward"]),
       ("    return [p for p in range(2, {0}) if all(p % d != 0 for d in range(2, p))]\n",
        "    result = []\n    for p in range(2, {0}):\n        for d in range(2, p):\n            if p % d == 0:\n"
        "                break\n        else:\n            result.append(p)\n    return result\n"),
       natural(0, 60), ((2,), (20,))),
    Op(("count_primes", "prime_count"), ("n",),
       choices(["how many prime numbers are less than or equal to {0}", "the number of primes that are at most {0}"],
               ["the tally of primes not exceeding {0}"]),
       ("    return sum(1 for p in range(2, {0} + 1) if all(p % d != 0 for d in range(2, p)))\n",
        "    total = 0\n    for p in range(2, {0} + 1):\n        if all(p % d != 0 for d in range(2, p)):\n"
        "            total += 1\n    return total\n"),
       natural(0, 80), ((2,), (20,))),
    Op(("next_prime", "prime_after"), ("n",),
       choices(["the smallest prime number greater than {0}", "the first prime that comes after {0}"],
               ["the nearest prime strictly above {0}"]),
       ("    candidate = {0} + 1\n    while candidate < 2 or any(candidate % d == 0 for d in range(2, candidate)):\n"
        "        candidate += 1\n    return candidate\n",
        "    for candidate in range(max({0} + 1, 2), 2 * max({0}, 2) + 1):\n"
        "        if all(candidate % d != 0 for d in range(2, candidate)):\n            return candidate\n"),
       natural(-5, 100), ((0,), (13,))),
    Op(("prime_factors", "factorize"), ("n",),
       choices(["a list of the prime factors of {0}, an integer of at least 2, in increasing order, each as many "
                "times as it divides {0}", "the prime factorisation of {0} (at least 2) as a sorted list with "
                "repeats, so 12 gives [2, 2, 3]"], ["{0} (2 or more) split into primes, smallest first, repeats kept"]),
       ("    result = []\n    d = 2\n    while {0} > 1:\n        while {0} % d == 0:\n            result.append(d)\n"
        "            {0} //= d\n        d += 1\n    return result\n",
        "    for d in range(2, {0} + 1):\n        if {0} % d == 0:\n            return [d] + {name}({0} // d)\n"
        "    return []\n"),
       natural(2, 200), ((2,), (12,))),
    Op(("lcm", "least_common_multiple"), ("two ints",),
       choices(["the least common multiple of the positive integers {0} and {1}",
                "the smallest positive number that both {0} and {1} divide exactly ({0} and {1} are positive)"],
               ["the lowest shared multiple of the positive whole numbers {0} and {1}"]),
       ("    from math import gcd\n    return {0} * {1} // gcd({0}, {1})\n",
        "    multiple = max({0}, {1})\n    while multiple % {0} != 0 or multiple % {1} != 0:\n        multiple += 1\n"
        "    return multiple\n"),
       two_positive, ((4, 6), (7, 7))),
    Op(("divides", "is_divisor"), ("two ints",),
       choices([("{0}", "divides", "{1} exactly (the non-zero {0} leaves no remainder)"),
                ("{1}", "is", "a multiple of the non-zero integer {0}")],
               [("{1}", "splits", "evenly into parts of size {0} (never zero)")]),
       ("    return {1} % {0} == 0\n", "    if {1} % {0} == 0:\n        return True\n    return False\n"),
       lambda rng: (rng.randint(1, 9), rng.randint(-30, 60)), ((3, 12), (5, 12))),
    Op(("is_power_of_two", "power_of_two"), ("n",),
       choices([("{0}", "is", "a power of two (1, 2, 4, 8, ...)"),
                ("{0}", "equals", "2 multiplied by itself some number of times (1 counts, as 2 to the 0)")],
               [("{0}", "belongs", "to the doubling sequence 1, 2, 4, 8 and onward")]),
       ("    return {0} > 0 and {0} & ({0} - 1) == 0\n",
        "    if {0} < 1:\n        return False\n    while {0} % 2 == 0:\n        {0} //= 2\n    return {0} == 1\n"),
       lambda rng: (2 ** rng.randint(0, 10) if rng.random() < 0.4 else rng.randint(-4, 300),), ((1,), (12,))),
    Op(("largest_power_of_two", "floor_power_of_two"), ("n",),
       choices(["the largest power of two that is at most the positive integer {0}",
                "the biggest number of the form 1, 2, 4, 8, ... not greater than the positive integer {0}"],
               ["the highest doubling of 1 that stays within {0} (a positive integer)"]),
       ("    power = 1\n    while power * 2 <= {0}:\n        power *= 2\n    return power\n",
        "    return 1 << ({0}.bit_length() - 1)\n"),
       natural(1, 2000), ((1,), (100,))),
    Op(("stride_range", "stepped_range", "count_by"), ("range with stride",),
       choices(["a list of the numbers {0}, {0} + {2}, {0} + 2 * {2}, ... that are at most {1} ({2} is positive)",
                "the numbers from {0} up to {1}, both included when reached, going up in steps of the positive "
                "integer {2}, as a list"],
               ["a progression that begins at {0} and climbs by {2} while staying at or below {1}, as a list"]),
       ("    return list(range({0}, {1} + 1, {2}))\n",
        "    result = []\n    value = {0}\n    while value <= {1}:\n        result.append(value)\n        value += "
        "{2}\n"
        "    return result\n"),
       strided_range, ((1, 10, 3), (5, 4, 1))),
    Op(("count_multiples_between", "multiples_in_range"), ("range with stride",),
       choices(["how many numbers from {0} to {1} (both included) are divisible by the positive integer {2}",
                "the number of multiples of {2} (a positive integer) between {0} and {1} inclusive"],
               ["the tally of multiples of {2} lying anywhere from {0} through {1}"]),
       ("    return sum(1 for i in range({0}, {1} + 1) if i % {2} == 0)\n",
        "    total = 0\n    for i in range({0}, {1} + 1):\n        if i % {2} == 0:\n            total += 1\n"
        "    return total\n"),
       strided_range, ((1, 10, 3), (5, 4, 1))),
    Op(("round_down_to_multiple", "floor_to_multiple"), ("n", "amount"),
       choices(["{0} rounded down to a multiple of the positive integer {1}",
                "the largest multiple of the positive integer {1} that is at most {0}"],
               ["{0} lowered to the nearest multiple of {1} at or beneath it"]),
       ("    return {0} - {0} % {1}\n", "    return ({0} // {1}) * {1}\n"),
       value_and_positive, ((7, 5), (-7, 5))),
    Op(("round_up_to_multiple", "ceil_to_multiple"), ("n", "amount"),
       choices(["{0} rounded up to a multiple of the positive integer {1}",
                "the smallest multiple of the positive integer {1} that is at least {0}"],
               ["{0} lifted to the nearest multiple of {1} at or beyond it"]),
       ("    return -(-{0} // {1}) * {1}\n", "    return (({0} + {1} - 1) // {1}) * {1}\n"),
       value_and_positive, ((7, 5), (-7, 5))),
    Op(("clamp", "limit_to_range", "bounded"), ("n", "bounds"),
       choices(["{0} limited to the range from {1} to {2}: {1} if {0} is below {1}, {2} if {0} is above {2}, "
                "otherwise {0} ({1} is at most {2})", "{0} clamped between {1} and {2}, where {1} is at most {2}"],
               ["{0} pinned inside the interval [{1}, {2}] (with {1} no larger than {2})"]),
       ("    return max({1}, min({0}, {2}))\n",
        "    if {0} < {1}:\n        return {1}\n    if {0} > {2}:\n        return {2}\n    return {0}\n"),
       value_and_bounds, ((5, 0, 3), (-2, 0, 3))),
    Op(("sign", "signum"), ("n",),
       choices(["-1 if {0} is negative, 1 if it is positive and 0 if it is zero", "the sign of {0} as -1, 0 or 1"],
               ["{0}'s direction from zero, encoded as -1, 0 or 1"]),
       ("    if {0} < 0:\n        return -1\n    if {0} > 0:\n        return 1\n    return 0\n",
        "    return ({0} > 0) - ({0} < 0)\n"),
       natural(-20, 20), ((0,), (-3,), (4,))),
    Op(("is_leap_year", "leap_year"), ("year",),
       choices([("the year {0}", "is", "a leap year: divisible by 4, except that a year divisible by 100 must also "
                 "be divisible by 400"), ("{0}", "is", "a leap year in the Gregorian calendar (every fourth year, "
                 "but century years only when divisible by 400)")],
               [("{0}", "has", "a 29th of February (years divisible by 4, centuries only if divisible by 400)")]),
       ("    return {0} % 4 == 0 and ({0} % 100 != 0 or {0} % 400 == 0)\n",
        "    if {0} % 400 == 0:\n        return True\n    if {0} % 100 == 0:\n        return False\n"
        "    return {0} % 4 == 0\n"),
       lambda rng: (rng.choice([1900, 2000, 2024, 2023, 1600, 2100]) if rng.random() < 0.5 else
                    rng.randint(1800, 2400),), ((1900,), (2000,), (2024,))),
    Op(("split_seconds", "to_hours_minutes_seconds"), ("seconds",),
       choices(["a tuple (hours, minutes, seconds) for a duration of {0} seconds, where {0} is not negative and "
                "minutes and seconds are below 60", "the non-negative number of seconds {0} as whole hours, then the "
                "minutes left, then the seconds left, in a tuple"],
               ["{0} seconds (zero or more) restated as an (h, m, s) tuple"]),
       ("    hours, rest = divmod({0}, 3600)\n    minutes, secs_left = divmod(rest, 60)\n"
        "    return (hours, minutes, secs_left)\n",
        "    return ({0} // 3600, {0} % 3600 // 60, {0} % 60)\n"),
       natural(0, 20000), ((0,), (3725,))),
    Op(("is_number_palindrome", "palindromic_number"), ("n",),
       choices([("the decimal digits of the non-negative integer {0}", "read", "the same forwards and backwards"),
                ("the non-negative integer {0}", "is", "the same when its digits are reversed")],
               [("{0} (not negative)", "mirrors", "itself digit for digit")]),
       ("    return str({0}) == str({0})[::-1]\n",
        "    original, reverse = {0}, 0\n    while {0} > 0:\n        reverse = reverse * 10 + {0} % 10\n"
        "        {0} //= 10\n    return original == reverse\n"),
       lambda rng: (rng.choice([121, 44, 7, 1221, 12321]) if rng.random() < 0.4 else rng.randint(0, 2000),),
       ((0,), (123,))),
    Op(("is_square", "perfect_square"), ("n",),
       choices([("the non-negative integer {0}", "is", "a perfect square (a whole number times itself)"),
                ("some whole number squared", "equals", "the non-negative integer {0}")],
               [("{0}, not negative,", "has", "an exact integer square root")]),
       ("    from math import isqrt\n    return isqrt({0}) ** 2 == {0}\n",
        "    i = 0\n    while i * i < {0}:\n        i += 1\n    return i * i == {0}\n"),
       lambda rng: (rng.randint(0, 20) ** 2 if rng.random() < 0.4 else rng.randint(0, 400),), ((0,), (15,))),
]


def number_op(rng: random.Random, words: Wording) -> Draft:
    return draw_op(rng, words, NUMBER_OPS, "numbers")
