"""`tinygpt evaluate`: bits per byte per held-out source and on an out-of-domain directory, equal to the training
code's exact evaluation; a checkpoint measured on a dataset of another tokenizer gets the same tokens as if prepared
with its own; JSON output; bad input exits with code 2.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from tinygpt.checkpoint import save_checkpoint
from tinygpt.cli.evaluate import main
from tinygpt.cli.prepare import main as prepare_main
from tinygpt.data import dataset
from tinygpt.data.corpus import read_sources
from tinygpt.data.prepare import encode_split
from tinygpt.model import GPT, GPTConfig
from tinygpt.train.loss import evaluate_split
from tinytorch.text import BPETokenizer

BLOCK = 16


def program(source: str, index: int) -> str:
    return (f'"""{source} program {index}."""\n\n\ndef {source}_{index}(items, limit={index}):\n'
            f'    """Keep the items below {index}."""\n    return [item for item in items if item < limit]\n')


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    """Two sources, two datasets of them (different tokenizers) and a tiny model that uses the first's tokenizer."""
    root = tmp_path_factory.mktemp("evaluate")
    for source in ("alpha", "beta"):
        for index in range(10):
            path = root / source / f"{source}/part{index % 3}/file_{index}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(program(source, index))
    sources = ["--source", f"alpha={root / 'alpha'}:2", "--source", f"beta={root / 'beta'}:1", "--val-fraction", "0.3"]
    assert prepare_main([*sources, "--out", str(root / "data_a"), "--vocab-size", "300"]) == 0
    assert prepare_main([*sources, "--out", str(root / "data_b"), "--vocab-size", "270"]) == 0
    tokenizer = BPETokenizer.load(root / "data_a" / "tokenizer.json")
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=BLOCK, n_layer=1, n_head=2, n_embd=16), seed=0)
    (root / "model").mkdir()
    save_checkpoint(root / "model" / "model.safetensors", model, {"train_config": {"data_dir": str(root / "data_a")}})
    shutil.copyfile(root / "data_a" / "tokenizer.json", root / "model" / "tokenizer.json")
    ood = root / "ood"
    (ood / "pkg").mkdir(parents=True)
    (ood / "pkg" / "first.py").write_text(program("gamma", 1) * 3)
    (ood / "second.py").write_text(program("delta", 2) * 2)
    (ood / "empty.py").write_text("")
    return {"root": root, "checkpoint": root / "model" / "model.safetensors", "ood": ood, "model": model}


def run(setup, tmp_path: Path, *arguments: str) -> dict:
    out = tmp_path / "result.json"
    assert main(["--checkpoint", str(setup["checkpoint"]), *arguments, "--json", str(out)]) == 0
    return {r["name"]: r for r in json.loads(out.read_text())["results"]}


def test_held_out_sources_match_the_exact_evaluation(setup, tmp_path: Path, capsys) -> None:
    results = run(setup, tmp_path, "--data-dir", str(setup["root"] / "data_a"))
    model, meta = setup["model"], dataset.read_meta(setup["root"] / "data_a")
    arrays = dataset.load_source_arrays(setup["root"] / "data_a", "val")
    for source in dataset.source_splits(meta, "val"):
        loss = evaluate_split(model, arrays[source.name])
        result = results[source.name]
        assert (result["kind"], result["files"], result["tokens"], result["bytes"]) == (
            "held-out", source.files, source.tokens, source.bytes)
        assert result["loss"] == pytest.approx(loss, rel=1e-6)
        assert result["bits_per_byte"] == pytest.approx(loss / math.log(2) * source.tokens / source.bytes, rel=1e-6)
    everything = results["all"]
    assert everything["bytes"] == meta["splits"]["val"]["bytes"]
    assert min(results["alpha"]["bits_per_byte"], results["beta"]["bits_per_byte"]) <= everything["bits_per_byte"]
    assert "all (held-out)" in capsys.readouterr().out


def test_out_of_domain_directory_is_every_file_joined_by_end_of_text(setup, tmp_path: Path) -> None:
    result = run(setup, tmp_path, "--ood", str(setup["ood"]))["ood"]
    tokenizer = BPETokenizer.load(setup["root"] / "model" / "tokenizer.json")
    files, _ = read_sources(setup["ood"], 1_000_000)
    tokens, _ = encode_split(tokenizer, files, "ood")
    assert [f.relative_path for f in files] == ["pkg/first.py", "second.py"]
    assert (result["files"], result["skipped"], result["tokens"]) == (2, 1, len(tokens))
    assert result["bytes"] == sum(len(f.text.encode()) for f in files)
    assert result["loss"] == pytest.approx(evaluate_split(setup["model"], tokens), rel=1e-6)


def test_dataset_of_another_tokenizer_is_encoded_again(setup, tmp_path: Path) -> None:
    own = run(setup, tmp_path, "--data-dir", str(setup["root"] / "data_a"))
    other = run(setup, tmp_path, "--data-dir", str(setup["root"] / "data_b"))
    vocab_sizes = [dataset.read_meta(setup["root"] / name)["vocab_size"] for name in ("data_a", "data_b")]
    assert vocab_sizes[0] != vocab_sizes[1]
    for name in ("alpha", "beta"):
        assert other[name]["tokens"] == own[name]["tokens"]
        assert other[name]["loss"] == pytest.approx(own[name]["loss"], rel=1e-9)


def test_default_data_dir_is_the_one_the_checkpoint_was_trained_on(setup, tmp_path: Path) -> None:
    assert set(run(setup, tmp_path)) == {"alpha", "beta", "all"}


def test_text_shorter_than_one_window_is_reported_not_measured(setup, tmp_path: Path, capsys) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    (tiny / "one.py").write_text("x = 1\n")
    result = run(setup, tmp_path, "--ood", str(tiny))["tiny"]
    assert result["loss"] is None and result["bits_per_byte"] is None
    assert "too short" in capsys.readouterr().out


def test_bad_input_exits_with_code_2(setup, tmp_path: Path, capsys) -> None:
    assert main(["--checkpoint", str(tmp_path / "missing.safetensors")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    for arguments, message in [(["--ood", str(tmp_path / "nowhere")], "--ood"),
                               (["--data-dir", str(tmp_path)], "--data-dir"), (["--batch-size", "0"], "--batch-size")]:
        with pytest.raises(SystemExit) as exit_info:
            main(["--checkpoint", str(setup["checkpoint"]), *arguments])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
