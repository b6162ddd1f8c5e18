"""Real requests (`tinygpt real-requests`): documented functions that stand alone and MBPP's train and validation
problems whose reference passes, decontaminated, split by prepare's rule, byte for byte the same on a rerun, and read
by `tinygpt prepare` as an exercise set."""

import json
from pathlib import Path

import pytest

from tests.helpers import REPO
from tinygpt.cli import real_requests as real_cli
from tinygpt.cli.prepare import main as prepare_main
from tinygpt.data import dataset
from tinygpt.data.corpus import SourceFile, is_held_out, split_position
from tinygpt.data.exercises import real
from tinygpt.data.exercises.build import EvaluationSets
from tinygpt.data.exercises.source_functions import four_space_indentation
from tinygpt.tasks.mbpp import MBPPProblem

TOKENIZER = REPO / "models" / "tinygpt-mixture" / "tokenizer.json"

GOOD = '''import math
from collections import Counter


def hypotenuse_length(a, b):
    """Compute the length of the long side of a right triangle.

    >>> hypotenuse_length(3, 4)
    5.0
    """
    return math.sqrt(a * a + b * b)


def scaled(x):
    """Scale the value by the module's factor and return it."""
    return x * FACTOR


FACTOR = 3


def bare(x):
    return x


def sum_of_two(a, b):
    """Return a plus b."""
    return a + b


def tiny(x):
    """Helper."""
    return x


def test_hypotenuse():
    """Check the long side of the classic triangle."""
    assert hypotenuse_length(3, 4) == 5.0
'''
LETTERS = ('from collections import Counter\n\n\ndef letter_tally(text):\n\t"""Count how often each letter occurs '
           'in a text.\n\n\tSpaces are left out.\n\t"""\n\tcounts = Counter()\n\tfor letter in text:\n'
           '\t\tif letter != " ":\n\t\t\tcounts[letter] += 1\n\treturn counts\n')
CORPUS = {"pkg/good.py": GOOD, "pkg/letters.py": LETTERS,
          "pkg/copy.py": GOOD.split("def scaled")[0].rstrip() + "\n"}  # the hypotenuse again: the first path keeps it

MBPP_PROBLEMS = [
    {"task_id": 11, "text": "Write a function to put the words of a sentence in reverse order.",
     "code": "def flip_words(sentence):\r\n    return ' '.join(reversed(sentence.split()))", "test_setup_code": "",
     "test_list": ["assert flip_words('a b') == 'b a'"], "challenge_test_list": []},
    {"task_id": 511, "text": "Write a python function to join two words with a dash between them.",
     "code": "def dash_join(first, second): return first + '-' + second", "test_setup_code": "",
     "test_list": ["assert dash_join('a', 'b') == 'a-b'", "assert dash_join('', '') == '-'"],
     "challenge_test_list": []},
    {"task_id": 601, "text": "Write a function that counts the vowels of a word, ignoring case.",
     "code": "VOWELS = 'aeiou'\r\ndef count_vowels_in(word):\r\n\treturn sum(1 for ch in word.lower() if ch in VOWELS)",
     "test_setup_code": "", "test_list": ["assert count_vowels_in('Hello') == 2", "assert count_vowels_in('xyz') == 0",
                                          "assert count_vowels_in('AEIOU') == 5"], "challenge_test_list": []},
    {"task_id": 603, "text": "Write a function that adds up the squares of a list of numbers.",
     "code": "def total_of_squares(nums): \r\n    return sum(square_of(n) for n in nums) \r\ndef square_of(n):\r\n"
             "    return n * n\r\nprint(total_of_squares([1]))", "test_setup_code": "",
     "test_list": ["assert total_of_squares([1, 2]) == 5"], "challenge_test_list": []},
    {"task_id": 602, "text": "Write a function that doubles the last element of a list of numbers.",
     "code": "def doubled_tail(items):\r\n  return items[-1] * 3", "test_setup_code": "",
     "test_list": ["assert doubled_tail([1, 2]) == 4"], "challenge_test_list": []},
]
# pkg/letters.py is held out (its place on the split line is below pkg/good.py's): both splits get a corpus file
VAL_FRACTION = (split_position("pkg/letters.py") + split_position("pkg/good.py")) / 2


def write_inputs(root: Path) -> tuple[Path, Path]:
    corpus = root / "corpus"
    for name, text in CORPUS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    problems = root / "mbpp.jsonl"
    problems.write_text("".join(json.dumps(problem) + "\n" for problem in MBPP_PROBLEMS), encoding="utf-8")
    return corpus, problems


