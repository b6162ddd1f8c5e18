"""`--complete-function` returns one function: the rules that end a function's block early (a statement after a
body-level return, a phantom method), the note `tinygpt generate` prints for a block that does not parse, and the
judges of an empty or looping completion (`has_body`, `most_repeated_line`). The indentation rule itself is tested
in tests/tinytorch/test_generation.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.cli.generate import show
from tinygpt.code_completion import FunctionEnd, block_end, compiles, extract_function, has_body, most_repeated_line
from tinygpt.generate import Completion

PROMPT = 'def is_even(n):\n    """Return True if n is even."""\n'


@pytest.mark.parametrize("generated, expected_body", [
    # phantom methods of an imaginary class, with and without decorators, after a return or right after the docstring
    ("    return n % 2 == 0\n\n    def test_is_even(self):\n        assert is_even(2)\n", "    return n % 2 == 0\n"),
    ("    return n % 2 == 0\n\n    @property\n    def size(self):\n        return 1\n", "    return n % 2 == 0\n"),
    ("    x = n % 2\n\n    @classmethod\n    def make(cls, n):\n        pass\n", "    x = n % 2\n"),
    ("    async def run(self):\n        pass\n", ""),
    # nothing runs after a body-level return or raise
    ("    return n % 2 == 0\n    return n % 2 == 0\n    return n\n", "    return n % 2 == 0\n"),
    ("    raise ValueError(n)\n    x = 1\n", "    raise ValueError(n)\n"),
])
def test_a_function_ends_before_phantom_methods_and_dead_code(generated, expected_body):
    block = extract_function(PROMPT, generated)
    assert block.ended and not block.truncated
    assert block.text == PROMPT + expected_body and block.compiles


@pytest.mark.parametrize("generated", [
    "    if n:\n        return True\n    return False\n",  # a return inside a branch does not end the body
    "    def helper(m):\n        return m % 2\n    return helper(n) == 0\n",  # a closure is not a phantom method
    "    return (n %\n    2 == 0)\n",  # a continuation line is not a statement
    "    return n % 2 == 0\n    # a comment after the return\n",
])
def test_real_function_bodies_are_kept(generated):
    text = PROMPT + generated
    assert block_end(text, 0) is None
    block = extract_function(PROMPT, generated + "\nprint(is_even(2))\n")
    assert block.text == PROMPT + generated and block.compiles


def test_methods_of_a_class_block_are_kept():
    prompt = "class Stack:\n"
    generated = "    def push(self, item):\n        return 1\n\n    def pop(self):\n        return 2\n\nx = 1\n"
    block = extract_function(prompt, generated)
    assert block.text == prompt + generated[:generated.index("\nx = 1")] and block.compiles
    method = extract_function("class Stack:\n    def push(self, item):\n", "        return 1\n    def pop(self):\n")
    assert method.text == "    def push(self, item):\n        return 1\n"


def test_the_stopping_criterion_stops_at_a_phantom_method():
    pieces = ["    x = n\n", "\n    def", " test", "(self", "):\n"]
    criterion = FunctionEnd(PROMPT, lambda ids: "".join(pieces[i] for i in ids))
    assert criterion(np.array([[0, 1, 2]])).tolist() == [False]  # `def test` could still be a closure
    assert criterion(np.array([[0, 1, 2, 3, 4]])).tolist() == [True]


def test_block_start_points_into_prompt_plus_completion():
    prompt = "import math\n\n# the area of a circle\n@cache\ndef area(r):\n"
    block = extract_function(prompt, "    return math.pi * r * r\n")
    assert (prompt + "    return math.pi * r * r\n")[block.start:] == block.text


def test_an_unparsable_block_says_so(capsys):
    block = extract_function(PROMPT, "    return n %% 2\n\nx = 1\n")
    assert block.ended and not block.compiles
    show([Completion(PROMPT, "    return n %% 2\n\nx = 1\n", [], "function_end", None, block)], True, 1)
    captured = capsys.readouterr()
    assert captured.out == block.text and captured.err == "note: this block does not compile (compile() rejects it)\n"


@pytest.mark.parametrize("block, expected", [
    (PROMPT + "    return n % 2 == 0\n", True),
    (PROMPT, False),  # trimmed back to the docstring
    (PROMPT + "    pass\n", False),  # the `pass` that trimming adds
    ("def f():\n    ...\n", False),
    ("def f():\n    return\n", True),
    (PROMPT + "    return (n\n", False),  # does not parse
    ("class A:\n    x = 1\n", True),
    ("    def method(self):\n        return self.x\n", True),  # indented blocks are judged dedented
])
def test_has_body(block, expected):
    assert has_body(block) is expected


@pytest.mark.parametrize("source, valid", [
    ("def f(n):\n    return n\n", True),
    ("def test_multiple_letters(n: int, n: int) -> bool:\n    return n == 0\n", False),  # duplicate argument
    ("for i in range(3):\n    if i:\n        return i\n", False),  # 'return' outside function
    ("def f():\n    nonlocal x\n", False),  # no binding for nonlocal
    ("def f():\n    yield 1\n    return 2\n", True),
    ("x = (1,\n", False),
])
def test_compiles_is_what_compile_accepts_not_only_ast_parse(source, valid):
    """The demo once called the first two invalid blocks "parses": ast.parse accepts them, compile() does not."""
    assert compiles(source) is valid
    assert has_body(source) is (valid and source.startswith("def") and "nonlocal" not in source)
    assert extract_function("", source, end_of_file=True) is None or \
        extract_function("", source, end_of_file=True).compiles is valid


def test_most_repeated_line_ignores_indentation_blanks_and_punctuation():
    looping = PROMPT + "    x = 1\n" + "        self.assertEqual(b, b)\n    self.assertEqual(b, b)\n" * 3
    assert most_repeated_line(looping) == 6
    assert most_repeated_line('def f():\n    g(\n    )\n    )\n    )\n\n\n\n    """\n    """\n') == 1
    assert most_repeated_line("") == 0
