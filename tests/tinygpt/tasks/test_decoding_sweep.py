"""tools/decoding_sweep.py: runs the suite per candidate setting and records the one that passes most."""

from __future__ import annotations

import importlib.util
import json

from tests.helpers import REPO
from tinygpt.tasks.mbpp import DEFAULT_PROBLEMS

SCRIPT = REPO / "tools" / "decoding_sweep.py"
spec = importlib.util.spec_from_file_location("decoding_sweep", SCRIPT)
decoding_sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(decoding_sweep)


def result(name: str, passed: int, compiles: int) -> dict:
    return {"name": name, "summary": {"passed": passed, "compiles": compiles}}


def test_choose_prefers_passing_then_parsing_then_the_simpler_candidate():
    assert decoding_sweep.choose([result("a", 1, 5), result("b", 2, 1), result("c", 2, 3)])["name"] == "c"
    assert decoding_sweep.choose([result("greedy", 0, 4), result("sample", 0, 4)])["name"] == "greedy"


def test_sweep_writes_every_candidate_and_the_choice(release, tmp_path, capsys):
    out, demo = tmp_path / "sweep.json", tmp_path / "demo.json"
    argv = ["--checkpoint", str(release), "--only", "greedy", "--only", "sample-t0.4", "-n", "2",
            "--max-new-tokens", "8", "--out", str(out), "--write-demo", str(demo)]
    assert decoding_sweep.main(argv) == 0
    sweep = json.loads(out.read_text())
    assert [r["name"] for r in sweep["results"]] == ["greedy", "sample-t0.4"]
    assert all(r["summary"]["attempts"] == 2 for r in sweep["results"])
    chosen = json.loads(demo.read_text())
    assert chosen["name"] == sweep["chosen"] and chosen["settings"]["max_new_tokens"] == 8
    assert chosen["settings"]["strategy"] == ("greedy" if chosen["name"] == "greedy" else "sample")
    assert "| greedy" in capsys.readouterr().out


def test_evaluate_release_measures_every_target_and_keeps_the_reports(release, tmp_path, capsys):
    import shutil

    spec = importlib.util.spec_from_file_location("evaluate_release", SCRIPT.with_name("evaluate_release.py"))
    evaluate_release = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluate_release)
    shutil.copy(release, tmp_path / "model.safetensors")
    shutil.copy(release.with_name("tokenizer.json"), tmp_path / "tokenizer.json")
    assert evaluate_release.main(["--release", str(tmp_path), "--quick", "--verify", "2"]) == 0
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    rows = {row["figure"]: row for row in summary["targets"]}
    assert list(rows)[:4] == ["the suite: passes, greedy", "the unseen-words set: passes, greedy",
                              "gap, suite - unseen-words set (greedy passes)", "HumanEval pass@1, greedy"]
    numpy_row = rows["bits/byte, numpy's source"]
    assert 0 < numpy_row["measured"] < 20 and numpy_row["met"] is False  # a random model is far from 1.37
    for figure in ("HumanEval pass@1, verified from 2", "the suite, verified from 2",
                   "the unseen-words set, verified from 2"):
        assert 0 <= rows[figure]["measured"] <= 1
    assert rows["the unseen-words set: passes, greedy"]["target"] == ">= 0.25"
    assert (tmp_path / "demo.json").is_file()
    names = ["evaluate", "suite", "unseen", "humaneval"] + (["mbpp"] if DEFAULT_PROBLEMS.is_file() else [])
    assert ("MBPP test split pass@1, greedy" in rows) == DEFAULT_PROBLEMS.is_file()
    for name in names:
        assert (tmp_path / "eval" / f"{name}.txt").read_text().strip()
    assert "| figure | measured | target | met |" in capsys.readouterr().out
