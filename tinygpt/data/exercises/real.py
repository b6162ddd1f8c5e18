"""Real requests: functions people wrote whose docstring says what they do, and MBPP's train and validation problems,
as exercises — a request in people's words (the prompt) and the body that answers it (the completion).

    tinygpt real-requests --source ../shared/corpora/thealgorithms-python ... --stdlib --mbpp --out data/real

The generated exercises (`build.py`) teach the generator's sentences; these teach how people ask.

**Functions of the corpora and the standard library.** Every top-level `def` of every `.py` file (methods and
nested functions are out; in the standard library, the `test`, `tests`, `idle_test`, `idlelib`, `tkinter` and
`turtledemo` folders are skipped, and `site-packages` everywhere) is kept when:
1. it is not a test (named `test...`), and its docstring is a request in words (`request_problem`): the prose
   before its first `>>>` example or section (`sentences.prose`) has a first sentence that starts with a word (not
   an identifier such as `hours_worked`, `f(x)` or `os.path`, nor `name =` or `Note:`), holds at least
   `MIN_REQUEST_WORDS` words and is no placeholder ("TODO ...", "Helper ...", "Deprecated ...");
2. it is not decorated, and its body after the docstring is 1 to `max_body_lines` lines;
3. it stands alone: every name it reads from outside itself (`symtable`: in its body, its annotations and its
   defaults) is its own name, a builtin the module does not redefine, or a name bound by one of the module's
   top-level absolute imports, whose line then opens the prompt. A function that uses anything else of its module
   (a helper, a constant, a class, a `global`) is dropped;
4. its prompt (the imports, the signature and the docstring as written, re-indented to four spaces per level
   where the file uses tabs or other steps) and its body compile together.
The functions are not run; `request` is the docstring's prose, `params` its parameter names.

**MBPP's train (601-974) and validation (511-600) splits.** The prompt is the one `tinygpt eval-mbpp` shows
(`tinygpt.tasks.mbpp.to_task`: the signature, the request as a docstring, the first test as a `>>>` example), below
whatever the reference defines before the tested function (imports, constants, helpers) and the definitions it
makes after it (`def`, `class`, imports, assignments; other statements after it are left out); the completion is
the reference's body of that function, four spaces per level, without spaces at the ends of lines. The record,
prompt and completion together, must pass all the problem's tests in the sandbox (`check_references`). The test
split (11-510) is never read into the output: `mbpp_records` refuses a problem outside the two splits, and the
command checks it again before writing.

Decontamination, every record: the name of an evaluation task, a request sentence of one (`sentences.py`, the
`request` with the `params` and every sentence of the prompt) or a shared 13-gram of words (prompt, completion,
tests) drops it, as it does an exact duplicate (whitespace-normalised text) of a record kept before.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from tinygpt.code_completion import compiles
from tinygpt.data.corpus import SourceFile
from tinygpt.data.exercises.build import EvaluationSets, overlaps
from tinygpt.data.exercises.sentences import (
    prompt_parameters,
    prose,
    request_sentences,
    split_sentences,
)
from tinygpt.data.exercises.source_functions import (
    cut_function,
    four_space_indentation,
    import_lines,
    module_lines,
    parse_module,
    top_level_imports,
    with_imports,
)
from tinygpt.sandbox import SandboxLimits
from tinygpt.tasks.mbpp import SPLITS, MBPPProblem, Unusable, check_references, requests, tested_function, to_task

OUTPUT_FILES = ("train.jsonl", "val.jsonl", "report.json")
STDLIB = "stdlib"
MBPP = "mbpp"
STDLIB_SKIPPED_DIRS = frozenset({"test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo", "site-packages"})
MBPP_SPLITS = ("validation", "train")  # the only splits read; validation goes to val.jsonl
MIN_REQUEST_WORDS = 4
PLACEHOLDER = re.compile(r"(todo|fixme|xxx|tbd|helper|placeholder|deprecated|docstring|not implemented)\b",
                         re.IGNORECASE)
WORD = re.compile(r"\S*[A-Za-z]\S*")
FIRST_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*(?![\w(\[])(?!\.\w)(?!\s*[=:])")  # not `name_x`, `f(x)`, `x =`, `a.b`
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign,
               ast.AnnAssign)  # what a reference defines after its tested function that the prompt takes above it


def is_stdlib_file(relative_path: str) -> bool:
    """Whether a file of the standard library is one of its modules (not a test, not a GUI)."""
    return not set(relative_path.split("/")[:-1]) & STDLIB_SKIPPED_DIRS


def request_problem(request: str) -> str:
    """Why the prose of a docstring is not a request in words, or "" when it is one."""
    sentences = split_sentences(request)
    if not sentences:
        return "docstring has no words before its examples"
    first = sentences[0]
    if PLACEHOLDER.match(first):
        return "docstring is a placeholder"
    if len(WORD.findall(first)) < MIN_REQUEST_WORDS:
        return f"docstring's first sentence is under {MIN_REQUEST_WORDS} words"
    if not FIRST_WORD.match(first):
        return "docstring does not start with a word"
    return ""


def outside_names(function_source: str) -> set[str] | None:
    """The names a function's source reads from outside itself (builtins included; its own name excluded), or None
    when it declares a `global` or does not compile alone."""
    try:
        table = symtable.symtable(function_source, "<function>", "exec")
    except (SyntaxError, ValueError):
        return None
    own = {symbol.get_name() for symbol in table.get_symbols() if symbol.is_assigned()}
    outside = {symbol.get_name() for symbol in table.get_symbols() if symbol.is_referenced()}  # annotations, defaults
    scopes = list(table.get_children())
    while scopes:
        scope = scopes.pop()
        scopes += scope.get_children()
        for symbol in scope.get_symbols():
            if symbol.is_declared_global():
                return None
            if symbol.is_global() and symbol.is_referenced():
                outside.add(symbol.get_name())
    return outside - own


def module_bindings(source: str) -> set[str] | None:
    """Every name the module binds at its top level (anywhere: inside `if` and `try` too), or None."""
    try:
        table = symtable.symtable(source, "<module>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return {symbol.get_name() for symbol in table.get_symbols() if symbol.is_assigned() or symbol.is_imported()}


def function_records(source_name: str, source_file: SourceFile, max_body_lines: int) -> tuple[list[dict], Counter]:
    """The records of one file's top-level functions that pass the checks above, and the others by reason (with
    "found": how many top-level functions there were)."""
    text = source_file.text.replace("\r\n", "\n").replace("\r", "\n")
    tree = parse_module(text)
    bound = module_bindings(text) if tree is not None else None
    if tree is None or bound is None:
        return [], Counter({"file does not parse": 1})
    imported, lines = top_level_imports(tree), module_lines(text)
    records, skipped = [], Counter()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        skipped["found"] += 1
        record, reason = function_record(node, lines, text, tree, imported, bound, max_body_lines)
        if record is None:
            skipped[reason] += 1
            continue
        records.append({**record, "file": f"{source_name}/{source_file.relative_path}", "source": source_name})
    return records, skipped


def function_record(node: ast.FunctionDef, lines: list[str], text: str, tree: ast.Module, imported: set[str],
                    bound: set[str], max_body_lines: int) -> tuple[dict | None, str]:
    """One function as a record (prompt, completion, name, request, params, style), or None and why not."""
    if node.name.startswith("test"):
        return None, "a test"
    docstring = ast.get_docstring(node)
    if not docstring:
        return None, "no docstring"
    request = prose(docstring)
    problem = request_problem(request)
    if problem:
        return None, problem
    cut = cut_function(node, lines, max_body_lines)
    if isinstance(cut, str):
        return None, cut
    names = outside_names(cut.head + cut.body)
    if names is None:
        return None, "declares a global"
    if any(name not in imported and (name in bound or not hasattr(builtins, name)) for name in names):
        return None, "uses a name from elsewhere in its module"
    reindented = four_space_indentation(cut.head + cut.body).splitlines(keepends=True)
    head_rows = len(cut.head.splitlines())
    prompt = with_imports(import_lines(tree, text, names & imported), "".join(reindented[:head_rows]))
    completion = "".join(reindented[head_rows:])
    if not compiles(prompt + completion):
        return None, "does not compile with its prompt"
    return {"prompt": prompt, "completion": completion, "name": node.name, "request": request,
            "params": prompt_parameters(prompt), "style": "real"}, ""


def is_mbpp_training_split(task_id: int) -> bool:
    return any(SPLITS[split][0] <= task_id <= SPLITS[split][1] for split in MBPP_SPLITS)


def mbpp_record(problem: MBPPProblem, file_name: str) -> tuple[dict | None, str]:
    """A train or validation problem as a record (not yet run), or None and why not."""
    if not is_mbpp_training_split(problem.task_id):
        raise ValueError(f"{problem.name} is not in MBPP's train or validation split: it must never be trained on")
    try:
        task = to_task(problem)
        function = tested_function(problem)[1]
    except Unusable:
        return None, "MBPP: no usable tested function"
    if function.decorator_list:
        return None, "decorated or no body"
    code_lines = module_lines(problem.code)
    statements = function.body[1:] if is_docstring(function.body[0]) and len(function.body) > 1 else function.body
    first = statements[0]
    if code_lines[first.lineno - 1][:first.col_offset].strip():  # the body starts on the `def` line
        completion = "".join(f"    {ast.get_source_segment(problem.code, statement)}\n" for statement in statements)
    else:
        completion = four_space_indentation("".join(code_lines[first.lineno - 1:function.end_lineno]))
    completion = without_trailing_spaces(completion)
    definitions = [four_space_indentation("".join(code_lines[:function.lineno - 1])).rstrip()]
    definitions += [four_space_indentation("".join(code_lines[first_line(node) - 1:node.end_lineno])).rstrip()
                    for node in parse_module(problem.code).body
                    if node.lineno > function.end_lineno and isinstance(node, DEFINITIONS)]
    before = without_trailing_spaces("\n\n\n".join(definition for definition in definitions if definition)).rstrip()
    prompt = f"{before}\n\n\n{task.prompt}" if before else task.prompt
    if not compiles(prompt + completion):
        return None, "does not compile with its prompt"
    split = "validation" if problem.task_id <= SPLITS["validation"][1] else "train"
    return {"prompt": prompt, "completion": completion, "tests": task.test_program(), "name": function.name,
            "task_id": problem.name, "mbpp_split": split, "file": file_name, "request": problem.text,
            "params": list(requests([problem])[0].parameters), "source": MBPP, "style": "real"}, ""


def without_trailing_spaces(text: str) -> str:
    """Each line without the spaces at its end (MBPP's references have many), the text ending in a newline."""
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def first_line(node: ast.stmt) -> int:
    """The line a statement starts on, its decorators included."""
    return min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", [])])


def is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)


