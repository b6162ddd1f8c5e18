"""Can TinyGPT write a function it has never seen? Complete held-out functions and measure two shares.

    tinygpt eval-functions [--checkpoint PATH] [--data-dir data/stdlib] [--source DIR] [-n 50] [--seed 0]

1. The held-out files are the dataset's validation split, re-derived exactly as `tinygpt prepare` made it: every
   readable `.py` file under the source directory recorded in `meta.json` (or `--source`) whose path hash falls in
   the first `val_fraction` of the hash range (`tinygpt.data.prepare.is_held_out`). The model never trained on them.
2. From them, every function with a docstring and a body after it. The prompt is the `def` line through the
   docstring (dedented to column 0); the model writes the body. `-n` of them are drawn with `--seed`.
3. Each prompt is completed with `--complete-function` semantics (stop when the body ends, trim to parse when
   `--max-new-tokens` runs out).
4. Reported, each as a share of the functions, counted honestly (the rules are `tinygpt.tasks.task_eval`'s):
   - compiles without trimming: a completion cut by `--max-new-tokens` and trimmed back until it compiles does not
     count;
   - wrote a body: a statement besides the docstring and `pass` (a completion trimmed to its docstring has none);
   - repeats a line 5+ times: a repetition loop, however well it compiles;
   - well-formed: all three of the above: compiles without trimming, has a body, repeats no line 5+ times;
   - not a verbatim copy: it has a body, and after stripping indentation and blank lines the body is not a
     substring of the training split's text (same normalisation);
   - trimmed at max_new_tokens: how many completions were cut and trimmed.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from tinygpt.code_completion import REPEATED_LINE_LIMIT, has_body, most_repeated_line
from tinygpt.console import print_stderr, progress_bar
from tinygpt.data.prepare import SourceFile, is_held_out, read_sources
from tinygpt.generate import (
    GenerateError,
    generate,
)
from tinytorch.generation import GenerationConfig

__all__ = ["FunctionSample", "held_out_functions", "normalize"]


@dataclass
class FunctionSample:
    path: str
    name: str
    prompt: str  # def line through the docstring, dedented
    reference: str  # the real body


@dataclass
class FunctionResult:
    path: str
    name: str
    compiles: bool  # as generated, without trimming
    has_body: bool
    repeats: int  # occurrences of the most repeated line
    well_formed: bool  # compiles, has a body, repeats no line REPEATED_LINE_LIMIT times
    novel: bool
    truncated: bool
    completion: str


def dedent_lines(lines: list[str], indent: int) -> list[str]:
    """Remove `indent` leading characters from each line that starts with that much whitespace."""
    return [line[indent:] if line[:indent].isspace() else line for line in lines]


def held_out_functions(files: list[SourceFile]) -> list[FunctionSample]:
    """Every function with a docstring followed by more statements, in file order."""
    samples = []
    for source_file in files:
        try:
            tree = ast.parse(source_file.text)
        except (SyntaxError, ValueError):
            continue
        lines = source_file.text.splitlines(keepends=True)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or len(node.body) < 2:
                continue
            if ast.get_docstring(node) is None or node.body[0].lineno == node.lineno:
                continue
            docstring_end = node.body[0].end_lineno
            prompt = dedent_lines(lines[node.lineno - 1:docstring_end], node.col_offset)
            body = dedent_lines(lines[docstring_end:node.end_lineno], node.col_offset)
            samples.append(FunctionSample(source_file.relative_path, node.name, "".join(prompt), "".join(body)))
    return samples


def normalize(code: str) -> str:
    """Code without indentation and blank lines, so a body matches however deeply it was nested."""
    return "\n".join(line.strip() for line in code.splitlines() if line.strip())


def split_settings(data_dir: Path) -> dict:
    """What decides the split, from `data_dir/meta.json`: `source`, `val_fraction`, `max_file_bytes` (each may be
    missing; {} without a meta.json). The split is re-derived from the source files, so no token arrays are needed."""
    path = data_dir / "meta.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GenerateError(f"cannot read {path}: {err}") from None
    if not isinstance(meta, dict):
        raise GenerateError(f"{path} must hold a JSON object, got {type(meta).__name__}")
    val_fraction = meta.get("val_fraction", 0.05)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise GenerateError(f"{path}: val_fraction must be a number in (0, 1), got {val_fraction!r}")
    max_file_bytes = meta.get("max_file_bytes", 1_000_000)
    if isinstance(max_file_bytes, bool) or not isinstance(max_file_bytes, int) or max_file_bytes < 1:
        raise GenerateError(f"{path}: max_file_bytes must be a positive integer, got {max_file_bytes!r}")
    if not isinstance(meta.get("source", ""), str):
        raise GenerateError(f"{path}: source must name a directory, got {meta['source']!r}")
    return meta


def load_splits(data_dir: Path, source: Path | None) -> tuple[list[SourceFile], list[SourceFile]]:
    """(train files, validation files) by `tinygpt prepare`'s rule, from `source` or the one meta.json names."""
    meta = split_settings(data_dir)
    if source is None and "source" not in meta:
        where = f"{data_dir}/meta.json records no" if meta else f"no {data_dir}/meta.json names a"
        raise GenerateError(f"{where} source directory; pass --source DIR")
    source = source or Path(meta["source"])
    if not source.is_dir():
        raise GenerateError(f"source directory {source} (from {data_dir}/meta.json) is missing; pass --source DIR")
    files, _ = read_sources(source, meta.get("max_file_bytes", 1_000_000))
    val_fraction = meta.get("val_fraction", 0.05)
    held_out = [f for f in files if is_held_out(f.relative_path, val_fraction)]
    train = [f for f in files if not is_held_out(f.relative_path, val_fraction)]
    return train, held_out


def evaluate(model, tokenizer, samples: list[FunctionSample], train_text: str, config: GenerationConfig,
             verbose: bool = False) -> list[FunctionResult]:
    results = []
    for sample in (samples if verbose else progress_bar(samples, "eval-functions", "function")):
        completion = generate(model, tokenizer, sample.prompt, config, complete_function=True)[0]
        block = completion.function
        text = block.text if block else ""
        body = text[len(sample.prompt):] if text.startswith(sample.prompt) else ""
        compiles = bool(block and block.compiles and not block.truncated)
        wrote_body, repeats = has_body(text), most_repeated_line(text)
        novel = wrote_body and normalize(body) not in train_text
        well_formed = compiles and wrote_body and repeats < REPEATED_LINE_LIMIT
        result = FunctionResult(sample.path, sample.name, compiles, wrote_body, repeats, well_formed, novel,
                                bool(block and block.truncated), text)
        results.append(result)
        if verbose:
            flags = (f"compiles={compiles!s:<5} body={wrote_body!s:<5} repeats={repeats:<3} novel={novel!s:<5} "
                     f"truncated={result.truncated}")
            print_stderr(f"{sample.path + ':' + sample.name:<50} {flags}")
    return results
