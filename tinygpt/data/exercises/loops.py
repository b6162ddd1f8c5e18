"""More of the generator's vocabulary: loops with accumulators, simple recursion and small classes.

Each skill draws a `Draft` (see `skills.py`): a name, a request in words and bodies in more than one style; an
iterative and a recursive body of the same function are two styles of one exercise.
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import Draft, pick

NUMBER_LOOPS = [  # (name, summary, bodies, smallest n, largest n); {n} is the parameter
    ("factorial", "Return the factorial of {n} (the product of 1 to {n}; 1 for 0).",
     ["    result = 1\n    for i in range(2, {n} + 1):\n        result *= i\n    return result\n",
      "    if {n} <= 1:\n        return 1\n    return {n} * factorial({n} - 1)\n"], 0, 12),
    ("sum_up_to", "Return the sum of the whole numbers from 1 to {n}.",
     ["    total = 0\n    for i in range(1, {n} + 1):\n        total += i\n    return total\n",
      "    return sum(range(1, {n} + 1))\n", "    if {n} <= 0:\n        return 0\n"
      "    return {n} + sum_up_to({n} - 1)\n"],
     0, 50),
    ("sum_of_squares", "Return the sum of the squares of the numbers from 1 to {n}.",
     ["    total = 0\n    for i in range(1, {n} + 1):\n        total += i * i\n    return total\n",
      "    return sum(i * i for i in range(1, {n} + 1))\n"], 0, 30),
    ("digit_sum", "Return the sum of the decimal digits of the non-negative integer {n}.",
     ["    total = 0\n    while {n} > 0:\n        total += {n} % 10\n        {n} //= 10\n    return total\n",
      "    return sum(int(digit) for digit in str({n}))\n"], 0, 99999),
    ("count_digits", "Return how many decimal digits the non-negative integer {n} has.",
     ["    return len(str({n}))\n",
      "    count = 1\n    while {n} >= 10:\n        {n} //= 10\n        count += 1\n    return count\n"], 0, 999999),
    ("fibonacci", "Return the {n}-th Fibonacci number, where fibonacci(0) is 0 and fibonacci(1) is 1.",
     ["    a, b = 0, 1\n    for _ in range({n}):\n        a, b = b, a + b\n    return a\n",
      "    if {n} < 2:\n        return {n}\n    return fibonacci({n} - 1) + fibonacci({n} - 2)\n"], 0, 15),
    ("reverse_digits", "Return the non-negative integer {n} with its decimal digits in reverse order.",
     ["    return int(str({n})[::-1])\n",
      "    result = 0\n    while {n} > 0:\n        result = result * 10 + {n} % 10\n        {n} //= 10\n"
      "    return result\n"],
     0, 99999),
    ("count_divisors", "Return how many positive whole numbers divide {n} exactly.",
     ["    count = 0\n    for d in range(1, {n} + 1):\n        if {n} % d == 0:\n            count += 1\n"
      "    return count\n",
      "    return sum(1 for d in range(1, {n} + 1) if {n} % d == 0)\n"], 1, 60),
    ("is_prime", "Return True if {n} is a prime number.",
     ["    if {n} < 2:\n        return False\n    for d in range(2, {n}):\n        if {n} % d == 0:\n"
      "            return False\n"
      "    return True\n",
      "    return {n} > 1 and all({n} % d != 0 for d in range(2, {n}))\n"], 0, 60),
    ("countdown", "Return a list of the numbers from {n} down to 1.",
     ["    return list(range({n}, 0, -1))\n",
      "    result = []\n    while {n} > 0:\n        result.append({n})\n        {n} -= 1\n    return result\n",
      "    if {n} <= 0:\n        return []\n    return [{n}] + countdown({n} - 1)\n"], 0, 12),
    ("binary_digits", "Return the binary representation of the non-negative integer {n} as a string of 0s and 1s.",
     ["    return bin({n})[2:]\n",
      "    if {n} == 0:\n        return '0'\n    digits = ''\n    while {n} > 0:\n"
      "        digits = str({n} % 2) + digits\n"
      "        {n} //= 2\n    return digits\n"], 0, 300),
    ("collatz_steps", "Return how many steps the Collatz rule (halve an even number, triple an odd one and add one) "
     "takes to bring {n} down to 1.",
     ["    steps = 0\n    while {n} != 1:\n        if {n} % 2 == 0:\n            {n} //= 2\n        else:\n"
      "            {n} = 3 * {n} + 1\n        steps += 1\n    return steps\n"], 1, 40),
]

TWO_NUMBER_LOOPS = [  # (name, params, summary, bodies, draw)
    ("power", ["base", "exponent"], "Return {0} raised to the non-negative integer power {1}.",
     ["    result = 1\n    for _ in range({1}):\n        result *= {0}\n    return result\n",
      "    if {1} == 0:\n        return 1\n    return {0} * power({0}, {1} - 1)\n", "    return {0} ** {1}\n"],
     lambda rng: (rng.randint(-6, 9), rng.randint(0, 6))),
    ("gcd", ["a", "b"], "Return the greatest common divisor of the positive integers {0} and {1}.",
     ["    while {1}:\n        {0}, {1} = {1}, {0} % {1}\n    return {0}\n",
      "    if {1} == 0:\n        return {0}\n    return gcd({1}, {0} % {1})\n"],
     lambda rng: (rng.randint(1, 120), rng.randint(1, 120))),
    ("multiples", ["k", "count"], "Return a list of the first {1} positive multiples of {0}.",
     ["    return [{0} * i for i in range(1, {1} + 1)]\n",
      "    result = []\n    for i in range(1, {1} + 1):\n        result.append({0} * i)\n    return result\n"],
     lambda rng: (rng.randint(1, 12), rng.randint(0, 6))),
    ("sum_between", ["low", "high"], "Return the sum of the whole numbers from {0} to {1}, both included.",
     ["    total = 0\n    for i in range({0}, {1} + 1):\n        total += i\n    return total\n",
      "    return sum(range({0}, {1} + 1))\n"], lambda rng: (rng.randint(-10, 10), rng.randint(-5, 25))),
    ("repeat_text", ["s", "times"], "Return {0} repeated {1} times, separated by single spaces.",
     ["    return ' '.join([{0}] * {1})\n",
      "    parts = []\n    for _ in range({1}):\n        parts.append({0})\n    return ' '.join(parts)\n"],
     lambda rng: (pick(rng, ["ha", "go", "la", "yes", "hip"]), rng.randint(0, 4))),
]


def number_loop(rng: random.Random) -> Draft:
    name, summary, bodies, low, high = pick(rng, NUMBER_LOOPS)
    n = "n" if "{n} - 1" in "".join(bodies) or name in ("factorial", "fibonacci") else pick(rng, ["n", "number", "num"])
    return Draft("loop", name, [n], summary.format(n=n), [b.format(n=n) for b in bodies],
                 lambda rng: (rng.randint(low, high),), edge=[(low,), (min(high, low + 7),)])


def two_number_loop(rng: random.Random) -> Draft:
    name, params, summary, bodies, draw = pick(rng, TWO_NUMBER_LOOPS)
    return Draft("loop", name, params, summary.format(*params), [b.format(*params) for b in bodies], draw)


def recursive_list(rng: random.Random) -> Draft:
    xs = pick(rng, ["xs", "items", "values", "nums"])
    name, summary, bodies = pick(rng, [
        ("total", "Return the sum of the numbers in {0}, computed recursively.",
         ["    if not {0}:\n        return 0\n    return {0}[0] + total({0}[1:])\n"]),
        ("length", "Return the number of items in {0} without calling len, using recursion.",
         ["    if not {0}:\n        return 0\n    return 1 + length({0}[1:])\n"]),
        ("reversed_list", "Return a new list with the items of {0} in reverse order, using recursion.",
         ["    if not {0}:\n        return []\n    return reversed_list({0}[1:]) + [{0}[0]]\n"]),
        ("largest", "Return the largest number in the non-empty list {0}, using recursion.",
         ["    if len({0}) == 1:\n        return {0}[0]\n    rest = largest({0}[1:])\n"
          "    return {0}[0] if {0}[0] > rest else rest\n"]),
        ("flatten", "Return a flat list of the numbers in {0}, a list whose items are numbers or nested lists.",
         ["    result = []\n    for item in {0}:\n        if isinstance(item, list):\n"
          "            result.extend(flatten(item))\n"
          "        else:\n            result.append(item)\n    return result\n"]),
    ])

    def draw(rng):
        values = [rng.randint(-9, 20) for _ in range(rng.randint(1 if name == "largest" else 0, 6))]
        if name == "flatten" and len(values) > 2:
            cut = rng.randrange(1, len(values))
            values = values[:cut] + [values[cut:]]
        return (values,)

    return Draft("recursion", name, [xs], summary.format(xs), [b.format(xs) for b in bodies], draw)


CLASSES = [  # (class name, summary, body, scenario writer)
    ("Counter", "A counter that starts at zero, with increment(), reset() and a value() method.",
     "    def __init__(self):\n        self.count = 0\n\n    def increment(self):\n        self.count += 1\n\n"
     "    def reset(self):\n        self.count = 0\n\n    def value(self):\n        return self.count\n",
     lambda rng: ["c = Counter()", *["c.increment()"] * rng.randint(0, 4), "c.value()",
                  *(["c.reset()", "c.value()"] if rng.random() < 0.5 else [])]),
    ("Stack", "A last-in, first-out stack with push(item), pop(), peek(), is_empty() and size().",
     "    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n"
     "        self.items.append(item)\n\n"
     "    def pop(self):\n        return self.items.pop()\n\n    def peek(self):\n        return self.items[-1]\n\n"
     "    def is_empty(self):\n        return len(self.items) == 0\n\n    def size(self):\n"
     "        return len(self.items)\n",
     lambda rng: ["s = Stack()", "s.is_empty()", *[f"s.push({rng.randint(0, 9)})" for _ in range(rng.randint(1, 4))],
                  "s.size()", "s.peek()", "s.pop()", "s.size()"]),
    ("Rectangle", "A rectangle made from a width and a height, with area() and perimeter() methods.",
     "    def __init__(self, width, height):\n        self.width = width\n        self.height = height\n\n"
     "    def area(self):\n        return self.width * self.height\n\n    def perimeter(self):\n"
     "        return 2 * (self.width + self.height)\n",
     lambda rng: [f"r = Rectangle({rng.randint(1, 9)}, {rng.randint(1, 9)})", "r.area()", "r.perimeter()"]),
    ("BankAccount", "A bank account with a starting balance, deposit(amount), withdraw(amount) that refuses (returns "
     "False) to go below zero and returns True otherwise, and balance().",
     "    def __init__(self, balance=0):\n        self.amount = balance\n\n    def deposit(self, amount):\n"
     "        self.amount += amount\n\n    def withdraw(self, amount):\n        if amount > self.amount:\n"
     "            return False\n        self.amount -= amount\n        return True\n\n    def balance(self):\n"
     "        return self.amount\n",
     lambda rng: [f"a = BankAccount({rng.randint(0, 50)})", f"a.deposit({rng.randint(1, 30)})",
                  f"a.withdraw({rng.randint(1, 90)})", "a.balance()"]),
    ("Queue", "A first-in, first-out queue with enqueue(item), dequeue() and __len__().",
     "    def __init__(self):\n        self.items = []\n\n    def enqueue(self, item):\n"
     "        self.items.append(item)\n\n"
     "    def dequeue(self):\n        return self.items.pop(0)\n\n    def __len__(self):\n"
     "        return len(self.items)\n",
     lambda rng: ["q = Queue()", *[f"q.enqueue({rng.randint(0, 9)})" for _ in range(rng.randint(1, 4))],
                  "len(q)", "q.dequeue()", "len(q)"]),
    ("Temperature", "A temperature in degrees Celsius, with to_fahrenheit() and is_freezing() methods.",
     "    def __init__(self, celsius):\n        self.celsius = celsius\n\n    def to_fahrenheit(self):\n"
     "        return self.celsius * 9 / 5 + 32\n\n    def is_freezing(self):\n        return self.celsius <= 0\n",
     lambda rng: [f"t = Temperature({rng.randint(-20, 40)})", "t.to_fahrenheit()", "t.is_freezing()"]),
]


def small_class(rng: random.Random) -> Draft:
    """A class: `setup` holds the scenario writer's statements, and the tests record what its expressions return."""
    name, summary, body, scenario = pick(rng, CLASSES)
    return Draft("class", name, [], summary, [body], lambda rng: tuple(scenario(rng)), setup="class")
