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
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


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
    ("{a} + {b}", "sum", ["the sum of {a} and {b}", "{a} plus {b}"]),
    ("{a} - {b}", "difference", ["{a} minus {b}", "the difference {a} - {b}"]),
    ("{a} * {b}", "product", ["the product of {a} and {b}", "{a} times {b}"]),
    ("max({a}, {b})", "larger", ["the larger of {a} and {b}", "the maximum of {a} and {b}"]),
    ("min({a}, {b})", "smaller", ["the smaller of {a} and {b}", "the minimum of {a} and {b}"]),
    ("abs({a} - {b})", "distance", ["the absolute difference between {a} and {b}", "the distance between {a} and {b}"]),
    ("{a} % {b}", "remainder", ["the remainder of {a} divided by {b}", "{a} modulo {b}"]),
    ("{a} // {b}", "quotient", ["the integer quotient of {a} divided by {b}", "{a} divided by {b}, rounded down"]),
]
UNARY = [  # (expression of x, name, phrase of p)
    ("{x} * {x}", "square", "the square of {p}"),
    ("2 * {x}", "double", "twice {p}"),
    ("-{x}", "negated", "the negative of {p}"),
    ("abs({x})", "abs", "the absolute value of {p}"),
    ("{x} + 1", "next", "one more than {p}"),
    ("{x} - 1", "previous", "one less than {p}"),
    ("{x} * {x} * {x}", "cube", "the cube of {p}"),
    ("{x} % 10", "last_digit", "the last digit of {p}"),
]
PAIRS = [("a", "b"), ("x", "y"), ("m", "n"), ("first", "second"), ("left", "right"), ("p", "q")]


def number_sentence(rng: random.Random) -> Draft:
    expression, op_name, phrases = pick(rng, BINARY)
    a, b = pick(rng, PAIRS)
    inner = expression.format(a=a, b=b)
    phrase = pick(rng, phrases).format(a=a, b=b)
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
        phrase = outer_phrase.format(p=phrase)
        name = f"{outer_name}_of_{op_name}"
    low = 1 if divides else -30

    def draw(rng):
        return (rng.randint(-30, 30), rng.randint(low, 12) if divides else rng.randint(-30, 30))

    return Draft("arithmetic", name, [a, b], f"Return {phrase}.", bodies, draw, edge=[(7, 3)])


PREDICATES = [  # (condition on {x}, name, phrase "{x} is ...") ; k is filled in
    ("{x} % 2 == 0", "even", "even"),
    ("{x} % 2 != 0", "odd", "odd"),
    ("{x} > 0", "positive", "positive"),
    ("{x} < 0", "negative", "negative"),
    ("{x} == 0", "zero", "zero"),
    ("{x} % {k} == 0", "divisible_by_{k}", "divisible by {k}"),
    ("{x} > {k}", "greater_than_{k}", "greater than {k}"),
    ("{x} < {k}", "less_than_{k}", "less than {k}"),
    ("{x} >= {k}", "at_least_{k}", "at least {k}"),
    ("{lo} <= {x} <= {hi}", "between_{lo}_and_{hi}", "between {lo} and {hi} inclusive"),
]


def predicate(rng: random.Random, x: str) -> tuple[str, str, str]:
    """(condition, name part, phrase) of a random predicate on the variable `x`."""
    condition, name, phrase = pick(rng, PREDICATES)
    k, lo = rng.choice([2, 3, 4, 5, 7, 10]), rng.randint(-5, 5)
    values = {"x": x, "k": k, "lo": lo, "hi": lo + rng.randint(2, 9)}
    in_name = {key: str(value).replace("-", "minus_") for key, value in values.items()}  # identifiers: no "-"
    return condition.format(**values), name.format(**in_name), phrase.format(**values)