def arguments(corpus: Path, problems: Path, out: Path) -> list[str]:
    return ["--source", str(corpus), "--mbpp", "--mbpp-problems", str(problems), "--out", str(out),
            "--val-fraction", str(VAL_FRACTION)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    assert split_position("pkg/letters.py") < split_position("pkg/good.py")  # the split the test relies on
    root = tmp_path_factory.mktemp("real")
    corpus, problems = write_inputs(root)
    assert real_cli.main(arguments(corpus, problems, root / "out")) == 0
    return root


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_records_exactly(built: Path) -> None:
    train = sorted(records(built / "out" / "train.jsonl"), key=lambda record: record["name"])
    val = sorted(records(built / "out" / "val.jsonl"), key=lambda record: record["name"])
    assert [record["name"] for record in train] == ["count_vowels_in", "hypotenuse_length", "total_of_squares"]
    assert [record["name"] for record in val] == ["dash_join", "letter_tally"]
    vowels, hypotenuse, squares = train
    dash, letters = val
    assert hypotenuse == {
        "prompt": 'import math\n\n\ndef hypotenuse_length(a, b):\n    """Compute the length of the long side of a '
                  'right triangle.\n\n    >>> hypotenuse_length(3, 4)\n    5.0\n    """\n',
        "completion": "    return math.sqrt(a * a + b * b)\n", "name": "hypotenuse_length",
        "file": "corpus/pkg/copy.py", "request": "Compute the length of the long side of a right triangle.",
        "params": ["a", "b"], "source": "corpus", "style": "real"}
    assert letters["prompt"] == ('from collections import Counter\n\n\ndef letter_tally(text):\n    """Count how often '
                                 'each letter occurs in a text.\n\n    Spaces are left out.\n    """\n')
    assert letters["completion"] == ('    counts = Counter()\n    for letter in text:\n        if letter != " ":\n'
                                     '            counts[letter] += 1\n    return counts\n')  # tabs: four spaces
    assert letters["request"] == "Count how often each letter occurs in a text. Spaces are left out."
    assert vowels == {
        "prompt": "VOWELS = 'aeiou'\n\n\ndef count_vowels_in(word):\n    \"\"\"Write a function that counts the vowels "
                  "of a word, ignoring case.\n\n    >>> count_vowels_in('Hello')\n    2\n    \"\"\"\n",
        "completion": "    return sum(1 for ch in word.lower() if ch in VOWELS)\n",
        "tests": "assert count_vowels_in('Hello') == 2\nassert count_vowels_in('xyz') == 0\n"
                 "assert count_vowels_in('AEIOU') == 5\n\n",
        "name": "count_vowels_in", "task_id": "MBPP/601", "mbpp_split": "train", "file": "mbpp.jsonl",
        "request": "Write a function that counts the vowels of a word, ignoring case.", "params": ["word"],
        "source": "mbpp", "style": "real"}
    assert squares["prompt"].startswith("def square_of(n):\n    return n * n\n\n\ndef total_of_squares(nums):\n")
    assert squares["completion"] == "    return sum(square_of(n) for n in nums)\n"  # no print, no trailing space
    assert dash["prompt"].startswith("def dash_join(first, second):\n") and dash["task_id"] == "MBPP/511"
    assert dash["completion"] == "    return first + '-' + second\n"  # a one-line def's body on its own line
    for record in train + val:
        exec(record["prompt"] + record["completion"] + record.get("tests", ""), {})


def test_what_was_dropped_and_why(built: Path) -> None:
    report = json.loads((built / "out" / "report.json").read_text())
    assert report["found"] == {"corpus": 8, "mbpp": 4}  # MBPP's test-split problem is not even counted
    assert report["kept"] == {"train": 3, "val": 2}
    assert report["kept_by_source"] == {"corpus": {"train": 1, "val": 1}, "mbpp": {"train": 2, "val": 1}}
    assert report["dropped"] == {
        "MBPP: reference failed in the sandbox": 1,
        "a request sentence of an evaluation task": 1,  # sum_of_two: "Return a plus b." is the suite's
        "a test": 1,
        "docstring is a placeholder": 1,  # tiny: "Helper."
        "exact duplicate": 1,  # pkg/good.py's hypotenuse, already in pkg/copy.py
        "no docstring": 1,
        "uses a name from elsewhere in its module": 1}  # scaled: FACTOR
    assert report["distinct_request_sentences"] == 6 and len(report["examples"]) == 5
    every = (built / "out" / "train.jsonl").read_text() + (built / "out" / "val.jsonl").read_text()
    assert "flip_words" not in every and "MBPP/11" not in every and "doubled_tail" not in every


def test_the_split_follows_prepares_rule(built: Path) -> None:
    for split in ("train", "val"):
        for record in records(built / "out" / f"{split}.jsonl"):
            if record["source"] == "corpus":
                held_out = is_held_out(record["file"].removeprefix("corpus/"), VAL_FRACTION)
            else:
                held_out = record["mbpp_split"] == "validation"
            assert held_out == (split == "val"), record["name"]


def test_a_rerun_gives_the_same_files_byte_for_byte(built: Path) -> None:
    assert real_cli.main(arguments(built / "corpus", built / "mbpp.jsonl", built / "again")) == 0
    for name in real.OUTPUT_FILES:
        assert (built / "again" / name).read_bytes() == (built / "out" / name).read_bytes()


def test_prepare_reads_the_output_as_an_exercise_set(built: Path, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    for index in range(4):
        (code / f"module_{index}.py").write_text("\n".join(f"value_{i} = {i} * {index}" for i in range(200)) + "\n")
    out = tmp_path / "data"
    assert prepare_main(["--source", f"code={code}:1", "--source", f"real={built / 'out'}:1", "--tokenizer",
                         str(TOKENIZER), "--out", str(out), "--val-fraction", "0.3", "--no-benchmark-check"]) == 0
    meta = dataset.read_meta(out)
    _, real_requests = dataset.source_splits(meta, "train")
    mask = dataset.load_mask(out, "train")[real_requests.start:real_requests.end]
    assert 0 < mask.sum() < len(mask)  # the requests are masked, the bodies are targets


def test_a_record_that_overlaps_an_evaluation_set_fails_the_build(built: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(EvaluationSets, "reason", lambda self, record: "")  # nothing dropped: the final check fails
    out = built / "contaminated"
    assert real_cli.main(arguments(built / "corpus", built / "mbpp.jsonl", out)) == 1
    error = capsys.readouterr().err.split("\r")[-1]  # after the progress bars
    assert error == ("real-requests: error: 1 train records overlap an evaluation set (first: sum_of_two "
                     "(tinygpt/2)); nothing written\n")
    assert not out.exists()


def test_mbpps_test_split_is_refused() -> None:
    problem = MBPPProblem(11, "Write a function to flip a list.", "def flip(items):\n    return items[::-1]\n", "",
                          ("assert flip([1, 2]) == [2, 1]",))
    with pytest.raises(ValueError, match="MBPP/11 is not in MBPP's train or validation split"):
        real.mbpp_record(problem, "mbpp.jsonl")


def test_a_function_stands_alone_only_with_builtins_parameters_and_imports() -> None:
    source = ("import os\nfrom . import sibling\nLIMIT = 3\n\n\ndef a(path):\n    \"\"\"Join the path onto the home "
              "folder.\"\"\"\n    return os.path.join(os.sep, path)\n\n\ndef b(n):\n    \"\"\"Count down from n to "
              "zero.\"\"\"\n    return [b(n - 1) for _ in range(1)] if n else [LIMIT]\n\n\ndef c(n):\n    \"\"\"Ask "
              "the sibling module for n.\"\"\"\n    return sibling.get(n)\n\n\ndef d(n):\n    \"\"\"Set the module's "
              "counter to n.\"\"\"\n    global LIMIT\n    LIMIT = n\n\n\ndef e(word):\n    'Count the letters of "
              "the word.'  # one quote\n    return len(word)\n")
    kept, skipped = real.function_records("src", SourceFile("m.py", source), 25)
    assert [record["name"] for record in kept] == ["a", "e"] and kept[0]["prompt"].startswith("import os\n\n\ndef a(")
    assert kept[1]["request"] == "Count the letters of the word." and kept[1]["completion"] == "    return len(word)\n"
    assert skipped == {"found": 5, "uses a name from elsewhere in its module": 2, "declares a global": 1}


@pytest.mark.parametrize("request_text, reason", [
    ("Return the largest of the three numbers.", ""),
    ("Helper.", "docstring is a placeholder"),
    ("Sort the list. Then return it.", "docstring's first sentence is under 4 words"),
    ("TODO: write this function properly later.", "docstring is a placeholder"),
    (":param x: the value to double", "docstring does not start with a word"),
    ("hours_worked = The total hours worked", "docstring does not start with a word"),
    ("rate: the share of the total per hour", "docstring does not start with a word"),
    ("os.path.join wrapper for the home folder", "docstring does not start with a word"),
    ("Python's own way to join two paths.", ""),
    ("", "docstring has no words before its examples"),
])
def test_which_docstrings_are_requests(request_text: str, reason: str) -> None:
    assert real.request_problem(request_text) == reason


def test_four_space_indentation_follows_pythons_levels() -> None:
    assert four_space_indentation("\tx = [1,\n\t     2]\n\tif x:\n\t\t# note\n\t\treturn x\n") == \
        "    x = [1,\n         2]\n    if x:\n        # note\n        return x\n"
    assert four_space_indentation("  for i in j:\n    k(i)\n") == "    for i in j:\n        k(i)\n"
    written = "    if x:\n      y = 1\n"
    assert four_space_indentation(written) is written  # four-space steps without tabs: kept as written


@pytest.mark.parametrize("argv, option", [
    ([], "--source"),
    (["--source", "/no/such/folder"], "--source"),
    (["--stdlib", "--mbpp-problems", "x.jsonl"], "--mbpp-problems"),
    (["--stdlib", "--val-fraction", "1.5"], "--val-fraction"),
    (["--stdlib", "--max-body-lines", "0"], "--max-body-lines"),
    (["--mbpp", "--mbpp-problems", "/no/such/mbpp.jsonl"], "--mbpp-problems"),
])
def test_bad_arguments_exit_2_in_one_line(argv: list[str], option: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        real_cli.main([*argv, "--out", "/tmp/never-written-real-requests"])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1 and option in error, error
    assert error.startswith("tinygpt real-requests: error: ")
