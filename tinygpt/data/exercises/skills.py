"""The vocabulary of the exercise generator: small skills, each drawn at random into a `Draft` of one function.

A draft is everything about one function except its tests: its name and parameters, a request in words, two or
three correct bodies in different styles (a loop, a comprehension, a built-in), and a way to draw inputs. The
builder (`tinygpt.data.exercises.build`) runs every body on the drawn inputs, writes the tests from what came back and
drops drafts that fail, disagree or that a trivial body would pass.

Skills compose: a list pipeline is a filter, then a transform, then an aggregate, each optional; a number sentence
is a binary operation with a unary one around it. The words are composed from the same parts as the code, so the
request always says what the body does. Nothing here is written from an evaluation task: the skills are the
topics of an introductory Python course (arithmetic, predicates, strings, lists, dicts and sets, loops with
accumulators, recursion, small classes).

Every way of saying something is a `Choices` of a seen share (training) and an unseen share (the unseen-words
evaluation set), picked through the skill's `Wording` (`wording.py`); code is language-neutral and picked with `pick`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tinygpt.data.exercises.wording import Wording, choices


@dataclass
class Draft:
    skill: str
    name: str
    params: list[str]
    summary: str  # one sentence: "Return the sum of the even numbers in nums."
    bodies: list[str]  # correct bodies in different styles, indented four spaces
    draw: Callable[[random.Random], tuple]  # one tuple of arguments
    edge: list[tuple] = field(default_factory=list)  # arguments always tested
    setup: str = ""  # a class: tests are scenarios instead of calls (see ClassDraft)
    what: str = ""  # the value asked for as a noun phrase, when there is one: "the sum of the even numbers in nums"
    claim: tuple[str, str, str] = ()  # or the claim whose truth is returned: ("n", "is", "even") (see frames.py)


def pick(rng: random.Random, options):
    return options[rng.randrange(len(options))]


def ints(rng: random.Random, low: int = -20, high: int = 20) -> int:
    return rng.randint(low, high)


def int_list(rng: random.Random, low: int = -9, high: int = 12, longest: int = 7) -> list[int]:
    return [rng.randint(low, high) for _ in range(rng.randint(1, longest))]


WORDS = ["apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "orbit", "maple", "candle", "ocean",
         "pencil", "garden", "silver", "rocket", "window", "forest", "bridge", "yellow", "castle", "level", "radar",
         "noon", "data", "code", "loop", "spam", "eggs", "hello", "world", "python", "kayak", "moon", "sun"]


def text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        return " ".join(pick(rng, WORDS) for _ in range(rng.randint(1, 4)))
    if kind < 0.75:
        word = pick(rng, WORDS)
        return "".join(c.upper() if rng.random() < 0.3 else c for c in word) + str(rng.randint(0, 99)) * (
            rng.random() < 0.4)
    return pick(rng, WORDS)


# ---- numbers: a binary operation, optionally inside a unary one -----------------------------------------------------

BINARY = [  # (expression, name, phrases); {a} {b} are parameter names
    ("{a} + {b}", "sum", choices(["the sum of {a} and {b}", "{a} plus {b}", "the total of {a} and {b}"],
                                 ["{a} and {b} added together"])),
    ("{a} - {b}", "difference",
     choices(["{a} minus {b}", "the difference {a} - {b}", "the result of subtracting {b} from {a}"],
             ["{b} subtracted from {a}"])),
    ("{a} * {b}", "product", choices(["the product of {a} and {b}", "{a} times {b}", "{a} multiplied by {b}"],
                                     ["{a} and {b} multiplied together"])),
    ("max({a}, {b})", "larger",
     choices(["the larger of {a} and {b}", "the maximum of {a} and {b}", "the bigger of {a} and {b}"],
             ["whichever of {a} and {b} is greater"])),
    ("min({a}, {b})", "smaller",
     choices(["the smaller of {a} and {b}", "the minimum of {a} and {b}", "the lesser of {a} and {b}"],
             ["whichever of {a} and {b} is lower"])),
    ("abs({a} - {b})", "distance", choices(["the absolute difference between {a} and {b}",
                                            "the distance between {a} and {b}"], ["how far apart {a} and {b} are"])),
    ("{a} % {b}", "remainder", choices(["the remainder of {a} divided by {b}", "{a} modulo {b}", "{a} mod {b}"],
                                       ["what is left over when {a} is divided by {b}"])),
    ("{a} // {b}", "quotient",
     choices(["the integer quotient of {a} divided by {b}", "{a} divided by {b}, rounded down"],
             ["the floor of {a} over {b}", "{a} floor-divided by {b}"])),
]
UNARY = [  # (expression of x, name, phrases of p)
    ("{x} * {x}", "square", choices(["the square of {p}"], ["the second power of {p}"])),
    ("2 * {x}", "double", choices(["twice {p}", "two times {p}"], ["the double of {p}"])),
    ("-{x}", "negated", choices(["the negative of {p}"], ["the opposite of {p}"])),
    ("abs({x})", "abs", choices(["the absolute value of {p}"], ["the magnitude of {p}"])),
    ("{x} + 1", "next", choices(["one more than {p}"], ["the successor of {p}"])),
    ("{x} - 1", "previous", choices(["one less than {p}"], ["the predecessor of {p}"])),
    ("{x} * {x} * {x}", "cube", choices(["the cube of {p}"], ["the third power of {p}"])),
    ("{x} % 10", "last_digit", choices(["the last digit of {p}"], ["the ones digit of {p}"])),
]
PAIRS = choices([("a", "b"), ("x", "y"), ("m", "n"), ("first", "second"), ("left", "right"), ("p", "q")],
                [("u", "v"), ("num1", "num2"), ("val1", "val2")])


def number_sentence(rng: random.Random, words: Wording) -> Draft:
    expression, op_name, phrases = pick(rng, BINARY)
    a, b = words.pick(rng, PAIRS)
    inner = expression.format(a=a, b=b)
    phrase = words.pick(rng, phrases).format(a=a, b=b)
    divides = "%" in expression or "//" in expression
    name = op_name
    bodies = [f"    return {inner}\n", f"    result = {inner}\n    return result\n"]
    if rng.random() < 0.6:
        outer, outer_name, outer_phrase = pick(rng, UNARY)
        if outer_name == "last_digit":
            bodies = [f"    return abs({inner}) % 10\n", f"    value = abs({inner})\n    return value % 10\n"]
        else:
            bodies = [f"    return {outer.format(x=f'({inner})')}\n",
                      f"    value = {inner}\n    return {outer.format(x='value')}\n"]
        phrase = words.pick(rng, outer_phrase).format(p=phrase)
        name = f"{outer_name}_of_{op_name}"
    low = 1 if divides else -30

    def draw(rng):
        return (rng.randint(-30, 30), rng.randint(low, 12) if divides else rng.randint(-30, 30))

    return Draft("arithmetic", name, [a, b], words.value_request(rng, phrase), bodies, draw, edge=[(7, 3)],
                 what=phrase)


PREDICATES = [  # (condition on {x}, name, phrases "{x} is ...") ; k is filled in
    ("{x} % 2 == 0", "even", choices(["even", "an even number"], ["evenly divisible by two"])),
    ("{x} % 2 != 0", "odd", choices(["odd", "an odd number"], ["not evenly divisible by two"])),
    ("{x} > 0", "positive", choices(["positive", "greater than zero"], ["above zero"])),
    ("{x} < 0", "negative", choices(["negative", "less than zero"], ["below zero"])),
    ("{x} == 0", "zero", choices(["zero", "equal to zero"], ["exactly 0"])),
    ("{x} % {k} == 0", "divisible_by_{k}",
     choices(["divisible by {k}", "a multiple of {k}"], ["evenly divisible by {k}"])),
    ("{x} > {k}", "greater_than_{k}",
     choices(["greater than {k}", "more than {k}", "bigger than {k}"], ["in excess of {k}"])),
    ("{x} < {k}", "less_than_{k}", choices(["less than {k}", "smaller than {k}"], ["under {k}"])),
    ("{x} >= {k}", "at_least_{k}", choices(["at least {k}", "{k} or more"], ["no less than {k}"])),
    ("{lo} <= {x} <= {hi}", "between_{lo}_and_{hi}", choices(["between {lo} and {hi} inclusive"],
                                                             ["in the range {lo} to {hi}, both ends included"])),
]
NUMBER_NAMES = choices(["n", "x", "number", "value", "num"], ["k", "integer"])
PREDICATE_REQUESTS = choices(["Return True if {n} is {p}, otherwise False.", "Check whether {n} is {p}.",
                              "Return whether {n} is {p}.", "Check if {n} is {p}.", "Is {n} {p}?"],
                             ["Tell whether {n} is {p}.", "Decide if {n} is {p}."])


def predicate(rng: random.Random, x: str, words: Wording) -> tuple[str, str, str]:
    """(condition, name part, phrase) of a random predicate on the variable `x`."""
    condition, name, phrases = pick(rng, PREDICATES)
    phrase = words.pick(rng, phrases)
    k, lo = rng.choice([2, 3, 4, 5, 7, 10]), rng.randint(-5, 5)
    values = {"x": x, "k": k, "lo": lo, "hi": lo + rng.randint(2, 9)}
    in_name = {key: str(value).replace("-", "minus_") for key, value in values.items()}  # identifiers: no "-"
    return condition.format(**values), name.format(**in_name), phrase.format(**values)


def number_predicate(rng: random.Random, words: Wording) -> Draft:
    n = words.pick(rng, NUMBER_NAMES)
    condition, part, phrase = predicate(rng, n, words)
    if rng.random() < 0.3:  # two conditions joined
        second, second_part, second_phrase = predicate(rng, n, words)
        joiner = pick(rng, ["and", "or"])
        condition, part, phrase = (f"({condition}) {joiner} ({second})", f"{part}_{joiner}_{second_part}",
                                   f"{phrase} {joiner} {second_phrase}")
    name = pick(rng, ["is_{}", "check_{}", "{}_number"]).format(part)
    summary = words.pick(rng, PREDICATE_REQUESTS).format(n=n, p=phrase)
    bodies = [f"    return {condition}\n",
              f"    if {condition}:\n        return True\n    return False\n",
              f"    if {condition}:\n        return True\n    else:\n        return False\n"]
    return Draft("predicate", name, [n], summary, bodies, lambda rng: (rng.randint(-25, 25),), edge=[(0,), (6,)],
                 claim=(n, "is", phrase))


# ---- lists: filter, transform, aggregate ----------------------------------------------------------------------------

TRANSFORMS = [  # (expression of {x}, name, phrases of the items)
    ("{x} * {x}", "squares", choices(["the squares of"], ["the squared values of"])),
    ("2 * {x}", "doubled", choices(["double"], ["the doubled values of"])),
    ("-{x}", "negated", choices(["the negatives of"], ["the negated values of"])),
    ("abs({x})", "absolute", choices(["the absolute values of"], ["the magnitudes of"])),
    ("{x} + {k}", "plus_{k}", choices(["{k} added to"], ["{k} more than each of"])),
    ("{x} % 10", "last_digits", choices(["the last digits of"], ["the ones digits of"])),
]
LIST_NAMES = choices([("nums", "n"), ("numbers", "number"), ("values", "v"), ("items", "item"), ("xs", "x"),
                      ("data", "d"), ("lst", "x"), ("arr", "a")], [("seq", "elem"), ("series", "term")])
ITEMS = choices(["the numbers in {xs}", "the elements of {xs}"], ["the entries of {xs}"])
LIST_REQUESTS = {  # aggregate -> how to ask for it; {items}: "the even numbers in nums", {xs}, {p}: a predicate
    "sum": choices(["the sum of {items}", "the total of {items}"], ["{items} added up"]),
    "product": choices(["the product of {items}"], ["{items} multiplied together"]),
    "list": choices(["Return a list of {items}.", "Return a new list holding {items}, in order."],
                    ["Collect {items} into a list, keeping their order.", "Build a list containing {items}."]),
    "count": choices(["Return how many numbers in {xs} are {p}.", "Count the numbers in {xs} that are {p}.",
                      "How many of the numbers in {xs} are {p}?"], ["Tally the entries of {xs} that are {p}."]),
    "max": choices(["the largest of {items}, or None if there are none"],
                   ["the biggest of {items} (None when there is no such number)"]),
    "min": choices(["the smallest of {items}, or None if there are none"],
                   ["the lowest of {items} (None when there is no such number)"]),
    "any": choices(["Return True if any number in {xs} is {p}."],
                   ["Tell whether at least one element of {xs} is {p}."]),
    "all": choices(["Return True if every number in {xs} is {p}."],
                   ["Tell whether each element of {xs} is {p}."]),
    "first": choices(["the first number in {xs} that is {p}, or None if there is none"],
                     ["the earliest element of {xs} that is {p} (None when no element is)"]),
}


def list_pipeline(rng: random.Random, words: Wording) -> Draft:
    xs, x = words.pick(rng, LIST_NAMES)
    k = rng.choice([1, 2, 3, 5, 10])
    condition = part = phrase = None
    if rng.random() < 0.75:
        condition, part, phrase = predicate(rng, x, words)
    transform = t_name = t_phrase = None
    if rng.random() < 0.5 or condition is None:
        transform, t_name, t_phrases = pick(rng, TRANSFORMS)
        transform, t_name, t_phrase = (transform.format(x=x, k=k), t_name.format(k=k),
                                       words.pick(rng, t_phrases).format(k=k))
    aggregates = ["sum", "list", "count", "max", "min", "any", "all", "first", "product"]
    aggregate = pick(rng, aggregates if condition else ["sum", "list", "max", "min", "product"])
    item = transform or x
    of_items = words.pick(rng, ITEMS).format(xs=xs) + (f" that are {phrase}" if condition else "")
    if transform:
        of_items = f"{t_phrase} {of_items}"
    request = words.pick(rng, LIST_REQUESTS[aggregate]).format(items=of_items, xs=xs, p=phrase)
    summary = request if request.endswith((".", "?")) else words.value_request(rng, request)
    where = f" if {condition}" if condition else ""
    kept = f"[{item} for {x} in {xs}{where}]"
    loop_head = f"    for {x} in {xs}:\n" + (f"        if {condition}:\n" if condition else "")
    indent = "            " if condition else "        "
    parts = [w for w in (part, t_name) if w]
    if aggregate == "sum":
        bodies = [f"    total = 0\n{loop_head}{indent}total += {item}\n    return total\n",
                  f"    return sum({kept[1:-1]})\n"]
        name = "sum_" + "_".join(parts)
    elif aggregate == "product":
        bodies = [f"    result = 1\n{loop_head}{indent}result *= {item}\n    return result\n"]
        name = "product_" + "_".join(parts)
    elif aggregate == "list":
        bodies = [f"    result = []\n{loop_head}{indent}result.append({item})\n    return result\n",
                  f"    return {kept}\n"]
        name = "_".join(parts) if transform else f"keep_{part}" if condition else "copy_list"
    elif aggregate == "count":
        bodies = [f"    count = 0\n    for {x} in {xs}:\n        if {condition}:\n            count += 1\n"
                  "    return count\n",
                  f"    return len([{x} for {x} in {xs} if {condition}])\n",
                  f"    return sum(1 for {x} in {xs} if {condition})\n"]
        name = f"count_{part}"
    elif aggregate in ("max", "min"):
        best = "largest" if aggregate == "max" else "smallest"
        sign = ">" if aggregate == "max" else "<"
        bodies = [f"    best = None\n{loop_head}{indent}if best is None or {item} {sign} best:\n"
                  f"{indent}    best = {item}\n"
                  "    return best\n",
                  f"    kept = {kept}\n    if not kept:\n        return None\n    return {aggregate}(kept)\n",
                  f"    return {aggregate}({kept}, default=None)\n"]
        name = f"{best}_" + "_".join(parts) if parts else best
    elif aggregate in ("any", "all"):
        negate = "" if aggregate == "any" else "not "
        found, default = ("True", "False") if aggregate == "any" else ("False", "True")
        bodies = [f"    for {x} in {xs}:\n        if {negate}({condition}):\n            return {found}\n"
                  f"    return {default}\n",
                  f"    return {aggregate}({condition} for {x} in {xs})\n"]
        name = f"{aggregate}_{part}"
    else:  # first
        bodies = [f"    for {x} in {xs}:\n        if {condition}:\n            return {x}\n    return None\n",
                  f"    return next(({x} for {x} in {xs} if {condition}), None)\n"]
        name = f"first_{part}"
    what = "" if request.endswith((".", "?")) else request
    claim = (f"{'any' if aggregate == 'any' else 'every'} number in {xs}", "is", phrase) if aggregate in (
        "any", "all") else ()
    return Draft("list", name, [xs], summary, bodies, lambda rng: (int_list(rng),), edge=[([],), ([4, -3, 8, 0],)],
                 what=what, claim=claim)


# ---- strings --------------------------------------------------------------------------------------------------------

CHAR_TESTS = [  # (condition on {c}, name, phrases)
    ("{c} in 'aeiouAEIOU'", "vowels", choices(["vowels"], ["vowel letters (a, e, i, o, u in either case)"])),
    ("{c}.isdigit()", "digits", choices(["digits"], ["numeric characters"])),
    ("{c}.isupper()", "uppercase", choices(["uppercase letters", "capital letters"], ["letters in upper case"])),
    ("{c}.islower()", "lowercase", choices(["lowercase letters"], ["small letters"])),
    ("{c} == ' '", "spaces", choices(["spaces"], ["space characters"])),
    ("{c}.isalpha()", "letters", choices(["letters"], ["alphabetic characters"])),
]
TEXT_NAMES = choices([("s", "ch"), ("text", "char"), ("word", "letter"), ("string", "c"), ("sentence", "ch")],
                     [("msg", "symbol"), ("line", "character")])
CHAR_REQUESTS = [  # (name, requests); {p}: the characters, {s}: the string
    ("count", choices(["Return the number of {p} in {s}.", "Count the {p} in {s}.", "How many {p} does {s} contain?"],
                      ["Tally up the {p} that appear in {s}."])),
    ("remove", choices(["Return {s} with all {p} removed."], ["Strip every one of the {p} out of {s}."])),
    ("only", choices(["Return only the {p} of {s}, in order, as a string."],
                     ["Keep just the {p} of {s}, in their original order, joined into one string."])),
]


def string_chars(rng: random.Random, words: Wording) -> Draft:
    s, c = words.pick(rng, TEXT_NAMES)
    condition, part, phrases = pick(rng, CHAR_TESTS)
    condition = condition.format(c=c)
    kind = rng.randrange(3)
    summary = words.pick(rng, CHAR_REQUESTS[kind][1]).format(p=words.pick(rng, phrases), s=s)
    if kind == 0:
        bodies = [f"    count = 0\n    for {c} in {s}:\n        if {condition}:\n            count += 1\n"
                   "    return count\n",
                  f"    return sum(1 for {c} in {s} if {condition})\n"]
        name = f"count_{part}"
    elif kind == 1:
        bodies = [f"    result = ''\n    for {c} in {s}:\n        if not ({condition}):\n            result += {c}\n"
                  "    return result\n",
                  f"    return ''.join({c} for {c} in {s} if not ({condition}))\n"]
        name = f"remove_{part}"
    else:
        bodies = [f"    result = ''\n    for {c} in {s}:\n        if {condition}:\n            result += {c}\n"
                  "    return result\n",
                  f"    return ''.join([{c} for {c} in {s} if {condition}])\n"]
        name = f"only_{part}"
    return Draft("string", name, [s], summary, bodies, lambda rng: (text(rng),), edge=[("",), ("Hello World 42",)])


STRING_OPS = [  # (name, requests, bodies); {s} is the parameter
    ("reverse_text", choices(["Return {s} reversed."],
             ["Write {s} back to front.", "Produce the characters of {s} in the opposite order."]),
     ["    return {s}[::-1]\n", "    result = ''\n    for ch in {s}:\n        result = ch + result\n"
      "    return result\n",
      "    return ''.join(reversed({s}))\n"]),
    ("is_palindrome", choices(["Return True if {s} reads the same forwards and backwards."],
             ["Tell whether {s} is a palindrome.", "Decide if {s} is unchanged when read from right to left."]),
     ["    return {s} == {s}[::-1]\n",
      "    for i in range(len({s}) // 2):\n        if {s}[i] != {s}[-1 - i]:\n            return False\n"
      "    return True\n"]),
    ("to_upper", choices(["Return {s} in upper case.", "Convert {s} to uppercase."],
             ["Turn every letter of {s} into its capital form."]),
     ["    return {s}.upper()\n"]),
    ("shout", choices(["Return {s} in upper case followed by an exclamation mark."],
             ["Turn {s} into capitals and put '!' at the end."]), ["    return {s}.upper() + '!'\n"]),
    ("word_count", choices(["Return the number of words in {s}.", "How many words does {s} contain?"],
             ["Tell how many whitespace-separated words make up {s}."]),
     ["    return len({s}.split())\n",
     "    count = 0\n    for word in {s}.split():\n        count += 1\n    return count\n"]),
    ("first_char", choices(["Return the first character of {s}, or an empty string if {s} is empty."],
             ["Pick out the opening character of {s} ('' for an empty string)."]),
     ["    return {s}[:1]\n", "    if not {s}:\n        return ''\n    return {s}[0]\n"]),
    ("last_char", choices(["Return the last character of {s}, or an empty string if {s} is empty."],
             ["Pick out the final character of {s} ('' for an empty string)."]),
     ["    return {s}[-1:]\n", "    if {s} == '':\n        return ''\n    return {s}[-1]\n"]),
    ("longest_word",
     choices(["Return the longest word in {s} (the first one if several tie), or '' if there are none."],
             ["Find the word of {s} with the most characters; on a tie the earliest wins, and '' when {s} has no "
              "words."]),
     ["    best = ''\n    for word in {s}.split():\n        if len(word) > len(best):\n            best = word\n"
      "    return best\n",
      "    return max({s}.split(), key=len, default='')\n"]),
    ("title_words", choices(["Make each word of {s} start with a capital letter; leave its other letters as they are."],
             ["Capitalize the first character of every word in {s}, keeping the rest of each word unchanged."]),
     ["    return ' '.join(word[:1].upper() + word[1:] for word in {s}.split(' '))\n"]),
    ("swap_case",
     choices(["Return {s} with upper case letters made lower case and lower case letters made upper case."],
             ["Invert the case of each letter in {s}."]),
     ["    return {s}.swapcase()\n",
      "    return ''.join(ch.lower() if ch.isupper() else ch.upper() for ch in {s})\n"]),
    ("double_letters", choices(["Return {s} with every character repeated twice."],
             ["Repeat each character of {s} two times in a row."]),
     ["    return ''.join(ch * 2 for ch in {s})\n",
      "    result = ''\n    for ch in {s}:\n        result += ch + ch\n    return result\n"]),
    ("initials", choices(["Return the first letter of each word in {s}, joined together in upper case."],
             ["Build the capitalised initials of the words in {s}, with nothing between them."]),
     ["    return ''.join(word[0].upper() for word in {s}.split())\n"]),
    ("char_frequencies", choices(["Return a dictionary mapping each character of {s} to how many times it occurs."],
             ["Tally how often every character appears in {s}, as a dict from character to count."]),
     ["    counts = {{}}\n    for ch in {s}:\n        counts[ch] = counts.get(ch, 0) + 1\n    return counts\n",
      "    counts = {{}}\n    for ch in {s}:\n        if ch in counts:\n            counts[ch] += 1\n        else:\n"
      "            counts[ch] = 1\n    return counts\n"]),
    ("word_lengths", choices(["Return a list of the lengths of the words in {s}."],
             ["List how long each word of {s} is."]),
     ["    return [len(word) for word in {s}.split()]\n",
      "    lengths = []\n    for word in {s}.split():\n        lengths.append(len(word))\n    return lengths\n"]),
]


STRING_NAMES = choices(["s", "text", "word", "string", "phrase"], ["msg", "line"])


def string_op(rng: random.Random, words: Wording) -> Draft:
    s = words.pick(rng, STRING_NAMES)
    name, requests, bodies = pick(rng, STRING_OPS)
    return Draft("string", name, [s], words.pick(rng, requests).format(s=s), [b.format(s=s) for b in bodies],
                 lambda rng: (text(rng),), edge=[("",), ("level up",)])


# ---- dicts and sets -------------------------------------------------------------------------------------------------

COLLECTION_OPS = [  # (name, params, requests, bodies, draw)
    ("unique_sorted", ["xs"], choices(["Return the distinct values of {0} in increasing order."],
             ["Pick out the different values found in {0}, smallest first."]),
     ["    return sorted(set({0}))\n",
      "    seen = []\n    for x in {0}:\n        if x not in seen:\n            seen.append(x)\n"
      "    return sorted(seen)\n"],
     lambda rng: (int_list(rng, 0, 6, 9),)),
    ("has_duplicates", ["xs"], choices(["Return True if some value occurs more than once in {0}."],
             ["Tell whether any value appears twice or more in {0}."]),
     ["    return len(set({0})) != len({0})\n",
      "    seen = set()\n    for x in {0}:\n        if x in seen:\n            return True\n        seen.add(x)\n"
      "    return False\n"], lambda rng: (int_list(rng, 0, 9, 6),)),
    ("common_values", ["xs", "ys"], choices(["Return the values that occur in both {0} and {1}, sorted."],
             ["Find which values appear in {0} as well as in {1}, in ascending order."]),
     ["    return sorted(set({0}) & set({1}))\n",
      "    return sorted(set(x for x in {0} if x in {1}))\n"],
     lambda rng: (int_list(rng, 0, 9, 6), int_list(rng, 0, 9, 6))),
    ("only_in_first", ["xs", "ys"],
     choices(["Return the values of {0} that are not in {1}, sorted and without repeats."],
             ["Give, in ascending order and each once, the values that {0} has and {1} lacks."]),
     ["    return sorted(set({0}) - set({1}))\n",
      "    result = set()\n    for x in {0}:\n        if x not in {1}:\n            result.add(x)\n"
      "    return sorted(result)\n"],
     lambda rng: (int_list(rng, 0, 9, 6), int_list(rng, 0, 9, 6))),
    ("count_values", ["xs"],
     choices(["Return a dictionary mapping each value in {0} to the number of times it occurs."],
             ["Build a dict that tells, for every value of {0}, how often it appears."]),
     ["    counts = {{}}\n    for x in {0}:\n        counts[x] = counts.get(x, 0) + 1\n    return counts\n",
      "    return {{x: {0}.count(x) for x in {0}}}\n"], lambda rng: (int_list(rng, 0, 5, 8),)),
    ("invert", ["mapping"], choices(["Return a new dictionary with the keys and values of {0} swapped."],
             ["Swap the keys and the values of the dictionary {0}."]),
     ["    return {{value: key for key, value in {0}.items()}}\n",
      "    result = {{}}\n    for key, value in {0}.items():\n        result[value] = key\n    return result\n"],
     lambda rng: ({w: i for i, w in enumerate(rng.sample(WORDS, rng.randint(0, 4)))},)),
    ("sum_values", ["mapping"], choices(["Return the sum of the values in the dictionary {0}."],
             ["Add up all the values stored in the dict {0}."]),
     ["    return sum({0}.values())\n",
      "    total = 0\n    for key in {0}:\n        total += {0}[key]\n    return total\n"],
     lambda rng: ({w: rng.randint(-5, 20) for w in rng.sample(WORDS, rng.randint(0, 4))},)),
    ("keys_above", ["mapping", "limit"],
     choices(["Return a sorted list of the keys of {0} whose value is greater than {1}."],
             ["List, sorted, the keys of {0} whose values exceed {1}."]),
     ["    return sorted(key for key, value in {0}.items() if value > {1})\n",
      "    keys = []\n    for key, value in {0}.items():\n        if value > {1}:\n            keys.append(key)\n"
      "    return sorted(keys)\n"],
     lambda rng: ({w: rng.randint(0, 20) for w in rng.sample(WORDS, rng.randint(1, 5))}, rng.randint(0, 15))),
    ("lookup", ["mapping", "key"], choices(["Return the value stored under {1} in {0}, or 0 if {1} is missing."],
             ["Look up {1} in {0}, giving 0 when it is absent."]),
     ["    return {0}.get({1}, 0)\n", "    if {1} in {0}:\n        return {0}[{1}]\n    return 0\n"],
     lambda rng: ({w: rng.randint(1, 9) for w in WORDS[:4]}, pick(rng, WORDS[:6]))),
    ("merge_counts", ["first", "second"],
     choices(["Return a dictionary that adds up the counts of the dictionaries {0} and "
     "{1} key by key."],
             ["Combine the tallies {0} and {1} into one dict, summing the counts of keys found in both."]),
     ["    result = dict({0})\n    for key, value in {1}.items():\n        result[key] = result.get(key, 0) + value\n"
      "    return result\n"],
     lambda rng: ({w: rng.randint(1, 5) for w in rng.sample(WORDS[:6], 3)},
                  {w: rng.randint(1, 5) for w in rng.sample(WORDS[:6], 2)})),
]


COLLECTION_NAMES = {"xs": choices(["xs", "values", "items", "numbers", "lst", "arr"], ["seq", "bag"]),
                    "ys": choices(["ys", "others", "second"], ["other", "rhs"]),
                    "mapping": choices(["mapping", "d", "table", "scores"], ["dct", "lookup_table"]),
                    "limit": choices(["limit"], ["threshold"]), "key": choices(["key"], ["name"]),
                    "first": choices(["first"], ["ours"]), "second": choices(["second"], ["theirs"])}


def collection_op(rng: random.Random, words: Wording) -> Draft:
    name, params, requests, bodies, draw = pick(rng, COLLECTION_OPS)
    names = [words.pick(rng, COLLECTION_NAMES[p]) for p in params]
    if len(set(names)) < len(names):
        names = [words.options(COLLECTION_NAMES[p])[0] for p in params]
    summary = words.pick(rng, requests).format(*names)
    return Draft("collection", name, names, summary, [b.format(*names) for b in bodies], draw)
