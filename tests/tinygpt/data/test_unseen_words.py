"""The honest yardsticks of the exercise data: the generator's language split into a seen and an unseen share, the
fixed unseen-words set built from the unseen share only, and decontamination by normalised request sentence."""

import gzip
import json
import random
from collections import Counter

import pytest

from tinygpt.cli import exercises as exercises_cli
from tinygpt.data.exercises import build, render, unseen
from tinygpt.data.exercises.sentences import normalize, prompt_request, prompt_sentences, request_sentences
from tinygpt.data.exercises.wording import REGISTRY, SPLITS, Choices, Wording, held_out_fragments
from tinygpt.tasks import UNSEEN_PATH, load_tasks


def draws(split: str, count: int, seed: int = 0, styles=None) -> list[dict]:
    rng, found = random.Random(seed), []
    styles = styles or (render.STYLES if split == "seen" else render.UNSEEN_STYLES + render.FAMILIAR_STYLES)
    while len(found) < count:
        exercise, _ = build.draw_exercise(rng, set(), Wording(split), styles)
        found += [exercise] if exercise else []
    return found


def names_in(share: str) -> set[str]:
    """Every identifier a share offers (parameter names, alone or in families)."""
    options = [option for what in REGISTRY for option in getattr(what, share)]
    return {name for option in options for name in (option if isinstance(option, tuple) else (option,))
            if isinstance(name, str) and name.isidentifier()}


def words_of(text: str) -> str:
    return " ".join("".join(c if c.isalpha() else " " for c in text.lower()).split())


# ---- the split of the language ---------------------------------------------------------------------------------

def test_every_choice_has_both_shares_and_a_wording_is_one_of_them():
    assert len(REGISTRY) >= 80  # frames, synonyms of every operation, parameter families, conventions
    assert all(what.seen and what.unseen for what in REGISTRY)
    with pytest.raises(ValueError, match="both shares"):
        Choices(("a",), ())
    with pytest.raises(ValueError, match="'seen' or 'unseen'"):
        Wording("train")
    assert set(SPLITS) == {"seen", "unseen"}


def test_training_requests_never_hold_an_unseen_phrase_or_parameter_family():
    fragments = held_out_fragments()
    assert {"multiplied together", "work out", "tell whether"} <= fragments
    unseen_names = names_in("unseen") - names_in("seen")
    for exercise in draws("seen", 3000):
        text = f" {words_of(exercise['request'])} "
        assert not [f for f in fragments if f" {f} " in text], exercise["request"]
        assert not set(exercise["params"]) & unseen_names, exercise["params"]
        assert exercise["style"] in render.STYLES


def test_unseen_requests_open_with_no_training_frame():
    def opening(exercise: dict) -> str:
        return " ".join(words_of(exercise["request"]).split()[:2])

    seen = {opening(e) for e in draws("seen", 4000) if e["skill"] != "class"}
    assert {"return the", "check whether", "compute and"} <= seen
    for exercise in draws("unseen", 1500):
        assert exercise["skill"] == "class" or opening(exercise) not in seen, exercise["request"]


@pytest.mark.parametrize("style", render.STYLES + render.UNSEEN_STYLES)
def test_every_convention_renders_a_prompt_that_compiles_with_its_body(style):
    for exercise in draws("seen" if style in render.STYLES else "unseen", 40, styles=(style,)):
        program = exercise["prompt"] + exercise["completion"] + exercise["tests"]
        exec(compile(program, exercise["name"], "exec"), {})  # the reference passes its own tests
        if exercise["style"] in ("google", "numpy"):
            assert ("Args:" if style == "google" else "Parameters\n    ----------") in exercise["prompt"]
            assert ("Returns:" if style == "google" else "Returns\n    -------") in exercise["prompt"]


@pytest.mark.parametrize("values, expected", [
    ([1, 2], "int"), ([1, 2.5], "float"), ([[1, 2], []], "list of int"), (["a", None], "str or None"),
    ([True, False], "bool"), ([None], "None"), ([{"a": 1}], "dict"), ([[1, [2]]], "list"),
])
def test_the_sections_name_the_types_the_tests_use(values, expected):
    assert render.type_name(values) == expected


# ---- the unseen-words set --------------------------------------------------------------------------------------

def test_the_committed_unseen_set_is_what_its_command_builds(tmp_path):
    out = tmp_path / "unseen.jsonl.gz"
    assert exercises_cli.main(["--unseen", "300", "--seed", "0", "--out", str(out)]) == 0
    assert out.read_bytes() == UNSEEN_PATH.read_bytes()  # fixed: rebuilt from its seed, byte for byte


def test_the_unseen_set_is_judgeable_in_equal_style_shares_and_every_reference_passes():
    records = [json.loads(line) for line in gzip.decompress(UNSEEN_PATH.read_bytes()).decode().splitlines()]
    tasks = load_tasks(UNSEEN_PATH)
    assert len(tasks) == 300 and len({task.task_id for task in tasks}) == 300
    assert Counter(task.task_id.split("/")[1] for task in tasks) == dict.fromkeys(unseen.UNSEEN_STYLE_ORDER, 60)
    assert len({record["skill"] for record in records}) >= 6 and "class" not in {r["skill"] for r in records}
    for task in tasks:
        exec(task.prompt + task.canonical_solution + "\n" + task.test, {})
        with pytest.raises(Exception):  # noqa: B017 - a stub fails: assert, TypeError on None...
            exec(task.prompt + "    pass\n" + task.test, {})


