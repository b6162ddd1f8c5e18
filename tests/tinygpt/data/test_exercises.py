"""Verified exercise data: the generator (`tinygpt exercises`), the miner (`tinygpt mine-exercises`), and how
`prepare` and the trainer use exercises (the request encoded apart, the loss on the body only)."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, train_config
from tinygpt import sandbox
from tinygpt.cli import exercises as exercises_cli
from tinygpt.cli import mine_exercises as mine_cli
from tinygpt.cli.prepare import main as prepare_main
from tinygpt.data import dataset
from tinygpt.data.exercises import build
from tinygpt.data.exercises.skills import Draft
from tinygpt.data.exercises.wording import SPLITS, Wording
from tinygpt.tasks import load_tasks
from tinygpt.train.trainer import Trainer
from tinytorch.text import load_tokenizer

TOKENIZER = REPO / "models" / "tinygpt-mixture" / "tokenizer.json"


@pytest.fixture(scope="module")
def exercise_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exercises") / "set"
    assert exercises_cli.main(["--out", str(out), "--train", "150", "--val", "20", "--seed", "7"]) == 0
    return out


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_same_seed_gives_the_same_files_byte_for_byte(exercise_set: Path, tmp_path: Path) -> None:
    assert exercises_cli.main(["--out", str(tmp_path / "again"), "--train", "150", "--val", "20", "--seed", "7"]) == 0
    for name in build.OUTPUT_FILES:
        assert (tmp_path / "again" / name).read_bytes() == (exercise_set / name).read_bytes()
    assert exercises_cli.main(["--out", str(tmp_path / "other"), "--train", "150", "--val", "20", "--seed", "8"]) == 0
    assert (tmp_path / "other" / "train.jsonl").read_bytes() != (exercise_set / "train.jsonl").read_bytes()


def test_every_exercise_passes_its_tests_and_a_stub_does_not(exercise_set: Path) -> None:
    exercises = records(exercise_set / "train.jsonl") + records(exercise_set / "val.jsonl")
    assert len(exercises) == 170
    for exercise in exercises:
        exec(exercise["prompt"] + exercise["completion"] + exercise["tests"], {})  # raises if a test fails
        stub = exercise["prompt"] + "    pass\n" + exercise["tests"]
        with pytest.raises(Exception):  # noqa: B017 - any failure: assert, TypeError on None, AttributeError
            exec(stub, {})


def test_three_prompt_styles_several_skills_and_examples_that_run(exercise_set: Path) -> None:
    exercises = records(exercise_set / "train.jsonl")
    assert {e["style"] for e in exercises} == set(build.STYLES)
    assert len({e["skill"] for e in exercises}) >= 6
    for exercise in exercises:
        if exercise["style"] == "comment":
            assert exercise["prompt"].startswith("# ")
        if exercise["style"] == "examples" and exercise["skill"] != "class":
            assert ">>>" in exercise["prompt"]


def test_no_exercise_uses_an_evaluation_tasks_name_or_13_gram(exercise_set: Path) -> None:
    tasks = load_tasks()
    names = {task.entry_point for task in tasks}
    task_grams = set().union(*(build.ngrams(t.prompt + t.canonical_solution + t.test) for t in tasks))
    for exercise in records(exercise_set / "train.jsonl"):
        assert exercise["name"] not in names
        assert not build.ngrams(exercise["prompt"] + exercise["completion"] + exercise["tests"]) & task_grams
    report = json.loads((exercise_set / "report.json").read_text())
    assert report["kept"] == {"val": 20, "train": 150} and report["drawn"] >= 170


def test_the_report_says_how_many_draws_repeat_and_how_many_requests_differ(exercise_set: Path) -> None:
    report = json.loads((exercise_set / "report.json").read_text())
    assert report["exact_duplicate_share"] == round(report["dropped"].get("exact duplicate", 0) / report["drawn"], 4)
    assert report["distinct_functions"] == 170 and 0 < report["distinct_bodies"] <= 170
    assert 0 < report["distinct_request_sentences"] and 100 < report["distinct_requests"] <= 170
    assert 0 < report["type_hinted_prompts"] < 170


def test_drafts_that_fail_disagree_or_are_trivially_passed_are_dropped() -> None:
    constant = Draft("t", "always_zero", ["n"], "Return zero.", ["    return 0\n"], lambda rng: (rng.randint(0, 9),))
    checks, ok = build.test_lines(constant, [(1,), (2,)])
    assert ok and build.trivially_passed(constant, build.render_tests(checks))
    disagree = Draft("t", "half", ["n"], "Halve n.", ["    return n // 2\n", "    return n / 2\n"], lambda rng: (3,))
    assert build.test_lines(disagree, [(3,)]) == ([], False)
    raises = Draft("t", "inverse", ["n"], "Return 1 / n.", ["    return 1 / n\n"], lambda rng: (0,))
    assert build.test_lines(raises, [(0,)]) == ([], False)
    forever = Draft("t", "spin", ["n"], "Spin.", ["    while True:\n        pass\n"], lambda rng: (0,))
    assert build.test_lines(forever, [(0,)]) == ([], False)


def test_a_request_named_like_an_evaluation_task_is_renamed_everywhere() -> None:
    draft = Draft("loop", "factorial", ["n"], "Return n!.", ["    return 1 if n < 2 else n * factorial(n - 1)\n"],
                  lambda rng: (5,))
    build.rename(draft, {"factorial"}, random.Random(0))
    assert draft.name != "factorial" and f"{draft.name}(n - 1)" in draft.bodies[0]


def test_bad_arguments_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        exercises_cli.main(["--train", "0"])
    assert exit_info.value.code == 2 and "--train" in capsys.readouterr().err


CORPUS = {
    "pkg/good.py": 'import math\n\n\ndef hypotenuse(a, b):\n    """Length of the long side.\n\n'
                   '    >>> hypotenuse(3, 4)\n    5.0\n    """\n    return math.sqrt(a * a + b * b)\n',
    "pkg/wrong.py": 'def twice(x):\n    """Twice x.\n\n    >>> twice(2)\n    5\n    """\n    return 2 * x\n',
    "pkg/needs_helper.py": 'def helper(x):\n    return x\n\n\ndef use(x):\n    """Use the helper.\n\n    >>> use(1)\n'
                           '    1\n    """\n    return helper(x)\n',
    "pkg/no_examples.py": 'def plain(x):\n    """No examples."""\n    return x\n',
}


