"""Top-level functions cut out of the module that defines them: the signature and docstring (what a person asked),
the body after the docstring (what answers it), and the module's import lines the function needs. Shared by
`tinygpt mine-exercises` (`mine.py`) and `tinygpt real-requests` (`real.py`).

    tree = parse_module(source)
    cut = cut_function(node, module_lines(source), max_body_lines=25)  # a FunctionText, or a reason
    prompt = with_imports(import_lines(tree, source, {"math"}), cut.head)  # `import math` above the def

Bodies are kept as written, except `four_space_indentation`, which gives a block written with tabs or two-space
levels the four spaces per level that prompts are written in (a docstring indented by four spaces above a body
indented by a tab is a `TabError`).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from dataclasses import dataclass

LEADING_WHITESPACE = re.compile(r"^[ \t]*")
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # as Python counts lines: not at form feeds, unlike splitlines
TAB_SIZE = 8  # as Python's tokenizer counts a tab


@dataclass(frozen=True)
class FunctionText:
    """One top-level function as written: `head` is its `def` line(s) and docstring, `body` the rest."""

    node: ast.FunctionDef
    head: str
    body: str


def parse_module(source: str) -> ast.Module | None:
    """The module's syntax tree, or None when it is not Python this interpreter reads (warnings about invalid escapes
    in old code are not errors)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
            return ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def module_lines(source: str) -> list[str]:
    """The lines of a module with their line ends, numbered as `ast` numbers them."""
    return LINE.findall(source)


def cut_function(node: ast.FunctionDef, lines: list[str], max_body_lines: int) -> FunctionText | str:
    """The function split after its docstring, or the reason it cannot be: decorated, nothing after the docstring,
    a body over `max_body_lines` lines, or code on the docstring's closing line. `lines` are the module's lines
    with their line ends."""
    first_statement = node.body[1] if len(node.body) > 1 else None
    if node.decorator_list or first_statement is None:
        return "decorated or no body"
    if node.end_lineno - first_statement.lineno + 1 > max_body_lines:
        return f"body over {max_body_lines} lines"
    docstring_end = node.body[0].end_lineno
    after_docstring = lines[docstring_end - 1].encode("utf-8")[node.body[0].end_col_offset:].decode("utf-8").strip()
    if after_docstring and not after_docstring.startswith("#"):  # ast's columns count UTF-8 bytes
        return "docstring shares a line with code"
    head, body = "".join(lines[node.lineno - 1:docstring_end]), "".join(lines[docstring_end:node.end_lineno])
    return FunctionText(node, head, body if body.endswith("\n") else body + "\n")


def names_used(function: ast.FunctionDef) -> set[str]:
    """Every name the function mentions (loaded, stored, or the object of an attribute)."""
    used = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}
    return used | {node.value.id for node in ast.walk(function)
                   if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}


def imported_names(statement: ast.Import | ast.ImportFrom) -> set[str]:
    """The names an absolute import statement binds (`import os.path` binds `os`)."""
    return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}


def import_lines(tree: ast.Module, source: str, names: set[str]) -> list[str]:
    """The module's top-level absolute import statements that bind one of `names`, as written, in module order."""
    return [ast.get_source_segment(source, node) for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0)
            and imported_names(node) & names]


def top_level_imports(tree: ast.Module) -> set[str]:
    """Every name bound by the module's top-level absolute imports (`from x import *` binds nothing we can name)."""
    return {name for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
            and not getattr(node, "level", 0) for name in imported_names(node) if name != "*"}


def with_imports(imports: list[str], text: str) -> str:
    """`text` with the import lines above it and two blank lines between, as PEP 8 spaces a module."""
    return "".join(line + "\n" for line in imports) + ("\n\n" if imports else "") + text


def indentation_width(line: str) -> int:
    return len(LEADING_WHITESPACE.match(line).group().expandtabs(TAB_SIZE))


def four_space_indentation(text: str) -> str:
    """`text` (the lines of one block of code) with four spaces per level of indentation, as Python's tokenizer
    reads its levels: each statement's line at 4 x its depth, the lines that continue it (in brackets, in a string)
    and the comments above it moved by as much. Text that already steps by four spaces without tabs, or that does
    not tokenize, is returned as written."""
    lines = text.splitlines(keepends=True)
    widths = [indentation_width(line) for line in lines if line.strip()]
    has_tabs = any("\t" in LEADING_WHITESPACE.match(line).group() for line in lines)
    if not widths or (min((w for w in widths if w > 0), default=4) == 4 and not has_tabs):
        return text
    block = "if True:\n" if widths[0] > 0 else ""  # a body starts indented: give it a header to tokenize
    shifts = statement_shifts(block + text, len(block.splitlines()))
    if shifts is None:
        return text
    result = []
    for row, line in enumerate(lines):
        content = line.lstrip(" \t")
        if not content.strip() or row not in shifts:
            result.append(content if not content.strip() else line)
            continue
        result.append(" " * max(indentation_width(line) + shifts[row], 0) + content)
    return "".join(result)


def statement_shifts(code: str, header_rows: int) -> dict[int, int] | None:
    """For each row of `code` after its first `header_rows`: how far to move it so that each statement starts at four
    spaces per depth, the lines that continue a statement moved with it; a comment line moves with the statement
    before it when indented as that one and not as the one after it, else with the one after it. None if `code`
    does not tokenize."""
    shifts: dict[int, int] = {}
    lines = code.splitlines(keepends=True)
    depth, start, previous, pending = 0, None, None, []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            row = token.start[0] - 1 - header_rows
            if token.type == tokenize.INDENT:
                depth += 1
            elif token.type == tokenize.DEDENT:
                depth -= 1
            elif token.type == tokenize.COMMENT and start is None and row >= 0:
                pending.append(row)
            elif token.type == tokenize.NEWLINE and start is not None:
                shifts.update({later: shifts[start] for later in range(start + 1, token.start[0] - header_rows)})
                start = None
            elif token.type not in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE, tokenize.ENDMARKER) \
                    and start is None and row >= 0:
                shifts[row] = 4 * depth - indentation_width(lines[row + header_rows])
                width = {row: indentation_width(lines[row + header_rows]) for row in (*pending, row, previous)
                         if row is not None}
                for comment in pending:
                    follows_previous = previous is not None and width[comment] == width[previous] != width[row]
                    shifts[comment] = shifts[previous if follows_previous else row]
                start = previous = row
                pending = []
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    shifts.update({comment: shifts[previous] if previous is not None else 0 for comment in pending})
    return shifts