def mbpp_records(problems: Sequence[MBPPProblem], file_name: str, limits: SandboxLimits) -> tuple[list[dict], Counter]:
    """The train and validation problems whose record passes all its tests in the sandbox, and the others by reason
    (with "found"). Raises ValueError if a problem of another split is given."""
    records, tasks, skipped = [], [], Counter({"found": len(problems)})
    for problem in problems:
        record, reason = mbpp_record(problem, file_name)
        if record is None:
            skipped[reason] += 1
        else:
            records.append(record)
            tasks.append(replace(to_task(problem), canonical_solution=record["prompt"] + record["completion"]))
    results = check_references(tasks, limits)
    passed = []
    for record, result in zip(records, results):
        if result.status == "passed":
            passed.append(record)
        else:
            skipped[f"MBPP: reference {result.status} in the sandbox"] += 1
    return passed, skipped


def final_overlaps(records: list[dict], evaluation: EvaluationSets) -> list[str]:
    """The kept records that overlap an evaluation set, "name (why)", by `build.overlaps` and by
    `EvaluationSets.reason`; a record of MBPP's test split counts as one."""
    found = []
    for record in records:
        flagged = overlaps([{"tests": "", **record}], evaluation) or [f"{record['name']} ({reason})" for reason in
                                                                        [evaluation.reason(record)] if reason]
        if record["source"] == MBPP and not is_mbpp_training_split(int(record["task_id"].split("/")[1])):
            flagged.append(f"{record['name']} ({record['task_id']} is in MBPP's test split)")
        found += flagged[:1]
    return found


def distinct_sentences(records: list[dict]) -> int:
    """How many distinct normalised request sentences the records ask."""
    return len(set().union(*(request_sentences(r["request"], r["params"]) for r in records)))

