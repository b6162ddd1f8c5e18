"""Code-aware generation: complete exactly one function (or class), and turn comments into prompts.

`--complete-function` stops generation when the body of the function being written ends and returns exactly that
block. Python marks the end of a block by indentation: the body is over at the first non-blank line indented at or
left of the `def` (or `class`) keyword. "Line" means a logical line start: lines inside a multi-line string, inside
brackets or after a backslash continue the line before them and never end a block. Python's own `tokenize` tells
those apart, so the rule is checked on tokens, not on raw text.

A function (not a class) also ends where its own body stops making sense, so that a prompt for one function returns
one function and does not wander into phantom methods of an imaginary class:
- after a `return` or `raise` at the body's own indentation, nothing more at that indentation could run: the next
  statement there ends the block;
- a `def` at the body's indentation whose first parameter is `self` or `cls` is a method of a class that does not
  exist: the block ends before it (and before its decorators).

Which block: the last `def`/`class` line of the prompt (the function being completed), or, when the prompt has none
(a comment such as `# return the largest of three numbers`), the first one the model writes.

If `max_new_tokens` runs out inside the body, the block is trimmed back to the longest run of complete lines that
still compiles, a lone header gets `pass` as its body, and the result says it was truncated. Every block says
whether it compiles: `compile()` accepts it, which is more than `ast.parse` does (a duplicate argument, a `return`
outside a function or a `nonlocal` with no binding parse, but are not Python); `has_body` and `most_repeated_line`
judge whether it is more than an empty shell.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["REPEATED_LINE_LIMIT", "FunctionBlock", "FunctionEnd", "block_end", "compile_error", "compiles",
           "extract_function", "find_block_start", "has_body", "most_repeated_line", "prepare_prompt"]

BLOCK_HEADER = re.compile(r"^([ \t]*)(?:async[ \t]+def|def|class)\b", re.MULTILINE)
DECORATOR = re.compile(r"^[ \t]*@")
BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
PHANTOM_METHOD = re.compile(r"[ \t]*(?:async[ \t]+)?def[ \t]+\w+[ \t]*\([ \t]*(?:self|cls)[ \t]*[,):=]")
REPEATED_LINE_LIMIT = 5  # a completion that writes one line this many times is repeating itself, not coding


@dataclass
class FunctionBlock:
    """A completed block: its source, whether the body ended on its own, whether it was trimmed to fit
    `max_new_tokens`, whether `compile()` accepts it, and where it starts."""

    text: str
    ended: bool
    truncated: bool
    compiles: bool
    start: int = 0  # offset of the block (its first decorator, else its header) in prompt + generated text


def prepare_prompt(prompt: str) -> str:
    """Natural-language prompts: a prompt whose last line is a comment or a closed docstring gets a newline, so the
    model writes code under it instead of continuing the comment."""
    last_line = prompt.rsplit("\n", 1)[-1].strip()
    closes_docstring = last_line.endswith(('"""', "'''")) and len(last_line) >= 3
    if last_line.startswith("#") or closes_docstring:
        return prompt + "\n"
    return prompt


def find_block_start(text: str, prompt_length: int) -> int | None:
    """Offset of the line holding the block's `def`/`class`: the last such line in the prompt (text[:prompt_length]),
    else the first one after it; None if there is none yet."""
    in_prompt = [m.start() for m in BLOCK_HEADER.finditer(text) if m.start() < prompt_length]
    if in_prompt:
        return in_prompt[-1]
    match = BLOCK_HEADER.search(text, prompt_length)
    return match.start() if match else None


def header_indent(text: str, start: int) -> int:
    match = BLOCK_HEADER.match(text, start)
    return len(match.group(1))  # in characters, as tokenize counts columns


def logical_line_starts(source: str) -> Iterator[tokenize.TokenInfo]:
    """The first token of every logical line after the first one (the header) of `source`, comment lines included;
    stops quietly where the text ends mid-string or mid-bracket (no further line can start)."""
    header_done, at_line_start, depth = False, False, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            if token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth == 0):
                header_done = header_done or token.type == tokenize.NEWLINE
                at_line_start = header_done
                continue
            if at_line_start:
                yield token
            at_line_start = False
            if token.type == tokenize.OP:
                depth = max(depth + BRACKETS.get(token.string, 0), 0)
    except (tokenize.TokenError, IndentationError):
        return