def number_predicate(rng: random.Random) -> Draft:
    n = pick(rng, ["n", "x", "number", "value", "num"])
    condition, part, phrase = predicate(rng, n)
    if rng.random() < 0.3:  # two conditions joined
        second, second_part, second_phrase = predicate(rng, n)
        joiner = pick(rng, ["and", "or"])
        condition, part, phrase = (f"({condition}) {joiner} ({second})", f"{part}_{joiner}_{second_part}",
                                   f"{phrase} {joiner} {second_phrase}")
    name = pick(rng, ["is_{}", "check_{}", "{}_number"]).format(part)
    summary = pick(rng, [f"Return True if {n} is {phrase}, otherwise False.", f"Check whether {n} is {phrase}.",
                         f"Return whether {n} is {phrase}."])
    bodies = [f"    return {condition}\n",
              f"    if {condition}:\n        return True\n    return False\n",
              f"    if {condition}:\n        return True\n    else:\n        return False\n"]
    return Draft("predicate", name, [n], summary, bodies, lambda rng: (rng.randint(-25, 25),), edge=[(0,), (6,)])


# ---- lists: filter, transform, aggregate ----------------------------------------------------------------------------

TRANSFORMS = [  # (expression of {x}, name, phrase of the items)
    ("{x} * {x}", "squares", "the squares of"),
    ("2 * {x}", "doubled", "double"),
    ("-{x}", "negated", "the negatives of"),
    ("abs({x})", "absolute", "the absolute values of"),
    ("{x} + {k}", "plus_{k}", "{k} added to"),
    ("{x} % 10", "last_digits", "the last digits of"),
]


def list_pipeline(rng: random.Random) -> Draft:
    xs, x = pick(rng, [("nums", "n"), ("numbers", "number"), ("values", "v"), ("items", "item"), ("xs", "x"),
                       ("data", "d")])
    k = rng.choice([1, 2, 3, 5, 10])
    condition = part = phrase = None
    if rng.random() < 0.75:
        condition, part, phrase = predicate(rng, x)
    transform = t_name = t_phrase = None
    if rng.random() < 0.5 or condition is None:
        transform, t_name, t_phrase = pick(rng, TRANSFORMS)
        transform, t_name, t_phrase = (transform.format(x=x, k=k), t_name.format(k=k), t_phrase.format(k=k))
    aggregates = ["sum", "list", "count", "max", "min", "any", "all", "first", "product"]
    aggregate = pick(rng, aggregates if condition else ["sum", "list", "max", "min", "product"])
    item = transform or x
    of_items = f"the numbers in {xs}" + (f" that are {phrase}" if condition else "")
    if transform:
        of_items = f"{t_phrase} {of_items}"
    where = f" if {condition}" if condition else ""
    kept = f"[{item} for {x} in {xs}{where}]"
    loop_head = f"    for {x} in {xs}:\n" + (f"        if {condition}:\n" if condition else "")
    indent = "            " if condition else "        "
    words = [w for w in (part, t_name) if w]
    if aggregate == "sum":
        summary = f"Return the sum of {of_items}."
        bodies = [f"    total = 0\n{loop_head}{indent}total += {item}\n    return total\n",
                  f"    return sum({kept[1:-1]})\n"]
        name = "sum_" + "_".join(words)
    elif aggregate == "product":
        summary = f"Return the product of {of_items}."
        bodies = [f"    result = 1\n{loop_head}{indent}result *= {item}\n    return result\n"]
        name = "product_" + "_".join(words)
    elif aggregate == "list":
        summary = pick(rng, [f"Return a list of {of_items}.", f"Return a new list holding {of_items}, in order."])
        bodies = [f"    result = []\n{loop_head}{indent}result.append({item})\n    return result\n",
                  f"    return {kept}\n"]
        name = "_".join(words) if transform else f"keep_{part}" if condition else "copy_list"
        name = name if transform else f"{name}"
    elif aggregate == "count":
        summary = pick(rng, [f"Return how many numbers in {xs} are {phrase}.",
                             f"Count the numbers in {xs} that are {phrase}."])
        bodies = [f"    count = 0\n    for {x} in {xs}:\n        if {condition}:\n            count += 1\n"
                   "    return count\n",
                  f"    return len([{x} for {x} in {xs} if {condition}])\n",
                  f"    return sum(1 for {x} in {xs} if {condition})\n"]
        name = f"count_{part}"
    elif aggregate in ("max", "min"):
        best = "largest" if aggregate == "max" else "smallest"
        sign = ">" if aggregate == "max" else "<"
        summary = f"Return the {best} of {of_items}, or None if there are none."
        bodies = [f"    best = None\n{loop_head}{indent}if best is None or {item} {sign} best:\n"
                   f"{indent}    best = {item}\n"
                  "    return best\n",
                  f"    kept = {kept}\n    if not kept:\n        return None\n    return {aggregate}(kept)\n",
                  f"    return {aggregate}({kept}, default=None)\n"]
        name = f"{best}_" + "_".join(words) if words else best
    elif aggregate in ("any", "all"):
        summary = (f"Return True if any number in {xs} is {phrase}." if aggregate == "any"
                   else f"Return True if every number in {xs} is {phrase}.")
        negate = "" if aggregate == "any" else "not "
        found, default = ("True", "False") if aggregate == "any" else ("False", "True")
        bodies = [f"    for {x} in {xs}:\n        if {negate}({condition}):\n            return {found}\n"
                  f"    return {default}\n",
                  f"    return {aggregate}({condition} for {x} in {xs})\n"]
        name = f"{'any' if aggregate == 'any' else 'all'}_{part}"
    else:  # first
        summary = f"Return the first number in {xs} that is {phrase}, or None if there is none."
        bodies = [f"    for {x} in {xs}:\n        if {condition}:\n            return {x}\n    return None\n",
                  f"    return next(({x} for {x} in {xs} if {condition}), None)\n"]
        name = f"first_{part}"
    return Draft("list", name, [xs], summary, bodies, lambda rng: (int_list(rng),), edge=[([],), ([4, -3, 8, 0],)])


