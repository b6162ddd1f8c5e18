"""Operations on the words of a sentence and on lists of strings: filtering words by length or letter, reversing
their order or their letters, the shortest and the last word, acronyms, joining, sorting by length, naming styles
(snake_case, camelCase) and English lists ("a, b and c").

Each is an `Op` (`tables.py`) with two or more bodies. Sentences are words from `skills.WORDS` joined by single
spaces (some capitalised), so "the words of s" is what `s.split()` gives.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import Draft, pick
from tinygpt.data.exercises.tables import Op, draw_op, sentence_text, word_list
from tinygpt.data.exercises.wording import Wording, choices

__all__ = ["WORD_OPS", "word_op"]


def one_sentence(rng: random.Random) -> tuple:
    return (sentence_text(rng),)


def lower_sentence(rng: random.Random) -> tuple:
    return (sentence_text(rng, 1).lower(),)


def sentence_and_length(rng: random.Random) -> tuple:
    return sentence_text(rng), rng.randint(2, 6)


def sentence_and_letter(rng: random.Random) -> tuple:
    return sentence_text(rng), pick(rng, "aeiorstln")


def some_words(rng: random.Random) -> tuple:
    return (word_list(rng),)


def words_and_letter(rng: random.Random) -> tuple:
    return word_list(rng), pick(rng, "aeiorstlnpc")


WORD_OPS = [
    Op(("long_words", "words_longer_than"), ("s", "limit"),
       choices(["a list of the words of {0} that have more than {1} characters, in order",
                "the words in {0} longer than {1} characters, as a list in their order"],
               ["every word of {0} exceeding {1} characters, listed"]),
       ("    return [word for word in {0}.split() if len(word) > {1}]\n",
        "    result = []\n    for word in {0}.split():\n        if len(word) > {1}:\n            result.append(word)\n"
        "    return result\n"),
       sentence_and_length, (("", 3), ("a bb ccc", 2))),
    Op(("count_long_words", "long_word_count"), ("s", "limit"),
       choices(["how many words of {0} have more than {1} characters",
                "the number of words in {0} that are longer than {1} characters"],
               ["the tally of words in {0} exceeding {1} characters"]),
       ("    return sum(1 for word in {0}.split() if len(word) > {1})\n",
        "    total = 0\n    for word in {0}.split():\n        if len(word) > {1}:\n            total += 1\n"
        "    return total\n"),
       sentence_and_length, (("", 3), ("a bb ccc", 2))),
    Op(("reverse_words", "words_backwards", "reverse_word_order"), ("s",),
       choices(["the words of {0} in reverse order, joined by single spaces",
                "{0} with the order of its words reversed (words separated by one space)"],
               ["the sentence {0} with its last word first and its first word last, single-spaced"]),
       ("    return ' '.join(reversed({0}.split()))\n", "    return ' '.join({0}.split()[::-1])\n",
        "    result = []\n    for word in {0}.split():\n        result.insert(0, word)\n    return ' '.join(result)\n"),
       one_sentence, (("",), ("one two three",))),
    Op(("reverse_each_word", "mirror_words"), ("s",),
       choices(["{0} with the letters of every word reversed and the words kept in order, joined by single spaces",
                "the words of {0}, each spelt in reverse, in their original places, separated by one space"],
               ["each word of {0} flipped letter by letter, word order untouched, single-spaced"]),
       ("    return ' '.join(word[::-1] for word in {0}.split())\n",
        "    result = []\n    for word in {0}.split():\n        result.append(word[::-1])\n    return ' "
        "'.join(result)\n"),
       one_sentence, (("",), ("abc de",))),
    Op(("shortest_word", "smallest_word"), ("s",),
       choices(["the shortest word of {0} (the first one on a tie), or '' if there are no words",
                "the word of {0} with the fewest characters, the earliest on a tie; '' when {0} holds no words"],
               ["the briefest word of {0} (earliest wins ties), '' if it is blank"]),
       ("    return min({0}.split(), key=len, default='')\n",
        "    best = None\n    for word in {0}.split():\n        if best is None or len(word) < len(best):\n"
        "            best = word\n    return best or ''\n"),
       one_sentence, (("",), ("aa b c",))),
    Op(("last_word", "final_word"), ("s",),
       choices(["the last word of {0}, or '' if there are no words", "the final word in {0} ('' if {0} has none)"],
               ["the closing word of {0}, '' when there is nothing"]),
       ("    parts = {0}.split()\n    return parts[-1] if parts else ''\n",
        "    result = ''\n    for word in {0}.split():\n        result = word\n    return result\n"),
       one_sentence, (("",), ("one two",))),
    Op(("count_capitalized", "capital_words"), ("s",),
       choices(["how many words of {0} start with an uppercase letter",
                "the number of words in {0} whose first character is a capital letter"],
               ["the tally of words of {0} opening with a capital"]),
       ("    return sum(1 for word in {0}.split() if word[0].isupper())\n",
        "    total = 0\n    for word in {0}.split():\n        if word[0].isupper():\n            total += 1\n"
        "    return total\n"),
       one_sentence, (("",), ("Ab cd Ef",))),
    Op(("vowel_words", "count_vowel_words"), ("s",),
       choices(["how many words of {0} start with a vowel (a, e, i, o or u, in either case)",
                "the number of words in {0} whose first letter is a vowel, upper or lower case"],
               ["the tally of words of {0} opening with a, e, i, o or u, whatever the case"]),
       ("    return sum(1 for word in {0}.split() if word[0].lower() in 'aeiou')\n",
        "    total = 0\n    for word in {0}.split():\n        if word[0] in 'aeiouAEIOU':\n            total += 1\n"
        "    return total\n"),
       one_sentence, (("",), ("apple Egg pie",))),
    Op(("palindrome_words", "mirror_image_words"), ("s",),
       choices(["a list of the words of {0} that read the same forwards and backwards, in order",
                "the words in {0} that are equal to their own reverse, as a list"],
               ["every word of {0} unchanged by reversal, listed in order"]),
       ("    return [word for word in {0}.split() if word == word[::-1]]\n",
        "    result = []\n    for word in {0}.split():\n        if word == word[::-1]:\n            "
        "result.append(word)\n"
        "    return result\n"),
       lambda rng: (" ".join(pick(rng, ["level", "radar", "noon", "kayak", "moon", "sun", "a", "apple"])
                             for _ in range(rng.randint(0, 5))),), (("",), ("noon moon",))),
    Op(("words_with_letter", "containing_letter"), ("s", "ch"),
       choices(["a list of the words of {0} that contain the character {1}, in order",
                "the words in {0} in which {1} occurs, as a list"], ["every word of {0} holding {1}, listed"]),
       ("    return [word for word in {0}.split() if {1} in word]\n",
        "    result = []\n    for word in {0}.split():\n        if {1} in word:\n            result.append(word)\n"
        "    return result\n"),
       sentence_and_letter, (("", "a"), ("cat dog", "a"))),
    Op(("distinct_words", "unique_words"), ("s",),
       choices(["a list of the different words of {0}, each once, in the order they first occur",
                "the words of {0} without repeats, first occurrences kept in order, as a list"],
               ["each word of {0} a single time, by first appearance"]),
       ("    return list(dict.fromkeys({0}.split()))\n",
        "    result = []\n    for word in {0}.split():\n        if word not in result:\n            "
        "result.append(word)\n"
        "    return result\n"),
       lambda rng: (" ".join(pick(rng, ["red", "blue", "sun", "red", "moon"]) for _ in range(rng.randint(0, 6))),),
       (("",), ("a b a",))),
    Op(("snake_case", "to_snake_case"), ("s",),
       choices(["{0}, lowercase words separated by single spaces, in snake_case: the words joined by '_'",
                "the lowercase words of {0} joined with underscores instead of spaces"],
               ["{0} rewritten with '_' in place of each separating space"]),
       ("    return '_'.join({0}.split())\n", "    return {0}.replace(' ', '_')\n"),
       lower_sentence, (("one two",),)),
    Op(("camel_case", "to_camel_case"), ("s",),
       choices(["{0}, lowercase words separated by single spaces, in camelCase: the first word as it is, every "
                "later word with a capital first letter, nothing between them ('red apple pie' gives 'redApplePie')",
                "the words of {0} (all lower case) joined without spaces, each word after the first capitalised, as "
                "in 'big red box' becoming 'bigRedBox'"],
               ["{0} squeezed into lowerCamelCase ('hot tea' turns into 'hotTea')"]),
       ("    parts = {0}.split()\n    return parts[0] + ''.join(word.capitalize() for word in parts[1:])\n",
        "    result = ''\n    for i, word in enumerate({0}.split()):\n        result += word if i == 0 else "
        "word[0].upper() + word[1:]\n    return result\n"),
       lower_sentence, (("one two",),)),
    Op(("acronym", "initials_of"), ("words",),
       choices(["the first letters of the strings in {0}, in upper case, joined into one string",
                "an acronym made of the upper case first letter of each string of {0}"],
               ["the capitalised leading letters of the items of {0}, run together"]),
       ("    return ''.join(word[0].upper() for word in {0})\n",
        "    result = ''\n    for word in {0}:\n        result += word[0].upper()\n    return result\n"),
       some_words, (([],), (["portable", "network", "graphics"],))),
    Op(("join_with", "joined"), ("words", "sep"),
       choices(["the strings of {0} joined into one string with {1} between each two of them",
                "one string made of the items of {0} in order, separated by {1}"],
               ["the items of {0} glued together with {1} in the gaps"]),
       ("    return {1}.join({0})\n",
        "    result = ''\n    for i, word in enumerate({0}):\n        if i > 0:\n            result += {1}\n"
        "        result += word\n    return result\n"),
       lambda rng: (word_list(rng), pick(rng, [", ", "-", " ", "/", ""])), (([], "-"), (["a", "b"], ", "))),
    Op(("english_list", "human_list"), ("words",),
       choices(["the strings of {0} written as an English list: '' for none, 'a' for one, 'a and b' for two, "
                "'a, b and c' for three and so on",
                "the items of {0} joined with ', ' except the last two, which are joined with ' and ' ('x, y and "
                "z'); '' if {0} is empty"],
               ["{0} phrased as prose, commas between items and 'and' before the final one ('' when empty)"]),
       ("    if not {0}:\n        return ''\n    if len({0}) == 1:\n        return {0}[0]\n"
        "    return ', '.join({0}[:-1]) + ' and ' + {0}[-1]\n",
        "    result = ''\n    for i, word in enumerate({0}):\n        if i == 0:\n            result = word\n"
        "        elif i == len({0}) - 1:\n            result += ' and ' + word\n        else:\n"
        "            result += ', ' + word\n    return result\n"),
       some_words, (([],), (["a"],), (["a", "b", "c"],))),
    Op(("sort_by_length", "by_length"), ("words",),
       choices(["the strings of {0} sorted by length, shortest to longest, strings of equal length keeping their "
                "order", "a new list of the items of {0} ordered by how many characters they have (ties keep their "
                "order)"], ["{0} arranged from briefest to lengthiest, stable on ties"]),
       ("    return sorted({0}, key=len)\n", "    result = list({0})\n    result.sort(key=len)\n    return result\n"),
       some_words, (([],), (["ccc", "a", "bb", "d"],))),
    Op(("sort_ignoring_case", "alphabetical"), ("words",),
       choices(["the strings of {0} in alphabetical order, ignoring the difference between upper and lower case "
                "(ties keep their order)", "a new list of the items of {0} sorted by their lower case form"],
               ["{0} alphabetised without regard to capitals, stable on ties"]),
       ("    return sorted({0}, key=str.lower)\n", "    return sorted({0}, key=lambda word: word.lower())\n"),
       some_words, (([],), (["b", "A", "c"],))),
    Op(("longest_string", "longest_item"), ("words",),
       choices(["the longest string in {0} (the first one on a tie), or None if {0} is empty",
                "the item of {0} with the most characters, the earliest on a tie; None for an empty list"],
               ["the lengthiest entry of {0} (earliest wins ties), None if there is none"]),
       ("    return max({0}, key=len, default=None)\n",
        "    best = None\n    for word in {0}:\n        if best is None or len(word) > len(best):\n            best "
        "= word\n"
        "    return best\n"),
       some_words, (([],), (["ab", "cd", "e"],))),
    Op(("starting_with", "filter_by_initial"), ("words", "ch"),
       choices(["a list of the strings of {0} that start with {1}, in order",
                "the items of {0} whose first character is {1}, as a list"],
               ["every entry of {0} opening with {1}, listed"]),
       ("    return [word for word in {0} if word.startswith({1})]\n",
        "    result = []\n    for word in {0}:\n        if word[:1] == {1}:\n            result.append(word)\n"
        "    return result\n"),
       words_and_letter, (([], "a"), (["apple", "pear", "avocado"], "a"))),
    Op(("total_length", "count_characters"), ("words",),
       choices(["the total number of characters in the strings of {0}", "the sum of the lengths of the items of {0}"],
               ["how long the items of {0} are all together"]),
       ("    return sum(len(word) for word in {0})\n",
        "    total = 0\n    for word in {0}:\n        total += len(word)\n    return total\n",
        "    return len(''.join({0}))\n"),
       some_words, (([],), (["ab", "c"],))),
    Op(("capitalize_all", "capitalized_words"), ("words",),
       choices(["a list of the strings of {0}, each with its first character in upper case and the rest in lower "
                "case", "the items of {0} capitalised (first letter upper case, others lower case), as a new list"],
               ["{0} with every entry put into sentence case, as a list"]),
       ("    return [word.capitalize() for word in {0}]\n",
        "    result = []\n    for word in {0}:\n        result.append(word[:1].upper() + word[1:].lower())\n"
        "    return result\n"),
       some_words, (([],), (["hELLO", "x"],))),
]


def word_op(rng: random.Random, words: Wording) -> Draft:
    return draw_op(rng, words, WORD_OPS, "words")
