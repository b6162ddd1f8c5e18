"""`tinygpt bench` in its tiny --quick configuration: the command runs and writes complete results. No timing is
asserted (speed lives in the benchmark itself); the PyTorch parts are skipped where torch is not installed."""

import importlib.util
import json

import pytest

from tests.helpers import REPO
from tinygpt import bench, cli
from tinygpt.cli.bench import main as bench_main

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_TRANSFORMERS = importlib.util.find_spec("transformers") is not None
MEASURES = [key for key, _ in bench.ROWS]


def run_quick(tmp_path, *flags: str) -> dict:
    assert cli.main(["bench", "--quick", "--out", str(tmp_path), *flags]) == 0
    return json.loads((tmp_path / "results.json").read_text())


def test_quick_bench_without_torch_writes_results_and_plot(tmp_path, capsys):
    results = run_quick(tmp_path, "--no-torch", "--steps", "1")
    assert (tmp_path / "scaling.png").read_bytes().startswith(b"\x89PNG")
    for key in MEASURES:
        assert results[key]["ours"] >= 0 and results[key]["torch"] is None, key
    assert results["train_tokens_per_s"]["ours"] > 0 and results["beam4_tokens_per_s"]["ours"] > 0
    assert results["facts"]["parameters"]["total"] > 0
    assert results["facts"]["activation_mib"] > 0
    assert {row["op"] for row in results["profile"]} >= {"Linear", "SelfAttention", "(outside ops)"}
    sweeps = results["scaling"]
    assert [p["context"] for p in sweeps["context"]] == list(bench.QUICK.contexts)
    assert [p["n_embd"] for p in sweeps["width"]] == list(bench.QUICK.widths)
    assert all(p["decode_uncached_tokens_per_s"]["ours"] > 0 for p in sweeps["context"] + sweeps["width"])
    printed = capsys.readouterr().out
    assert "training step, tokens/s" in printed and "n/a" in printed


@pytest.mark.skipif(not (HAS_TORCH and HAS_TRANSFORMERS), reason="needs torch and transformers")
def test_quick_bench_against_torch_agrees_on_losses_and_tokens(tmp_path):
    results = run_quick(tmp_path, "--no-scaling")
    assert not (tmp_path / "scaling.png").exists()
    for key in MEASURES:
        assert results[key]["torch"] >= 0, key
    losses = results["facts"]["losses_first_last"]
    assert losses["ours"][0] == pytest.approx(losses["torch"][0], rel=1e-5)  # same weights, same batch
    assert losses["ours"][1] == pytest.approx(losses["torch"][1], rel=1e-3)  # and the same AdamW steps
    assert results["tokens_agree"] == {"torch_loop": True, "hf_generate": True, "hf_beam4": True}


def test_bad_steps_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_main(["--quick", "--steps", "0"])
    assert exit_info.value.code == 2
    assert "--steps must be >= 1, got 0" in capsys.readouterr().err


def test_the_script_is_the_command():
    """`python benchmarks/bench.py` is `tinygpt bench`: the script imports the command, which imports the benchmark."""
    import subprocess
    import sys

    script = REPO / "benchmarks" / "bench.py"
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("usage: tinygpt bench"), result.stderr