# ---- strings --------------------------------------------------------------------------------------------------------

CHAR_TESTS = [  # (condition on {c}, name, phrase)
    ("{c} in 'aeiouAEIOU'", "vowels", "vowels"),
    ("{c}.isdigit()", "digits", "digits"),
    ("{c}.isupper()", "uppercase", "uppercase letters"),
    ("{c}.islower()", "lowercase", "lowercase letters"),
    ("{c} == ' '", "spaces", "spaces"),
    ("{c}.isalpha()", "letters", "letters"),
]


def string_chars(rng: random.Random) -> Draft:
    s, c = pick(rng, [("s", "ch"), ("text", "char"), ("word", "letter"), ("string", "c"), ("sentence", "ch")])
    condition, part, phrase = pick(rng, CHAR_TESTS)
    condition = condition.format(c=c)
    kind = rng.randrange(3)
    if kind == 0:
        summary = pick(rng, [f"Return the number of {phrase} in {s}.", f"Count the {phrase} in {s}."])
        bodies = [f"    count = 0\n    for {c} in {s}:\n        if {condition}:\n            count += 1\n"
                   "    return count\n",
                  f"    return sum(1 for {c} in {s} if {condition})\n"]
        name = f"count_{part}"
    elif kind == 1:
        summary = f"Return {s} with all {phrase} removed."
        bodies = [f"    result = ''\n    for {c} in {s}:\n        if not ({condition}):\n            result += {c}\n"
                  "    return result\n",
                  f"    return ''.join({c} for {c} in {s} if not ({condition}))\n"]
        name = f"remove_{part}"
    else:
        summary = f"Return only the {phrase} of {s}, in order, as a string."
        bodies = [f"    result = ''\n    for {c} in {s}:\n        if {condition}:\n            result += {c}\n"
                  "    return result\n",
                  f"    return ''.join([{c} for {c} in {s} if {condition}])\n"]
        name = f"only_{part}"
    return Draft("string", name, [s], summary, bodies, lambda rng: (text(rng),), edge=[("",), ("Hello World 42",)])


