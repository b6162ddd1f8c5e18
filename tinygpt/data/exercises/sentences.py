"""Decontamination by sentence: no request sentence of an evaluation task may be a request sentence of training.

A 13-gram check cannot see a six-word sentence, and "Return a plus b." is both a task of the project's suite and a
sentence the exercise generator writes: a model that recalls the generator's sentences then scores on the suite
without understanding anything. So every request is cut into sentences and each sentence normalised — lower case,
every parameter name of its function folded into one `<p>`, punctuation dropped — and a training request whose
normalised sentence is one of an evaluation task's is refused (`tinygpt exercises` drops it, counts it, and fails
the build if one slips through).

    normalize("Return a plus b.", ["a", "b"])          -> "return <p> plus <p>"
    prompt_sentences("# return x plus y\\ndef add(x, y):\\n")    -> {"return <p> plus <p>"}

The request of a prompt is what a person wrote in words: its `#` comments and the prose of its docstrings, up to
the first `>>>` example or section (`Args:`, `Parameters`, `Returns`, `Example`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

__all__ = ["normalize", "prompt_parameters", "prompt_request", "prompt_sentences", "request_sentences",
           "split_sentences"]

DOCSTRING = re.compile(r'("""|\'\'\')(.*?)\1', re.DOTALL)
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
SECTION = re.compile(r"^\s*(>>>|-{3,}|(args|arguments|parameters|returns?|raises|yields?|examples?|for example|notes?)"
                     r"\s*:?\s*$)", re.IGNORECASE)  # an example, or a section's title alone on its line
WORD = re.compile(r"<p>|[a-z0-9_]+")
FOLDED = "<p>"


def normalize(sentence: str, params: Iterable[str] = ()) -> str:
    """Lower case, each parameter name (a whole word) folded into `<p>`, punctuation dropped, spaces single."""
    text = sentence.lower()
    for name in sorted({p.lower() for p in params if p}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w<]){re.escape(name)}(?![\w>])", FOLDED, text)
    return " ".join(WORD.findall(text))


def split_sentences(text: str) -> list[str]:
    """The sentences of a request: split after `.`, `!`, `?` or `;` followed by space; blank ones dropped."""
    return [part.strip() for part in SENTENCE_END.split(" ".join(text.split())) if part.strip()]


def request_sentences(text: str, params: Iterable[str] = ()) -> set[str]:
    """The normalised sentences of a request written in words (empty ones, such as a lone parameter, dropped)."""
    params = list(params)
    return {normal for sentence in split_sentences(text) if (normal := normalize(sentence, params))
            and normal != FOLDED}


def prompt_parameters(prompt: str) -> list[str]:
    """The parameter names of the last function the prompt defines (none when it defines none or does not parse)."""
    try:
        tree = ast.parse(prompt + ("\n" if not prompt.endswith("\n") else "") + "    pass\n")
    except SyntaxError:
        try:
            tree = ast.parse(prompt)
        except SyntaxError:
            return []
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        return []
    arguments = functions[-1].args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    return [argument.arg for argument in every if argument is not None]


def prose(docstring: str) -> str:
    """A docstring's words before its first example or section."""
    lines = []
    for line in docstring.splitlines():
        if SECTION.match(line):
            break
        lines.append(line.strip())
    return " ".join(line for line in lines if line)


def prompt_request(prompt: str) -> str:
    """The words of a prompt: its comments, then the prose of its docstrings."""
    comments = [line.strip().lstrip("#").strip() for line in prompt.splitlines() if line.strip().startswith("#")]
    docstrings = [prose(match.group(2)) for match in DOCSTRING.finditer(prompt)]
    return " ".join(part for part in comments + docstrings if part)


def prompt_sentences(prompt: str) -> set[str]:
    """The normalised request sentences of a prompt (a task's signature with its docstring or comment)."""
    return request_sentences(prompt_request(prompt), prompt_parameters(prompt))
