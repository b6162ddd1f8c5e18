"""Operations on the characters of strings and on substrings: consonants, character classes, masking, padding,
capitalising, shifting letters, runs, counting and replacing substrings, prefixes and anagrams.

Each is an `Op` (`tables.py`) with two or more bodies where Python offers a built-in and a loop. Strings are drawn
from words, numbers and capitals (`skills.text`); a substring is often cut from the string itself, so that the
interesting answer comes up.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import WORDS, Draft, pick, text
from tinygpt.data.exercises.tables import Op, draw_op
from tinygpt.data.exercises.wording import Wording, choices

__all__ = ["STRING_OPS", "character_op"]


def one_text(rng: random.Random) -> tuple:
    return (text(rng),)


def piece_of(rng: random.Random, whole: str, longest: int = 3) -> str:
    """A non-empty piece of `whole` most of the time, otherwise a short piece of a word."""
    source = whole if whole and rng.random() < 0.7 else pick(rng, WORDS)
    start = rng.randrange(len(source))
    return source[start:start + rng.randint(1, longest)]


def text_and_piece(rng: random.Random) -> tuple:
    whole = text(rng)
    return whole, piece_of(rng, whole)


def text_and_prefix(rng: random.Random) -> tuple:
    whole = text(rng)
    return whole, whole[:rng.randint(1, 4)] if whole and rng.random() < 0.5 else piece_of(rng, whole)


def text_and_suffix(rng: random.Random) -> tuple:
    whole = text(rng)
    return whole, whole[-rng.randint(1, 4):] if whole and rng.random() < 0.5 else piece_of(rng, whole)


def text_and_char(rng: random.Random) -> tuple:
    whole = text(rng)
    return whole, pick(rng, whole) if whole and rng.random() < 0.8 else pick(rng, "aeiou")


def text_and_number(low: int, high: int):
    return lambda rng: (text(rng), rng.randint(low, high))


def text_old_new(rng: random.Random) -> tuple:
    whole = text(rng)
    return whole, piece_of(rng, whole, 2), pick(rng, ["-", "", "X", "ab", "_", "!"])


def two_texts(rng: random.Random) -> tuple:
    first = pick(rng, WORDS)
    second = "".join(rng.sample(first, len(first))) if rng.random() < 0.5 else pick(rng, WORDS)
    return first, second


def equal_texts(rng: random.Random) -> tuple:
    first = pick(rng, WORDS)
    return first, "".join(ch if rng.random() < 0.6 else pick(rng, "abcdeo") for ch in first)


def prefixed_texts(rng: random.Random) -> tuple:
    first = pick(rng, WORDS)
    return first, first[:rng.randint(0, len(first))] + pick(rng, ["", "x", "ing", "s", "oo"])


STRING_OPS = [
    Op(("count_consonants", "consonant_count"), ("s",),
       choices(["the number of consonants in {0} (letters other than a, e, i, o and u, in either case)",
                "how many letters of {0} are not vowels (a, e, i, o, u, upper or lower case)"],
               ["the tally of non-vowel letters within {0}"]),
       ("    return sum(1 for ch in {0} if ch.isalpha() and ch.lower() not in 'aeiou')\n",
        "    total = 0\n    for ch in {0}:\n        if ch.isalpha() and ch.lower() not in 'aeiou':\n"
        "            total += 1\n    return total\n"),
       one_text, (("",), ("Hello World 42",))),
    Op(("upper_vowels", "shout_vowels"), ("s",),
       choices(["{0} with every vowel (a, e, i, o, u) in upper case and every other character unchanged",
                "a copy of {0} in which the vowels a, e, i, o and u are made upper case"],
               ["{0} with its vowels capitalised, the rest left alone"]),
       ("    return ''.join(ch.upper() if ch in 'aeiou' else ch for ch in {0})\n",
        "    result = ''\n    for ch in {0}:\n        if ch in 'aeiou':\n            result += ch.upper()\n        "
        "else:\n"
        "            result += ch\n    return result\n"),
       one_text, (("",), ("piano",))),
    Op(("count_symbols", "count_non_alphanumeric"), ("s",),
       choices(["how many characters of {0} are neither letters nor digits",
                "the number of characters in {0} that are not letters and not digits (spaces count)"],
               ["the tally of non-alphanumeric characters within {0}"]),
       ("    return sum(1 for ch in {0} if not ch.isalnum())\n",
        "    total = 0\n    for ch in {0}:\n        if not ch.isalnum():\n            total += 1\n    return total\n"),
       one_text, (("",), ("a b!c",))),
    Op(("mask_digits", "hide_digits"), ("s",),
       choices(["{0} with every digit replaced by '#'", "a copy of {0} in which each digit character becomes '#'"],
               ["{0} with its numerals blanked out as '#'"]),
       ("    return ''.join('#' if ch.isdigit() else ch for ch in {0})\n",
        "    result = ''\n    for ch in {0}:\n        result += '#' if ch.isdigit() else ch\n    return result\n"),
       one_text, (("",), ("a1b22",))),
    Op(("lower_letters_only", "letters_lowercase"), ("s",),
       choices(["the letters of {0} in lower case, with every other character dropped",
                "a string of only the letters of {0}, each made lower case, in order"],
               ["{0} stripped to its alphabetic characters, lowercased"]),
       ("    return ''.join(ch.lower() for ch in {0} if ch.isalpha())\n",
        "    result = ''\n    for ch in {0}:\n        if ch.isalpha():\n            result += ch.lower()\n"
        "    return result\n"),
       one_text, (("",), ("Hi 2 U",))),
    Op(("capitalize_first", "sentence_case"), ("s",),
       choices(["{0} with its first character in upper case and all the others in lower case",
                "a copy of {0} whose first character is upper case and whose other characters are lower case"],
               ["{0} in sentence case: an initial capital, everything after it small"]),
       ("    return {0}.capitalize()\n", "    return {0}[:1].upper() + {0}[1:].lower()\n"),
       one_text, (("",), ("hELLO",))),
    Op(("alternate_case", "zigzag_case"), ("s",),
       choices(["{0} with the characters at even positions (0, 2, 4, ...) in upper case and the others in lower case",
                "a copy of {0} where characters at even indexes are upper case and those at odd indexes lower case"],
               ["{0} in alternating capitals, beginning with a capital at index 0"]),
       ("    return ''.join(ch.upper() if i % 2 == 0 else ch.lower() for i, ch in enumerate({0}))\n",
        "    result = ''\n    for i in range(len({0})):\n        if i % 2 == 0:\n            result += {0}[i].upper()\n"
        "        else:\n            result += {0}[i].lower()\n    return result\n"),
       one_text, (("",), ("python",))),
    Op(("pad_left", "right_align"), ("s", "width"),
       choices(["{0} padded on the left with spaces to a length of at least {1}",
                "{0} with spaces added in front until it is {1} characters long ({0} unchanged if it is already "
                "that long or longer)"],
               ["{0} right-aligned in a field of {1} characters using blanks"]),
       ("    return {0}.rjust({1})\n", "    return ' ' * max({1} - len({0}), 0) + {0}\n",
        "    result = {0}\n    while len(result) < {1}:\n        result = ' ' + result\n    return result\n"),
       text_and_number(0, 12), (("", 3), ("ab", 1))),
    Op(("zero_pad", "pad_with_zeros"), ("s", "width"),
       choices(["{0} padded on the left with '0' characters to a length of at least {1}",
                "{0} with zeros put in front until it is {1} characters long (unchanged if it is already that long)"],
               ["{0} filled out to {1} characters with leading zero digits"]),
       ("    return {0}.rjust({1}, '0')\n", "    return '0' * max({1} - len({0}), 0) + {0}\n"),
       lambda rng: (str(rng.randint(0, 9999)), rng.randint(0, 7)), (("7", 3), ("1234", 2))),
    Op(("pad_right", "left_align"), ("s", "width"),
       choices(["{0} padded on the right with '.' characters to a length of at least {1}",
                "{0} with dots added at the end until it is {1} characters long (unchanged if it is already that "
                "long)"], ["{0} left-aligned in a field of {1} characters filled with periods"]),
       ("    return {0}.ljust({1}, '.')\n", "    return {0} + '.' * max({1} - len({0}), 0)\n"),
       text_and_number(0, 12), (("", 3), ("ab", 1))),
    Op(("truncate", "shorten", "clip_text"), ("s", "limit"),
       choices(["{0} cut to its first {1} characters with '...' added after them, or {0} itself if it has at most "
                "{1} characters", "the first {1} characters of {0} followed by '...' if {0} is longer than {1} "
                "characters, otherwise {0} unchanged"],
               ["{0} abbreviated to {1} characters plus an ellipsis '...' when it runs over"]),
       ("    if len({0}) <= {1}:\n        return {0}\n    return {0}[:{1}] + '...'\n",
        "    return {0} if len({0}) <= {1} else {0}[:{1}] + '...'\n"),
       text_and_number(0, 10), (("", 3), ("abcdef", 3))),
    Op(("caesar_shift", "shift_letters", "rotate_letters"), ("s", "shift"),
       choices(["{0} with every lowercase letter moved {1} places forward in the alphabet, wrapping from 'z' back to "
                "'a', and every other character unchanged",
                "{0} encoded with a shift of {1}: each lowercase letter replaced by the letter {1} places after it "
                "(after 'z' comes 'a'), other characters kept"],
               ["{0} with its small letters rotated {1} steps along the alphabet, circling past z"]),
       ("    return ''.join(chr((ord(ch) - ord('a') + {1}) % 26 + ord('a')) if 'a' <= ch <= 'z' else ch "
        "for ch in {0})\n",
        "    alphabet = 'abcdefghijklmnopqrstuvwxyz'\n    result = ''\n    for ch in {0}:\n"
        "        if ch in alphabet:\n            result += alphabet[(alphabet.index(ch) + {1}) % 26]\n        else:\n"
        "            result += ch\n    return result\n"),
       text_and_number(0, 30), (("", 3), ("xyz A", 2))),
    Op(("run_length", "encode_runs", "compress"), ("s",),
       choices(["{0} written as runs: each run of one repeated character becomes the character followed by the "
                "length of the run (so 'aaab' becomes 'a3b1')",
                "the run-length encoding of {0}: every group of equal neighbouring characters written as that "
                "character and how many there are ('aab' gives 'a2b1')"],
               ["{0} squeezed into character-and-count pairs for each block of repeats ('ccd' is 'c2d1')"]),
       ("    result = ''\n    i = 0\n    while i < len({0}):\n        j = i\n        while j < len({0}) and {0}[j] "
        "== {0}[i]:\n"
        "            j += 1\n        result += {0}[i] + str(j - i)\n        i = j\n    return result\n",
        "    from itertools import groupby\n    return ''.join(ch + str(len(list(group))) for ch, group in "
        "groupby({0}))\n"),
       lambda rng: ("".join(pick(rng, "aab") * rng.randint(1, 3) for _ in range(rng.randint(0, 4))),),
       (("",), ("aaab",))),
    Op(("char_codes", "ordinals"), ("s",),
       choices(["a list of the character codes (as ord gives them) of the characters of {0}",
                "the Unicode code point of each character of {0}, as a list"],
               ["{0} turned into a list of its ord values"]),
       ("    return [ord(ch) for ch in {0}]\n", "    return list(map(ord, {0}))\n"),
       one_text, (("",), ("Ab",))),
    Op(("dedupe_chars", "first_of_each_char"), ("s",),
       choices(["{0} with only the first occurrence of each character kept",
                "a string of the characters of {0}, each once, in the order they first occur"],
               ["{0} minus every repeat of a character already seen"]),
       ("    return ''.join(dict.fromkeys({0}))\n",
        "    result = ''\n    for ch in {0}:\n        if ch not in result:\n            result += ch\n    return "
        "result\n"),
       one_text, (("",), ("banana",))),
    Op(("most_common_char", "top_char"), ("s",),
       choices(["the character that occurs most often in {0} (the one occurring first in {0} on a tie), or '' if "
                "{0} is empty", "the most frequent character of {0}, the earliest in {0} on a tie; '' for ''"],
               ["whichever character of {0} repeats the most (earliest wins ties), '' when {0} is blank"]),
       ("    return max({0}, key={0}.count, default='')\n",
        "    best = ''\n    for ch in {0}:\n        if best == '' or {0}.count(ch) > {0}.count(best):\n            "
        "best = ch\n"
        "    return best\n"),
       one_text, (("",), ("abba",))),
    Op(("first_unique_char", "first_single"), ("s",),
       choices(["the first character of {0} that occurs exactly once in {0}, or '' if there is none",
                "the earliest character of {0} that is not repeated anywhere in {0} ('' if every character repeats)"],
               ["the leading one-off character of {0}, '' if none stands alone"]),
       ("    for ch in {0}:\n        if {0}.count(ch) == 1:\n            return ch\n    return ''\n",
        "    return next((ch for ch in {0} if {0}.count(ch) == 1), '')\n"),
       one_text, (("",), ("aabcb",))),
    Op(("count_char", "char_count"), ("s", "ch"),
       choices(["how many times the character {1} occurs in {0}", "the number of characters of {0} equal to {1}"],
               ["the frequency of {1} within {0}"]),
       ("    return {0}.count({1})\n",
        "    total = 0\n    for item in {0}:\n        if item == {1}:\n            total += 1\n    return total\n"),
       text_and_char, (("", "a"), ("banana", "a"))),
    Op(("char_positions", "indexes_of_char"), ("s", "ch"),
       choices(["a list of the indexes at which the character {1} occurs in {0}",
                "the positions of {1} in {0}, as a list in increasing order"],
               ["every index of {0} holding {1}, listed"]),
       ("    return [i for i, item in enumerate({0}) if item == {1}]\n",
        "    result = []\n    for i in range(len({0})):\n        if {0}[i] == {1}:\n            result.append(i)\n"
        "    return result\n"),
       text_and_char, (("", "a"), ("banana", "a"))),
    Op(("count_substring", "occurrences_of"), ("s", "sub"),
       choices(["how many times {1} occurs in {0}, counting only occurrences that do not overlap (from left to "
                "right)", "the number of non-overlapping occurrences of the non-empty string {1} in {0}"],
               ["the tally of separate, non-overlapping copies of {1} inside {0}"]),
       ("    return {0}.count({1})\n",
        "    total = 0\n    i = {0}.find({1})\n    while i != -1:\n        total += 1\n"
        "        i = {0}.find({1}, i + len({1}))\n    return total\n"),
       text_and_piece, (("", "a"), ("aaaa", "aa"))),
    Op(("count_overlapping", "overlapping_occurrences"), ("s", "sub"),
       choices(["how many positions of {0} start a copy of {1}, overlapping copies included",
                "the number of occurrences of the non-empty string {1} in {0}, counting overlapping ones"],
               ["every index where {1} begins inside {0}, overlaps allowed, counted"]),
       ("    return sum(1 for i in range(len({0})) if {0}.startswith({1}, i))\n",
        "    total = 0\n    for i in range(len({0}) - len({1}) + 1):\n        if {0}[i:i + len({1})] == {1}:\n"
        "            total += 1\n    return total\n"),
       text_and_piece, (("", "a"), ("aaaa", "aa"))),
    Op(("replace_text", "substitute_text"), ("s", "old and new"),
       choices(["{0} with every occurrence of {1} replaced by {2}", "a copy of {0} in which each {1} is changed to "
                                                                    "{2}"],
               ["{0} after trading every {1} for {2}"]),
       ("    return {0}.replace({1}, {2})\n", "    return {2}.join({0}.split({1}))\n"),
       text_old_new, (("", "a", "-"), ("banana", "an", "_"))),
    Op(("starts_with", "has_prefix"), ("s", "sub"),
       choices([("{0}", "starts", "with {1}"), ("{0}", "begins", "with the string {1}")],
               [("{1}", "opens", "the string {0}")]),
       ("    return {0}.startswith({1})\n", "    return {0}[:len({1})] == {1}\n"),
       text_and_prefix, (("", "a"), ("banana", "ban"))),
    Op(("ends_with", "has_suffix"), ("s", "sub"),
       choices([("{0}", "ends", "with {1}"), ("the last characters of {0}", "are", "exactly {1}")],
               [("{1}", "closes", "the string {0}")]),
       ("    return {0}.endswith({1})\n", "    return len({1}) <= len({0}) and {0}[len({0}) - len({1}):] == {1}\n"),
       text_and_suffix, (("", "a"), ("banana", "na"))),
    Op(("contains_text", "has_substring"), ("s", "sub"),
       choices([("{1}", "occurs", "somewhere in {0}"), ("{0}", "contains", "{1}")],
               [("{1}", "turns", "up inside {0}")]),
       ("    return {1} in {0}\n", "    return {0}.find({1}) != -1\n"),
       text_and_piece, (("", "a"), ("banana", "nab"))),
    Op(("is_anagram", "anagrams"), ("two strings",),
       choices([("{0} and {1}", "are", "anagrams: the same characters, each the same number of times"),
                ("{1}", "is", "{0} with its characters rearranged (same characters, same counts)")],
               [("{0} and {1}", "consist", "of an identical multiset of characters")]),
       ("    return sorted({0}) == sorted({1})\n",
        "    if len({0}) != len({1}):\n        return False\n    for ch in {0}:\n"
        "        if {0}.count(ch) != {1}.count(ch):\n            return False\n    return True\n"),
       two_texts, (("", ""), ("listen", "silent"))),
    Op(("common_prefix", "shared_prefix"), ("two strings",),
       choices(["the longest string that both {0} and {1} start with", "the longest common prefix of {0} and {1}"],
               ["the opening stretch {0} and {1} have in common"]),
       ("    result = ''\n    for x, y in zip({0}, {1}):\n        if x != y:\n            break\n        result += x\n"
        "    return result\n",
        "    i = 0\n    while i < min(len({0}), len({1})) and {0}[i] == {1}[i]:\n        i += 1\n    return {0}[:i]\n"),
       prefixed_texts, (("", "a"), ("flower", "flow"))),
    Op(("hamming_distance", "count_mismatches"), ("two strings",),
       choices(["the number of positions at which the equally long strings {0} and {1} have different characters",
                "how many characters of {0} differ from the character at the same position in {1} (the strings "
                "have the same length)"], ["the count of spots where {0} and {1}, equal in length, disagree"]),
       ("    return sum(1 for x, y in zip({0}, {1}) if x != y)\n",
        "    total = 0\n    for i in range(len({0})):\n        if {0}[i] != {1}[i]:\n            total += 1\n"
        "    return total\n"),
       equal_texts, (("", ""), ("abc", "abd"))),
    Op(("is_digits", "all_digits"), ("s",),
       choices([("{0}", "is", "non-empty and made of digits only"),
                ("{0}", "has", "at least one character, all digits")],
               [("{0}", "consists", "purely of numerals (and is not blank)")]),
       ("    return {0}.isdigit()\n",
        "    if not {0}:\n        return False\n    for ch in {0}:\n        if ch not in '0123456789':\n"
        "            return False\n    return True\n"),
       lambda rng: (str(rng.randint(0, 9999)) if rng.random() < 0.5 else text(rng),), (("",), ("12a",))),
    Op(("reads_same_ignoring_case", "palindrome_any_case"), ("s",),
       choices([("{0}", "reads", "the same forwards and backwards when upper and lower case are not told apart"),
                ("{0} in lower case", "is", "equal to its own reverse")],
               [("{0}", "mirrors", "itself, case ignored")]),
       ("    lowered = {0}.lower()\n    return lowered == lowered[::-1]\n",
        "    for i in range(len({0}) // 2):\n        if {0}[i].lower() != {0}[-1 - i].lower():\n            return "
        "False\n"
        "    return True\n"),
       lambda rng: (pick(rng, WORDS[-14:]).capitalize() if rng.random() < 0.5 else text(rng),), (("",), ("Noon",))),
]


def character_op(rng: random.Random, words: Wording) -> Draft:
    return draw_op(rng, words, STRING_OPS, "characters")
