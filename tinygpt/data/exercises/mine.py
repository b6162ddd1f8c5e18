"""Mine exercises from the corpora: functions whose docstrings carry doctests that pass when run alone.

    tinygpt mine-exercises --source ../shared/corpora/thealgorithms-python --source ... --out data/mined

For every top-level function of every `.py` file (sorted by path) whose docstring holds `>>>` examples and whose
body is at most `--max-body-lines` lines:
1. extract it as a standalone exercise: the module's imports that the function uses, its signature and docstring
   (the prompt, a docstring with examples: the third prompt style users write) and the rest of its body (the
   completion);
2. run its doctests in the sandbox (`tinygpt.eval.sandbox`), imports and function alone; keep it only if every example
   passes (a function that needs another function of its module, a file or the network fails here and is dropped);
3. drop exact duplicates, functions named like an evaluation task, any whose docstring has a request sentence of an
   evaluation task (normalised: `sentences.py`) and any that shares a 13-gram of words with the
   project's task suite or HumanEval (as `tinygpt exercises` does).

A function goes to val.jsonl when its file is held out by `tinygpt prepare`'s split rule (the hash of its relative
path, `--val-fraction`), so no held-out file of the corpora reaches training through here. `report.json` says how
many were found, run and kept, and why the rest were dropped.
"""

from __future__ import annotations

import ast
from collections import Counter

from tinygpt.eval.sandbox import SandboxLimits, run_program

OUTPUT_FILES = ("train.jsonl", "val.jsonl", "report.json")
DOCTEST_RUNNER = """
import doctest as _doctest
_finder, _runner = _doctest.DocTestFinder(recurse=False), _doctest.DocTestRunner(verbose=False)
for _test in _finder.find({name}, {name!r}, globs=dict(globals())):
    _runner.run(_test)
assert _runner.tries > 0 and _runner.failures == 0, f"{{_runner.failures}} of {{_runner.tries}} examples failed"
"""


def used_imports(tree: ast.Module, function: ast.FunctionDef, source: str) -> list[str]:
    """The module-level import statements that bind a name the function uses."""
    used = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}
    used |= {node.value.id for node in ast.walk(function)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}
    lines = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
            bound = {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            if bound & used:
                lines.append(ast.get_source_segment(source, node))
    return lines


def extract(relative_path: str, source: str, max_body_lines: int) -> tuple[list[dict], Counter]:
    """The candidate exercises of one file, and what was passed over (by reason)."""
    skipped: Counter = Counter()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return [], Counter({"file does not parse": 1})
    lines = source.splitlines(keepends=True)
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        docstring = ast.get_docstring(node, clean=False)
        if not docstring or ">>>" not in docstring:
            continue
        skipped["found"] += 1
        first_statement, last = node.body[1] if len(node.body) > 1 else None, node.end_lineno
        if node.decorator_list or first_statement is None:
            skipped["decorated or no body"] += 1
            continue
        if last - first_statement.lineno + 1 > max_body_lines:
            skipped[f"body over {max_body_lines} lines"] += 1
            continue
        docstring_end = node.body[0].end_lineno
        if lines[docstring_end - 1].rstrip("\n").rstrip().endswith(('"""', "'''")) is False:
            skipped["docstring shares a line with code"] += 1
            continue
        imports = used_imports(tree, node, source)
        prefix = "".join(line + "\n" for line in imports) + ("\n\n" if imports else "")
        prompt = prefix + "".join(lines[node.lineno - 1:docstring_end])
        completion = "".join(lines[docstring_end:last])
        if not completion.endswith("\n"):
            completion += "\n"
        found.append({"prompt": prompt, "completion": completion, "name": node.name, "file": relative_path})
    return found, skipped


def verify(exercise: dict, limits: SandboxLimits) -> tuple[bool, str]:
    program = exercise["prompt"] + exercise["completion"] + DOCTEST_RUNNER.format(name=exercise["name"])
    result = run_program(program, limits)
    return result.status == "passed", result.status if result.status != "passed" else ""