def test_mining_keeps_only_functions_whose_doctests_pass_alone(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for name, text in CORPUS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    assert mine_cli.main(["--source", str(corpus), "--out", str(tmp_path / "mined"), "--val-fraction", "0.01"]) == 0
    report = json.loads((tmp_path / "mined" / "report.json").read_text())
    assert report["found"] == 3 and report["run"] == 3 and report["kept"] == {"train": 1, "val": 0}
    assert report["dropped"] == {"doctests failed": 2}
    kept = records(tmp_path / "mined" / "train.jsonl")[0]
    assert kept["prompt"].startswith("import math\n") and kept["completion"] == "    return math.sqrt(a * a + b * b)\n"


def test_mining_without_the_sandbox_refuses_in_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(SystemExit) as exit_info:
        mine_cli.main(["--source", str(tmp_path), "--out", str(tmp_path / "mined")])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and "bubblewrap" in error and "--allow-unconfined" in error
    assert not (tmp_path / "mined").exists()


@pytest.mark.parametrize("timeout", ["0", "nan", "601", "1e300"])
def test_mining_refuses_a_timeout_the_sandbox_cannot_take_in_one_line(tmp_path: Path, capsys, timeout) -> None:
    with pytest.raises(SystemExit) as exit_info:
        mine_cli.main(["--source", str(tmp_path), "--out", str(tmp_path / "mined"), "--timeout", timeout])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1, error
    assert "--timeout must be > 0 seconds and at most 600" in error


@pytest.fixture(scope="module")
def finishing_data(exercise_set: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finish") / "data"
    code = tmp_path_factory.mktemp("code")
    for index in range(4):
        (code / f"module_{index}.py").write_text("\n".join(f"value_{i} = {i} * {index}" for i in range(200)) + "\n")
    assert prepare_main(["--source", f"code={code}:1", "--source", f"exercises={exercise_set}:1", "--tokenizer",
                         str(TOKENIZER), "--out", str(out), "--val-fraction", "0.3", "--no-benchmark-check"]) == 0
    return out


def test_prepare_encodes_the_request_apart_and_masks_it(finishing_data: Path, exercise_set: Path) -> None:
    meta = dataset.read_meta(finishing_data)
    assert meta["loss_mask"] == {"train": "train.mask.bin", "val": "val.mask.bin"}
    tokens, mask = dataset.load_split(finishing_data, "train"), dataset.load_mask(finishing_data, "train")
    code, exercises = dataset.source_splits(meta, "train")
    assert mask[code.start:code.end].all()
    tokenizer = load_tokenizer(TOKENIZER)
    first = records(exercise_set / "train.jsonl")[0]
    prompt_ids = tokenizer.encode(first["prompt"])
    body_ids = tokenizer.encode(first["completion"])
    start = exercises.start
    assert tokens[start:start + len(prompt_ids) + len(body_ids)].tolist() == prompt_ids + body_ids
    assert mask[start:start + len(prompt_ids) + len(body_ids)].tolist() == [0] * len(prompt_ids) + [1] * len(body_ids)
    assert mask[start + len(prompt_ids) + len(body_ids)] == 1  # the end-of-text after the body is a target


def test_batches_ignore_masked_targets_and_the_trainer_can_turn_it_off(finishing_data: Path, tmp_path: Path) -> None:
    meta = dataset.read_meta(finishing_data)
    tokens, mask = dataset.load_split(finishing_data, "train"), dataset.load_mask(finishing_data, "train")
    x, y = dataset.batch_sampler(meta, tokens, mask)(8, 32, np.random.default_rng(0))
    x_plain, y_plain = dataset.batch_sampler(meta, tokens)(8, 32, np.random.default_rng(0))
    assert (x == x_plain).all() and (y == dataset.IGNORE_INDEX).any()
    kept = y != dataset.IGNORE_INDEX
    assert (y[kept] == y_plain[kept]).all()
    flags = [f"--data_dir={finishing_data}", f"--out_dir={tmp_path / 'run'}", "--n_layer=1", "--n_head=2",
             "--n_embd=16", "--block_size=32", "--batch_size=4", "--max_steps=2", "--eval_batches=1",
             "--progress=false"]
    masked = Trainer(train_config(flags))
    plain = Trainer(train_config([*flags, "--loss_mask=false"]))
    xm, ym = masked.sample_batch(8, 32, np.random.default_rng(1))
    xp, yp = plain.sample_batch(8, 32, np.random.default_rng(1))
    assert (ym == dataset.IGNORE_INDEX).any() and not (yp == dataset.IGNORE_INDEX).any()
    record = masked.evaluate(0.0)
    assert 0 < record["val_body_loss_exercises"] < 20


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("skill", [skill for skill, _ in build.SKILLS], ids=lambda skill: skill.__name__)
def test_every_skill_draws_bodies_that_compile_and_agree(skill, split) -> None:
    rng = random.Random(0)
    agreed = 0
    for _ in range(60):
        draft = skill(rng, Wording(split))
        for body in draft.bodies:
            compile(build.header(draft) + body, draft.name, "exec")
        agreed += build.test_lines(draft, [draft.draw(rng) for _ in range(3)])[1]
    assert agreed >= 50  # a few draws may raise on their inputs (max of nothing); a broken template would not
