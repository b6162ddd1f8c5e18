"""Code-aware generation: complete exactly one function (or class), and turn comments into prompts.

`--complete-function` stops generation when the body of the function being written ends and returns exactly that
block. Python marks the end of a block by indentation: the body is over at the first non-blank line indented at or
left of the `def` (or `class`) keyword. "Line" means a logical line start: lines inside a multi-line string, inside
brackets or after a backslash continue the line before them and never end a block. Python's own `tokenize` tells
those apart, so the rule is checked on tokens, not on raw text.

Which block: the last `def`/`class` line of the prompt (the function being completed), or, when the prompt has none
(a comment such as `# return the largest of three numbers`), the first one the model writes.

If `max_new_tokens` runs out inside the body, the block is trimmed back to the longest run of complete lines that
still parses (`ast.parse`), a lone header gets `pass` as its body, and the result says it was truncated.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["FunctionBlock", "FunctionEnd", "block_end", "extract_function", "find_block_start", "parses",
           "prepare_prompt"]

BLOCK_HEADER = re.compile(r"^([ \t]*)(?:async[ \t]+def|def|class)\b", re.MULTILINE)
DECORATOR = re.compile(r"^[ \t]*@")
BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


@dataclass
class FunctionBlock:
    """A completed block: its source, whether the body ended on its own, whether it was trimmed to fit
    `max_new_tokens`, and whether `ast.parse` accepts it."""

    text: str
    ended: bool
    truncated: bool
    parses: bool


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


def block_end(text: str, start: int) -> int | None:
    """Offset in `text` of the first logical line after the header of the block starting at `start` that is
    indented at or left of its `def`/`class`; None while the block is still open."""
    indent = header_indent(text, start)
    body = text[start:]
    if not re.search(rf"\n[ \t]{{0,{indent}}}[^ \t\r\n]", body):  # cheap test first: no candidate line at all
        return None
    line_offsets = np.cumsum([0] + [len(line) for line in body.splitlines(keepends=True)])
    header_done, at_line_start, depth = False, False, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(body).readline):
            if token.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            if token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth == 0):
                header_done = header_done or token.type == tokenize.NEWLINE
                at_line_start = header_done
                continue
            if at_line_start and token.start[1] <= indent:
                return start + int(line_offsets[token.start[0] - 1])
            at_line_start = False
            if token.type == tokenize.OP:
                depth = max(depth + BRACKETS.get(token.string, 0), 0)
    except (tokenize.TokenError, IndentationError):
        pass  # the text ends mid-string or mid-bracket: no further line can start
    return None


def parses(source: str) -> bool:
    try:
        ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError):
        return False
    return True


def with_decorators(text: str, start: int) -> int:
    """Move `start` up over decorator lines directly above the header, so they belong to the block."""
    while start > 0:
        previous = text.rfind("\n", 0, start - 1) + 1
        if not DECORATOR.match(text[previous:start]):
            break
        start = previous
    return start


def trim_to_parse(block: str, indent: int) -> str:
    """The longest prefix of whole lines of `block` that parses; a header alone gets `pass` as its body."""
    lines = block.splitlines(keepends=True)
    for count in range(len(lines), 0, -1):
        candidate = "".join(lines[:count]).rstrip() + "\n"
        if parses(candidate):
            return candidate
        with_pass = candidate + " " * (indent + 4) + "pass\n"
        if parses(with_pass):
            return with_pass
    return block


def extract_function(prompt: str, generated: str, end_of_file: bool = False) -> FunctionBlock | None:
    """The block that `prompt + generated` defines (see the module docstring); None if no `def`/`class` appears.

    `end_of_file`: the model ended the text (end-of-text token), which ends the block too. Otherwise a block whose
    body never ended was cut by `max_new_tokens` and is trimmed until it parses."""
    text = prompt + generated
    start = find_block_start(text, len(prompt))
    if start is None:
        return None
    end = block_end(text, start)
    block = text[with_decorators(text, start):end].rstrip() + "\n"
    if end is not None or end_of_file:
        return FunctionBlock(block, ended=True, truncated=False, parses=parses(block))
    trimmed = trim_to_parse(block, header_indent(text, start))
    return FunctionBlock(trimmed, ended=False, truncated=True, parses=parses(trimmed))


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