def block_end(text: str, start: int) -> int | None:
    """Offset in `text` where the block starting at `start` ends: the first logical line after its header that is
    indented at or left of its `def`/`class`, or, for a function, the first line that breaks the rules of the module
    docstring (a statement after a body-level `return`, a phantom method). None while the block is still open."""
    indent = header_indent(text, start)
    is_function = BLOCK_HEADER.match(text, start).group(0).endswith("def")
    body = text[start:]
    candidates = rf"\n[ \t]{{0,{indent}}}[^ \t\r\n]" + (r"|\n[ \t]*(?:return|raise|def|async|@)" if is_function else "")
    if not re.search(candidates, body):  # cheap test first: no line that could end the block
        return None
    line_offsets = np.cumsum([0] + [len(line) for line in body.splitlines(keepends=True)])
    body_indent, returned, decorators_start = None, False, None
    for token in logical_line_starts(body):
        line_start = start + int(line_offsets[token.start[0] - 1])
        column = token.start[1]
        if column <= indent:
            return line_start
        if not is_function or token.type == tokenize.COMMENT:
            continue
        body_indent = column if body_indent is None else body_indent
        if column != body_indent:
            continue
        if returned or PHANTOM_METHOD.match(token.line):
            return line_start if decorators_start is None else decorators_start
        is_decorator = token.string == "@"
        decorators_start = (decorators_start or line_start) if is_decorator else None
        returned = token.string in ("return", "raise")
    return None


def compile_error(source: str) -> str | None:
    """Why `compile()` refuses `source` (dedented) as a module, in one line; None if it accepts it. Warnings (`x is 1`)
    are not errors and are not printed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(textwrap.dedent(source), "<completion>", "exec", dont_inherit=True)
    except SyntaxError as err:
        return f"{err.msg} (line {err.lineno})"
    except (ValueError, OverflowError, MemoryError, RecursionError) as err:
        return str(err) or type(err).__name__
    return None


def compiles(source: str) -> bool:
    """Whether `compile()` accepts `source` (dedented) as a module: the test of valid Python everywhere the project
    reports it. `ast.parse` alone is weaker: `def f(n, n): ...` and a module-level `return` parse."""
    return compile_error(source) is None


def with_decorators(text: str, start: int) -> int:
    """Move `start` up over decorator lines directly above the header, so they belong to the block."""
    while start > 0:
        previous = text.rfind("\n", 0, start - 1) + 1
        if not DECORATOR.match(text[previous:start]):
            break
        start = previous
    return start


def trim_to_compile(block: str, indent: int) -> str:
    """The longest prefix of whole lines of `block` that compiles; a header alone gets `pass` as its body."""
    lines = block.splitlines(keepends=True)
    for count in range(len(lines), 0, -1):
        candidate = "".join(lines[:count]).rstrip() + "\n"
        if compiles(candidate):
            return candidate
        with_pass = candidate + " " * (indent + 4) + "pass\n"
        if compiles(with_pass):
            return with_pass
    return block


def extract_function(prompt: str, generated: str, end_of_file: bool = False) -> FunctionBlock | None:
    """The block that `prompt + generated` defines (see the module docstring); None if no `def`/`class` appears.

    `end_of_file`: the model ended the text (end-of-text token), which ends the block too. Otherwise a block whose
    body never ended was cut by `max_new_tokens` and is trimmed until it compiles."""
    text = prompt + generated
    start = find_block_start(text, len(prompt))
    if start is None:
        return None
    end = block_end(text, start)
    block_start = with_decorators(text, start)
    block = text[block_start:end].rstrip() + "\n"
    if end is not None or end_of_file:
        return FunctionBlock(block, ended=True, truncated=False, compiles=compiles(block), start=block_start)
    trimmed = trim_to_compile(block, header_indent(text, start))
    return FunctionBlock(trimmed, ended=False, truncated=True, compiles=compiles(trimmed), start=block_start)


def is_placeholder(statement: ast.stmt) -> bool:
    """`pass`, `...` or a bare string (a docstring): a statement that does nothing."""
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        and (statement.value.value is Ellipsis or isinstance(statement.value.value, str)))


def has_body(block: str) -> bool:
    """Whether the block compiles and its def (or class) holds a statement other than its docstring, `pass` or `...`:
    a completion trimmed back to its docstring, or to the `pass` that trimming adds, has no body."""
    if not compiles(block):
        return False
    try:
        tree = ast.parse(textwrap.dedent(block))
    except (SyntaxError, ValueError):
        return False
    definitions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                      ast.ClassDef))]
    return bool(definitions) and not all(is_placeholder(statement) for statement in definitions[0].body)


def most_repeated_line(text: str) -> int:
    """How often the most frequent line of `text` occurs (indentation ignored; blank lines and lines of only
    punctuation such as `)` or a closing quote do not count). `REPEATED_LINE_LIMIT` or more: a repetition loop."""
    lines = [line.strip() for line in text.splitlines()]
    counts = Counter(line for line in lines if any(character.isalnum() for character in line))
    return max(counts.values(), default=0)


class FunctionEnd:
    """Stopping criterion: done once the block's body has ended (the model started the next top-level line)."""

    def __init__(self, prompt: str, decode: Callable[[list[int]], str]):
        self.prompt = prompt
        self.decode = decode

    def __call__(self, generated: np.ndarray) -> np.ndarray:
        done = np.zeros(generated.shape[0], dtype=bool)
        for row, tokens in enumerate(generated):
            text = self.prompt + self.decode(tokens.tolist())
            start = find_block_start(text, len(self.prompt))
            done[row] = start is not None and block_end(text, start) is not None
        return done