STRING_OPS = [  # (name, summary, bodies); {s} is the parameter
    ("reverse_text", "Return {s} reversed.",
     ["    return {s}[::-1]\n", "    result = ''\n    for ch in {s}:\n        result = ch + result\n"
      "    return result\n",
      "    return ''.join(reversed({s}))\n"]),
    ("is_palindrome", "Return True if {s} reads the same forwards and backwards.",
     ["    return {s} == {s}[::-1]\n",
      "    for i in range(len({s}) // 2):\n        if {s}[i] != {s}[-1 - i]:\n            return False\n"
      "    return True\n"]),
    ("to_upper", "Return {s} in upper case.", ["    return {s}.upper()\n"]),
    ("shout", "Return {s} in upper case followed by an exclamation mark.", ["    return {s}.upper() + '!'\n"]),
    ("word_count", "Return the number of words in {s}.", ["    return len({s}.split())\n",
     "    count = 0\n    for word in {s}.split():\n        count += 1\n    return count\n"]),
    ("first_char", "Return the first character of {s}, or an empty string if {s} is empty.",
     ["    return {s}[:1]\n", "    if not {s}:\n        return ''\n    return {s}[0]\n"]),
    ("last_char", "Return the last character of {s}, or an empty string if {s} is empty.",
     ["    return {s}[-1:]\n", "    if {s} == '':\n        return ''\n    return {s}[-1]\n"]),
    ("longest_word", "Return the longest word in {s} (the first one if several tie), or '' if there are none.",
     ["    best = ''\n    for word in {s}.split():\n        if len(word) > len(best):\n            best = word\n"
      "    return best\n",
      "    return max({s}.split(), key=len, default='')\n"]),
    ("title_words", "Make each word of {s} start with a capital letter; leave its other letters as they are.",
     ["    return ' '.join(word[:1].upper() + word[1:] for word in {s}.split(' '))\n"]),
    ("swap_case", "Return {s} with upper case letters made lower case and lower case letters made upper case.",
     ["    return {s}.swapcase()\n",
      "    return ''.join(ch.lower() if ch.isupper() else ch.upper() for ch in {s})\n"]),
    ("double_letters", "Return {s} with every character repeated twice.",
     ["    return ''.join(ch * 2 for ch in {s})\n",
      "    result = ''\n    for ch in {s}:\n        result += ch + ch\n    return result\n"]),
    ("initials", "Return the first letter of each word in {s}, joined together in upper case.",
     ["    return ''.join(word[0].upper() for word in {s}.split())\n"]),
    ("char_frequencies", "Return a dictionary mapping each character of {s} to how many times it occurs.",
     ["    counts = {{}}\n    for ch in {s}:\n        counts[ch] = counts.get(ch, 0) + 1\n    return counts\n",
      "    counts = {{}}\n    for ch in {s}:\n        if ch in counts:\n            counts[ch] += 1\n        else:\n"
      "            counts[ch] = 1\n    return counts\n"]),
    ("word_lengths", "Return a list of the lengths of the words in {s}.",
     ["    return [len(word) for word in {s}.split()]\n",
      "    lengths = []\n    for word in {s}.split():\n        lengths.append(len(word))\n    return lengths\n"]),
]


def string_op(rng: random.Random) -> Draft:
    s = pick(rng, ["s", "text", "word", "string", "phrase"])
    name, summary, bodies = pick(rng, STRING_OPS)
    return Draft("string", name, [s], summary.format(s=s), [b.format(s=s) for b in bodies],
                 lambda rng: (text(rng),), edge=[("",), ("level up",)])


# ---- dicts and sets -------------------------------------------------------------------------------------------------