def test_no_training_draw_asks_an_unseen_sentence():
    asked = set().union(*(prompt_sentences(task.prompt) for task in load_tasks(UNSEEN_PATH)))
    assert len(asked) >= 150
    for exercise in draws("seen", 3000, seed=1):
        assert not request_sentences(exercise["request"], exercise["params"]) & asked, exercise["request"]


# ---- decontamination by sentence -------------------------------------------------------------------------------

def test_sentences_are_normalised_with_parameter_names_folded():
    assert normalize("Return a plus b.", ["a", "b"]) == "return <p> plus <p>"
    assert normalize("Return x plus y!", ["x", "y"]) == normalize("return  X plus Y", ["X", "Y"])
    assert normalize("Return the sum of nums_list.", ["nums"]) == "return the sum of nums_list"  # whole words only
    assert request_sentences("Return a. Then b; n", ["n"]) == {"return a", "then b"}


def test_the_request_of_a_prompt_stops_at_examples_and_sections():
    prompt = ('def f(xs, k):\n    """Return the k largest values.\n    Ties keep their order.\n\n    Args:\n'
              '        xs: numbers.\n    >>> f([1], 1)\n    [1]\n    """\n')
    assert prompt_request(prompt) == "Return the k largest values. Ties keep their order."
    assert prompt_sentences(prompt) == {"return the <p> largest values", "ties keep their order"}
    assert prompt_sentences("# return a plus b\ndef add(a, b):\n") == {"return <p> plus <p>"}
    assert prompt_sentences('def g(n):\n    """\n    Return n squared.\n\n    Returns\n    -------\n    int\n'
                            '    """\n') == {"return <p> squared"}


def test_a_draw_asking_an_evaluation_sentence_is_dropped_counted_and_reported(tmp_path, monkeypatch):
    evaluation = build.EvaluationSets(set(), set())
    asked = [request_sentences(e["request"], e["params"]) for e in draws("seen", 20, seed=3, styles=render.STYLES)]
    evaluation.add_sentences("toy/1", set().union(*asked))  # the sentences the first draws of this seed will ask
    report, produced = Counter(), Counter()
    kept = build.build(200, random.Random(3), set(), Counter(), 4, evaluation, report, produced)
    assert report["a request sentence of an evaluation task"] > 0 and produced["toy/1"] > 0
    assert not build.overlaps(kept, evaluation)
    evaluation.add_sentences("toy/1", {"return <p> plus <p>"})
    slipped = {"name": "add", "request": "Return left plus right.", "params": ["left", "right"], "prompt": "",
               "completion": "", "tests": ""}
    assert build.overlaps([slipped], evaluation) == ["add (toy/1)"]
    monkeypatch.setattr(exercises_cli, "overlaps", lambda exercises, sets: ["add (toy/1)"])
    assert exercises_cli.main(["--out", str(tmp_path / "x"), "--train", "5", "--val", "1"]) == 1
    assert not (tmp_path / "x").exists()  # nothing written


def test_evaluation_sets_hold_the_suite_humaneval_mbpp_and_unseen_sentences():
    evaluation = build.evaluation_sets()
    owners = {task for tasks in evaluation.sentences.values() for task in tasks}
    assert "tinygpt/2" in evaluation.sentences["return <p> plus <p>"]  # the suite's "Return a plus b."
    assert any(task.startswith("unseen/") for task in owners)
    assert any(task.startswith("HumanEval/") for task in owners) or not build_has_humaneval()
    assert any(task.startswith("MBPP/") for task in owners) or not MBPP_FILE_PRESENT


def build_has_humaneval() -> bool:
    from tinygpt.data.contamination import BenchmarkNotFound, humaneval_path
    try:
        humaneval_path()
    except BenchmarkNotFound:
        return False
    return True


def _mbpp_present() -> bool:
    from tinygpt.tasks import mbpp
    return mbpp.DEFAULT_PROBLEMS.is_file()


MBPP_FILE_PRESENT = _mbpp_present()


def test_eval_suite_splits_the_unseen_sets_passes_by_style():
    from tinygpt.cli.eval_suite import by_group
    from tinygpt.tasks.task_eval import Attempt

    def attempt(task_id: str, status: str) -> Attempt:
        return Attempt(task_id, "", "function_end", True, True, 1, False, status, "")

    attempts = [attempt("unseen/numpy/0", "passed"), attempt("unseen/numpy/1", "failed"),
                attempt("unseen/comment/0", "failed")]
    groups = by_group(attempts)
    assert list(groups) == ["numpy", "comment"]
    assert (groups["numpy"]["passed"], groups["numpy"]["attempts"], groups["comment"]["passed"]) == (1, 2, 0)
    assert by_group([attempt("tinygpt/3", "passed")]) == {}  # the suite's ids name no group
