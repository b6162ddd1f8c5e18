"""More of the generator's vocabulary: loops with accumulators, simple recursion and small classes.

Each skill draws a `Draft` (see `skills.py`): a name, a request in words and bodies in more than one style; an
iterative and a recursive body of the same function are two styles of one exercise.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import Draft, pick
from tinygpt.data.exercises.wording import Wording, choices

NUMBER_LOOPS = [  # (name, requests, bodies, smallest n, largest n); {n} is the parameter
    ("factorial", choices(["Return the factorial of {n} (the product of 1 to {n}; 1 for 0)."],
             ["Compute {n}! (the factorial, with 0! equal to 1)."]),
     ["    result = 1\n    for i in range(2, {n} + 1):\n        result *= i\n    return result\n",
      "    if {n} <= 1:\n        return 1\n    return {n} * factorial({n} - 1)\n"], 0, 12),
    ("sum_up_to", choices(["Return the sum of the whole numbers from 1 to {n}."],
             ["Add up every integer from 1 through {n}."]),
     ["    total = 0\n    for i in range(1, {n} + 1):\n        total += i\n    return total\n",
      "    return sum(range(1, {n} + 1))\n", "    if {n} <= 0:\n        return 0\n"
      "    return {n} + sum_up_to({n} - 1)\n"],
     0, 50),
    ("sum_of_squares", choices(["Return the sum of the squares of the numbers from 1 to {n}."],
             ["Add up the squares 1*1, 2*2 and so on up to {n}*{n}."]),
     ["    total = 0\n    for i in range(1, {n} + 1):\n        total += i * i\n    return total\n",
      "    return sum(i * i for i in range(1, {n} + 1))\n"], 0, 30),
    ("digit_sum", choices(["Return the sum of the decimal digits of the non-negative integer {n}."],
             ["Add together the digits of {n}, a whole number that is not negative."]),
     ["    total = 0\n    while {n} > 0:\n        total += {n} % 10\n        {n} //= 10\n    return total\n",
      "    return sum(int(digit) for digit in str({n}))\n"], 0, 99999),
    ("count_digits", choices(["Return how many decimal digits the non-negative integer {n} has."],
             ["Tell how many digits {n}, a whole number that is not negative, is written with."]),
     ["    return len(str({n}))\n",
      "    count = 1\n    while {n} >= 10:\n        {n} //= 10\n        count += 1\n    return count\n"], 0, 999999),
    ("fibonacci", choices(["Return the {n}-th Fibonacci number, where fibonacci(0) is 0 and fibonacci(1) is 1."],
             ["Give the Fibonacci number at position {n}, counting from fibonacci(0) = 0 and fibonacci(1) = 1."]),
     ["    a, b = 0, 1\n    for _ in range({n}):\n        a, b = b, a + b\n    return a\n",
      "    if {n} < 2:\n        return {n}\n    return fibonacci({n} - 1) + fibonacci({n} - 2)\n"], 0, 15),
    ("reverse_digits", choices(["Return the non-negative integer {n} with its decimal digits in reverse order."],
             ["Write the digits of {n} (zero or more) back to front and hand back that number."]),
     ["    return int(str({n})[::-1])\n",
      "    result = 0\n    while {n} > 0:\n        result = result * 10 + {n} % 10\n        {n} //= 10\n"
      "    return result\n"],
     0, 99999),
    ("count_divisors", choices(["Return how many positive whole numbers divide {n} exactly."],
             ["Find how many divisors the positive integer {n} has."]),
     ["    count = 0\n    for d in range(1, {n} + 1):\n        if {n} % d == 0:\n            count += 1\n"
      "    return count\n",
      "    return sum(1 for d in range(1, {n} + 1) if {n} % d == 0)\n"], 1, 60),
    ("is_prime", choices(["Return True if {n} is a prime number."],
             ["Tell whether {n} is prime.", "Decide if {n} has no divisors other than 1 and itself (and is above 1)."]),
     ["    if {n} < 2:\n        return False\n    for d in range(2, {n}):\n        if {n} % d == 0:\n"
      "            return False\n"
      "    return True\n",
      "    return {n} > 1 and all({n} % d != 0 for d in range(2, {n}))\n"], 0, 60),
    ("countdown", choices(["Return a list of the numbers from {n} down to 1."],
             ["Make a list counting down from {n} to 1."]),
     ["    return list(range({n}, 0, -1))\n",
      "    result = []\n    while {n} > 0:\n        result.append({n})\n        {n} -= 1\n    return result\n",
      "    if {n} <= 0:\n        return []\n    return [{n}] + countdown({n} - 1)\n"], 0, 12),
    ("binary_digits",
     choices(["Return the binary representation of the non-negative integer {n} as a string of 0s and 1s."],
             ["Convert {n}, which is not negative, to a string in base 2 (no '0b' prefix)."]),
     ["    return bin({n})[2:]\n",
      "    if {n} == 0:\n        return '0'\n    digits = ''\n    while {n} > 0:\n"
      "        digits = str({n} % 2) + digits\n"
      "        {n} //= 2\n    return digits\n"], 0, 300),
    ("collatz_steps",
     choices(["Return how many steps the Collatz rule (halve an even number, triple an odd one and add one) "
              "takes to bring {n} down to 1."],
             ["Work out how many Collatz steps (halve it when even, triple it and add 1 when odd) take {n} to 1."]),
     ["    steps = 0\n    while {n} != 1:\n        if {n} % 2 == 0:\n            {n} //= 2\n        else:\n"
      "            {n} = 3 * {n} + 1\n        steps += 1\n    return steps\n"], 1, 40),
]

TWO_NUMBER_LOOPS = [  # (name, params, requests, bodies, draw); LOOP_PARAMS renames the params
    ("power", ["base", "exponent"], choices(["Return {0} raised to the non-negative integer power {1}."],
             ["Raise {0} to the power {1}, where {1} is a whole number of zero or more."]),
     ["    result = 1\n    for _ in range({1}):\n        result *= {0}\n    return result\n",
      "    if {1} == 0:\n        return 1\n    return {0} * power({0}, {1} - 1)\n", "    return {0} ** {1}\n"],
     lambda rng: (rng.randint(-6, 9), rng.randint(0, 6))),
    ("gcd", ["a", "b"], choices(["Return the greatest common divisor of the positive integers {0} and {1}."],
             ["Find the highest common factor of the positive whole numbers {0} and {1}."]),
     ["    while {1}:\n        {0}, {1} = {1}, {0} % {1}\n    return {0}\n",
      "    if {1} == 0:\n        return {0}\n    return gcd({1}, {0} % {1})\n"],
     lambda rng: (rng.randint(1, 120), rng.randint(1, 120))),
    ("multiples", ["k", "count"], choices(["Return a list of the first {1} positive multiples of {0}."],
             ["Produce the first {1} multiples of {0}, starting from {0} itself."]),
     ["    return [{0} * i for i in range(1, {1} + 1)]\n",
      "    result = []\n    for i in range(1, {1} + 1):\n        result.append({0} * i)\n    return result\n"],
     lambda rng: (rng.randint(1, 12), rng.randint(0, 6))),
    ("sum_between", ["low", "high"], choices(["Return the sum of the whole numbers from {0} to {1}, both included."],
             ["Add up all whole numbers from {0} through {1}, inclusive of both ends."]),
     ["    total = 0\n    for i in range({0}, {1} + 1):\n        total += i\n    return total\n",
      "    return sum(range({0}, {1} + 1))\n"], lambda rng: (rng.randint(-10, 10), rng.randint(-5, 25))),
    ("repeat_text", ["s", "times"], choices(["Return {0} repeated {1} times, separated by single spaces."],
             ["Join {1} copies of {0} with one space between each."]),
     ["    return ' '.join([{0}] * {1})\n",
      "    parts = []\n    for _ in range({1}):\n        parts.append({0})\n    return ' '.join(parts)\n"],
     lambda rng: (pick(rng, ["ha", "go", "la", "yes", "hip"]), rng.randint(0, 4))),
]


LOOP_NAMES = choices(["n", "number", "num"], ["k", "integer"])
LOOP_PARAMS = {  # a two-number loop's parameters, renamed in the unseen share
    "power": choices([("base", "exponent")], [("value", "exp")]), "gcd": choices([("a", "b")], [("u", "v")]),
    "multiples": choices([("k", "count")], [("step", "how_many")]),
    "sum_between": choices([("low", "high")], [("start", "stop")]),
    "repeat_text": choices([("s", "times")], [("word", "n")]),
}
RECURSIVE_NAMES = choices(["xs", "items", "values", "nums", "lst", "arr"], ["seq", "series"])


def number_loop(rng: random.Random, words: Wording) -> Draft:
    name, requests, bodies, low, high = pick(rng, NUMBER_LOOPS)
    fixed = "{n} - 1" in "".join(bodies) or name in ("factorial", "fibonacci")  # recursive bodies name n
    n = words.options(LOOP_NAMES)[0] if fixed else words.pick(rng, LOOP_NAMES)
    return Draft("loop", name, [n], words.pick(rng, requests).format(n=n), [b.format(n=n) for b in bodies],
                 lambda rng: (rng.randint(low, high),), edge=[(low,), (min(high, low + 7),)])


def two_number_loop(rng: random.Random, words: Wording) -> Draft:
    name, _, requests, bodies, draw = pick(rng, TWO_NUMBER_LOOPS)
    params = list(words.pick(rng, LOOP_PARAMS[name]))
    return Draft("loop", name, params, words.pick(rng, requests).format(*params), [b.format(*params) for b in bodies],
                 draw)


RECURSIONS = [  # (name, requests, bodies); {0} is the list
    ("total", choices(["Return the sum of the numbers in {0}, computed recursively."],
         ["Recursively add up the numbers of {0}."]),
     ["    if not {0}:\n        return 0\n    return {0}[0] + total({0}[1:])\n"]),
    ("length", choices(["Return the number of items in {0} without calling len, using recursion."],
         ["Recursively tally the items of {0}, without len."]),
     ["    if not {0}:\n        return 0\n    return 1 + length({0}[1:])\n"]),
    ("reversed_list", choices(["Return a new list with the items of {0} in reverse order, using recursion."],
         ["Using recursion, build a copy of {0} in backward order."]),
     ["    if not {0}:\n        return []\n    return reversed_list({0}[1:]) + [{0}[0]]\n"]),
    ("largest", choices(["Return the largest number in the non-empty list {0}, using recursion."],
         ["Find the maximum of the non-empty list {0} by recursion."]),
     ["    if len({0}) == 1:\n        return {0}[0]\n    rest = largest({0}[1:])\n"
      "    return {0}[0] if {0}[0] > rest else rest\n"]),
    ("flatten", choices(["Return a flat list of the numbers in {0}, a list whose items are numbers or nested lists."],
         ["Flatten {0}, whose items are numbers or nested lists, into one list of numbers."]),
     ["    result = []\n    for item in {0}:\n        if isinstance(item, list):\n"
      "            result.extend(flatten(item))\n"
      "        else:\n            result.append(item)\n    return result\n"]),
]


def recursive_list(rng: random.Random, words: Wording) -> Draft:
    xs = words.pick(rng, RECURSIVE_NAMES)
    name, requests, bodies = pick(rng, RECURSIONS)

    def draw(rng):
        values = [rng.randint(-9, 20) for _ in range(rng.randint(1 if name == "largest" else 0, 6))]
        if name == "flatten" and len(values) > 2:
            cut = rng.randrange(1, len(values))
            values = values[:cut] + [values[cut:]]
        return (values,)

    return Draft("recursion", name, [xs], words.pick(rng, requests).format(xs), [b.format(xs) for b in bodies], draw)


CLASSES = [  # (class name, requests, body, scenario writer)
    ("Counter", choices(["A counter that starts at zero, with increment(), reset() and a value() method."],
             ["A tally starting at 0: increment() adds one, reset() sets it back to 0 and value() reports it."]),
     "    def __init__(self):\n        self.count = 0\n\n    def increment(self):\n        self.count += 1\n\n"
     "    def reset(self):\n        self.count = 0\n\n    def value(self):\n        return self.count\n",
     lambda rng: ["c = Counter()", *["c.increment()"] * rng.randint(0, 4), "c.value()",
                  *(["c.reset()", "c.value()"] if rng.random() < 0.5 else [])]),
    ("Stack", choices(["A last-in, first-out stack with push(item), pop(), peek(), is_empty() and size()."],
             ["A LIFO stack offering push(item), pop(), peek(), is_empty() and size()."]),
     "    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n"
     "        self.items.append(item)\n\n"
     "    def pop(self):\n        return self.items.pop()\n\n    def peek(self):\n        return self.items[-1]\n\n"
     "    def is_empty(self):\n        return len(self.items) == 0\n\n    def size(self):\n"
     "        return len(self.items)\n",
     lambda rng: ["s = Stack()", "s.is_empty()", *[f"s.push({rng.randint(0, 9)})" for _ in range(rng.randint(1, 4))],
                  "s.size()", "s.peek()", "s.pop()", "s.size()"]),
    ("Rectangle", choices(["A rectangle made from a width and a height, with area() and perimeter() methods."],
             ["A rectangle built from a width and a height that can report its area() and perimeter()."]),
     "    def __init__(self, width, height):\n        self.width = width\n        self.height = height\n\n"
     "    def area(self):\n        return self.width * self.height\n\n    def perimeter(self):\n"
     "        return 2 * (self.width + self.height)\n",
     lambda rng: [f"r = Rectangle({rng.randint(1, 9)}, {rng.randint(1, 9)})", "r.area()", "r.perimeter()"]),
    ("BankAccount",
     choices(["A bank account with a starting balance, deposit(amount), withdraw(amount) that refuses (returns "
     "False) to go below zero and returns True otherwise, and balance()."],
             ["An account holding money: it starts from a given balance, has deposit(amount), withdraw(amount) "
              "that hands back False and changes nothing when the money is insufficient (True when it succeeds), "
              "and balance()."]),
     "    def __init__(self, balance=0):\n        self.amount = balance\n\n    def deposit(self, amount):\n"
     "        self.amount += amount\n\n    def withdraw(self, amount):\n        if amount > self.amount:\n"
     "            return False\n        self.amount -= amount\n        return True\n\n    def balance(self):\n"
     "        return self.amount\n",
     lambda rng: [f"a = BankAccount({rng.randint(0, 50)})", f"a.deposit({rng.randint(1, 30)})",
                  f"a.withdraw({rng.randint(1, 90)})", "a.balance()"]),
    ("Queue", choices(["A first-in, first-out queue with enqueue(item), dequeue() and __len__()."],
             ["A FIFO queue supporting enqueue(item), dequeue() and len()."]),
     "    def __init__(self):\n        self.items = []\n\n    def enqueue(self, item):\n"
     "        self.items.append(item)\n\n"
     "    def dequeue(self):\n        return self.items.pop(0)\n\n    def __len__(self):\n"
     "        return len(self.items)\n",
     lambda rng: ["q = Queue()", *[f"q.enqueue({rng.randint(0, 9)})" for _ in range(rng.randint(1, 4))],
                  "len(q)", "q.dequeue()", "len(q)"]),
    ("Temperature", choices(["A temperature in degrees Celsius, with to_fahrenheit() and is_freezing() methods."],
             ["Holds a Celsius temperature; to_fahrenheit() converts it and is_freezing() tells whether it is at "
              "or below 0."]),
     "    def __init__(self, celsius):\n        self.celsius = celsius\n\n    def to_fahrenheit(self):\n"
     "        return self.celsius * 9 / 5 + 32\n\n    def is_freezing(self):\n        return self.celsius <= 0\n",
     lambda rng: [f"t = Temperature({rng.randint(-20, 40)})", "t.to_fahrenheit()", "t.is_freezing()"]),
]


def small_class(rng: random.Random, words: Wording) -> Draft:
    """A class: `setup` holds the scenario writer's statements, and the tests record what its expressions return."""
    name, requests, body, scenario = pick(rng, CLASSES)
    return Draft("class", name, [], words.pick(rng, requests), [body], lambda rng: tuple(scenario(rng)), setup="class")