COLLECTION_OPS = [  # (name, params, summary, bodies, draw)
    ("unique_sorted", ["xs"], "Return the distinct values of {0} in increasing order.",
     ["    return sorted(set({0}))\n",
      "    seen = []\n    for x in {0}:\n        if x not in seen:\n            seen.append(x)\n"
      "    return sorted(seen)\n"],
     lambda rng: (int_list(rng, 0, 6, 9),)),
    ("has_duplicates", ["xs"], "Return True if some value occurs more than once in {0}.",
     ["    return len(set({0})) != len({0})\n",
      "    seen = set()\n    for x in {0}:\n        if x in seen:\n            return True\n        seen.add(x)\n"
      "    return False\n"], lambda rng: (int_list(rng, 0, 9, 6),)),
    ("common_values", ["xs", "ys"], "Return the values that occur in both {0} and {1}, sorted.",
     ["    return sorted(set({0}) & set({1}))\n",
      "    return sorted(set(x for x in {0} if x in {1}))\n"],
     lambda rng: (int_list(rng, 0, 9, 6), int_list(rng, 0, 9, 6))),
    ("only_in_first", ["xs", "ys"], "Return the values of {0} that are not in {1}, sorted and without repeats.",
     ["    return sorted(set({0}) - set({1}))\n",
      "    result = set()\n    for x in {0}:\n        if x not in {1}:\n            result.add(x)\n"
      "    return sorted(result)\n"],
     lambda rng: (int_list(rng, 0, 9, 6), int_list(rng, 0, 9, 6))),
    ("count_values", ["xs"], "Return a dictionary mapping each value in {0} to the number of times it occurs.",
     ["    counts = {{}}\n    for x in {0}:\n        counts[x] = counts.get(x, 0) + 1\n    return counts\n",
      "    return {{x: {0}.count(x) for x in {0}}}\n"], lambda rng: (int_list(rng, 0, 5, 8),)),
    ("invert", ["mapping"], "Return a new dictionary with the keys and values of {0} swapped.",
     ["    return {{value: key for key, value in {0}.items()}}\n",
      "    result = {{}}\n    for key, value in {0}.items():\n        result[value] = key\n    return result\n"],
     lambda rng: ({w: i for i, w in enumerate(rng.sample(WORDS, rng.randint(0, 4)))},)),
    ("sum_values", ["mapping"], "Return the sum of the values in the dictionary {0}.",
     ["    return sum({0}.values())\n",
      "    total = 0\n    for key in {0}:\n        total += {0}[key]\n    return total\n"],
     lambda rng: ({w: rng.randint(-5, 20) for w in rng.sample(WORDS, rng.randint(0, 4))},)),
    ("keys_above", ["mapping", "limit"], "Return a sorted list of the keys of {0} whose value is greater than {1}.",
     ["    return sorted(key for key, value in {0}.items() if value > {1})\n",
      "    keys = []\n    for key, value in {0}.items():\n        if value > {1}:\n            keys.append(key)\n"
      "    return sorted(keys)\n"],
     lambda rng: ({w: rng.randint(0, 20) for w in rng.sample(WORDS, rng.randint(1, 5))}, rng.randint(0, 15))),
    ("lookup", ["mapping", "key"], "Return the value stored under {1} in {0}, or 0 if {1} is missing.",
     ["    return {0}.get({1}, 0)\n", "    if {1} in {0}:\n        return {0}[{1}]\n    return 0\n"],
     lambda rng: ({w: rng.randint(1, 9) for w in WORDS[:4]}, pick(rng, WORDS[:6]))),
    ("merge_counts", ["first", "second"], "Return a dictionary that adds up the counts of the dictionaries {0} and "
     "{1} key by key.",
     ["    result = dict({0})\n    for key, value in {1}.items():\n        result[key] = result.get(key, 0) + value\n"
      "    return result\n"],
     lambda rng: ({w: rng.randint(1, 5) for w in rng.sample(WORDS[:6], 3)},
                  {w: rng.randint(1, 5) for w in rng.sample(WORDS[:6], 2)})),
]


def collection_op(rng: random.Random) -> Draft:
    name, params, summary, bodies, draw = pick(rng, COLLECTION_OPS)
    renames = {"xs": pick(rng, ["xs", "values", "items", "numbers"]), "ys": pick(rng, ["ys", "others", "second"]),
               "mapping": pick(rng, ["mapping", "d", "table", "scores"])}
    names = [renames.get(p, p) for p in params]
    if len(set(names)) < len(names):
        names = params
    return Draft("collection", name, names, summary.format(*names), [b.format(*names) for b in bodies], draw)
