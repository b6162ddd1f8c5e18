"""Mine exercises from the corpora: functions whose docstrings carry doctests that pass when run alone.

    tinygpt mine-exercises --source ../shared/corpora/thealgorithms-python --source ... --out data/mined

For every top-level function of every `.py` file (sorted by path) whose docstring holds `>>>` examples and whose
body is at most `--max-body-lines` lines:
1. extract it as a standalone exercise: the module's imports that the function uses, its signature and docstring
   (the prompt, a docstring with examples: the third prompt style users write) and the rest of its body (the
   completion);
2. run its doctests in the sandbox (`tinygpt.sandbox`), imports and function alone; keep it only if every example
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

from tinygpt.data.exercises.source_functions import (
    cut_function,
    import_lines,
    module_lines,
    names_used,
    parse_module,
    with_imports,
)
from tinygpt.sandbox import SandboxLimits, run_program

OUTPUT_FILES = ("train.jsonl", "val.jsonl", "report.json")
DOCTEST_RUNNER = """
import doctest as _doctest
_finder, _runner = _doctest.DocTestFinder(recurse=False), _doctest.DocTestRunner(verbose=False)
for _test in _finder.find({name}, {name!r}, globs=dict(globals())):
    _runner.run(_test)
assert _runner.tries > 0 and _runner.failures == 0, f"{{_runner.failures}} of {{_runner.tries}} examples failed"
"""


def extract(relative_path: str, source: str, max_body_lines: int) -> tuple[list[dict], Counter]:
    """The candidate exercises of one file, and what was passed over (by reason)."""
    tree = parse_module(source)
    if tree is None:
        return [], Counter({"file does not parse": 1})
    lines = module_lines(source)
    skipped: Counter = Counter()
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        docstring = ast.get_docstring(node, clean=False)
        if not docstring or ">>>" not in docstring:
            continue
        skipped["found"] += 1
        cut = cut_function(node, lines, max_body_lines)
        if isinstance(cut, str):
            skipped[cut] += 1
            continue
        prompt = with_imports(import_lines(tree, source, names_used(node)), cut.head)
        found.append({"prompt": prompt, "completion": cut.body, "name": node.name, "file": relative_path})
    return found, skipped


def verify(exercise: dict, limits: SandboxLimits) -> tuple[bool, str]:
    program = exercise["prompt"] + exercise["completion"] + DOCTEST_RUNNER.format(name=exercise["name"])
    result = run_program(program, limits)
    return result.status == "passed", result.status if result.status != "passed" else ""
