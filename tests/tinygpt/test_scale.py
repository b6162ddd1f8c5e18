"""`tinygpt scale-train` under torchrun (gloo, 2 CPU processes): two ranks of batch B train exactly as one process of
batch 2B (losses to float tolerance, the exercise loss mask included), every rank holds bit-identical weights after
every step, a run stopped by SIGTERM resumes from its checkpoint and continues the same curve, the checkpoint comes
back through `tinygpt import-hf` with the logits PyTorch computes, and one process follows `tinygpt train`'s recipe.
Without torch the command says what to install. The torchrun runs are shared by the module (three launches)."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO
from tinygpt.data import dataset
from tinygpt.scale.batches import ShardedBatches

HAS_TORCH = all(importlib.util.find_spec(name) is not None for name in ("torch", "transformers"))
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch and transformers: pip install -e '.[scale]'")
FLAGS = ["--n_layer=2", "--n_head=2", "--n_embd=32", "--block_size=16", "--warmup_steps=6", "--min_lr_ratio=1",
         "--eval_interval=2", "--eval_batches=2", "--checkpoint_interval=2", "--progress=false"]
# min_lr_ratio=1: after warmup the schedule no longer depends on max_steps, so a run started for 10000 steps and
# resumed with --max_steps=K trains the steps a run of K steps trains


@pytest.fixture(scope="module")
def masked_dataset(tiny_dataset, tmp_path_factory) -> Path:
    """The tiny dataset with a loss mask hiding 40 % of the targets, so that each rank's share of a batch holds a
    different number of targets."""
    out = tmp_path_factory.mktemp("masked") / "set"
    shutil.copytree(tiny_dataset, out)
    meta = json.loads((out / "meta.json").read_text())
    rng = np.random.default_rng(0)
    for split in dataset.SPLITS:
        (rng.random(meta["splits"][split]["tokens"]) < 0.6).astype(np.uint8).tofile(out / f"{split}.mask.bin")
    meta["loss_mask"] = {split: f"{split}.mask.bin" for split in dataset.SPLITS}
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def torchrun(ranks: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}", "-m",
            "tinygpt", "scale-train", *args]


def launch(command: list[str], timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def wait_for_steps(log: Path, steps: int, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= steps:
            return
        time.sleep(0.2)
    raise AssertionError(f"the run did not reach step {steps} (exit status {process.poll()})")


@pytest.fixture(scope="module")
def runs(masked_dataset, tmp_path_factory) -> dict:
    """Two ranks of batch 4 started for 10000 steps, stopped by SIGTERM once training, resumed to 2 steps further;
    and one process of batch 8 trained to the same step."""
    base = tmp_path_factory.mktemp("scale")
    two, one, debug = base / "two", base / "one", base / "debug"
    command = torchrun(2, f"--data_dir={masked_dataset}", f"--out_dir={two}", *FLAGS, "--batch_size=4",
                       "--max_steps=10000", "--debug-log", str(debug))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        wait_for_steps(debug / "rank-0.jsonl", 2, process)
        process.send_signal(signal.SIGTERM)  # torchrun passes it on to every rank
        stopped_output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stopped_at = json.loads((two / "checkpoint" / "trainer_state.json").read_text())["step"]
    total = stopped_at + 2
    resumed = launch(torchrun(2, "--resume", f"--out_dir={two}", f"--max_steps={total}", "--debug-log", str(debug)))
    launch(torchrun(1, f"--data_dir={masked_dataset}", f"--out_dir={one}", *FLAGS, "--batch_size=8",
                    f"--max_steps={total}"))
    return {"two": two, "one": one, "debug": debug, "stopped_at": stopped_at, "total": total,
            "stopped_output": stopped_output, "resumed_output": resumed.stderr}


def history(out_dir: Path) -> np.ndarray:
    rows = (out_dir / "train_loss.csv").read_text().splitlines()[1:]
    return np.array([[float(value) for value in row.split(",")] for row in rows])


@needs_torch
def test_two_ranks_train_as_one_process_with_the_global_batch(runs):
    two, one = history(runs["two"]), history(runs["one"])
    assert len(two) == len(one) == runs["total"]
    np.testing.assert_array_equal(two[:, 0], one[:, 0])
    np.testing.assert_allclose(two[:, 1], one[:, 1], rtol=1e-4)  # the loss, summed over ranks in another order
    evals = [json.loads((directory / "log.json").read_text())[-1] for directory in (runs["two"], runs["one"])]
    assert evals[0]["step"] == evals[1]["step"] == runs["total"]
    assert evals[0]["world_size"] == 2 and evals[1]["world_size"] == 1
    np.testing.assert_allclose(evals[0]["val_bpb"], evals[1]["val_bpb"], rtol=1e-4)


@needs_torch
def test_every_rank_holds_identical_weights_after_every_step(runs):
    digests = {}
    for rank in (0, 1):
        for line in (runs["debug"] / f"rank-{rank}.jsonl").read_text().splitlines():
            record = json.loads(line)
            digests[rank, record["step"]] = record["weights_sha256"]  # a step repeated after the stop: its last
    for step in range(1, runs["total"] + 1):
        assert digests[0, step] == digests[1, step], f"the ranks' weights differ after step {step}"
    assert len({digests[0, step] for step in range(1, runs["total"] + 1)}) == runs["total"]  # and they do train


@needs_torch
def test_a_run_stopped_by_sigterm_resumes_from_its_checkpoint_and_continues(runs):
    assert "stopped by a signal at step" in runs["stopped_output"]
    assert f"resuming step {runs['stopped_at']}" in runs["resumed_output"]
    state = json.loads((runs["two"] / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == runs["total"] and len(state["history"]) == runs["total"]
    # the steps after the resume continue the curve: test_two_ranks_train_as_one_process_with_the_global_batch


@needs_torch
def test_the_checkpoint_comes_back_through_import_hf_with_the_same_logits(runs, tmp_path):
    import torch
    import transformers

    import tinytorch as tt
    from tinygpt.checkpoint import load_model
    from tinygpt.cli import main as cli_main

    checkpoint = runs["two"] / "checkpoint"
    assert cli_main(["import-hf", str(checkpoint), "--out", str(tmp_path / "model.safetensors")]) == 0
    model, _, _ = load_model(tmp_path / "model.safetensors")
    assert (tmp_path / "tokenizer.json").is_file()  # the tokenizer came back as a BPETokenizer
    tokens = np.random.default_rng(1).integers(0, model.config.vocab_size, size=(2, model.config.block_size))
    model.eval()
    with tt.no_grad():
        ours = model(tokens)[0].data
    reference = transformers.GPT2LMHeadModel.from_pretrained(checkpoint).eval()
    with torch.no_grad():
        theirs = reference(torch.from_numpy(tokens)).logits.numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


@needs_torch
def test_one_process_follows_the_recipe_of_tinygpt_train(runs, masked_dataset, tmp_path):
    """Same initial weights, same batches, masked loss, warmup, Muon split and clipping: tinytorch's Muon iterates in
    float32 where torch's uses bfloat16, so the curves agree to a few parts in a hundred thousand."""
    from tests.helpers import train_config
    from tinygpt.train.trainer import Trainer

    steps = min(runs["total"], 4)
    config = train_config([f"--data_dir={masked_dataset}", f"--out_dir={tmp_path}", *FLAGS, "--batch_size=8",
                           f"--max_steps={runs['total']}"])
    trainer = Trainer(config)
    ours = [trainer.train_step() for _ in range(steps)]
    np.testing.assert_allclose(history(runs["one"])[:steps, 1], ours, rtol=1e-4)


def test_ranks_share_the_global_batch_one_process_draws(tiny_dataset):
    """Rank r of N cuts rows r*B..(r+1)*B of the batch `tinygpt train --batch_size=N*B` draws; for one source and for
    a mixture of three."""
    meta = dataset.read_meta(tiny_dataset)
    tokens = dataset.load_split(tiny_dataset, "train")
    mask = (np.random.default_rng(2).random(len(tokens)) < 0.5).astype(np.uint8)
    third = len(tokens) // 3
    mixture = {**meta, "sources": [{"name": name, "weight": weight, "splits": {
        "train": {"start": start, "end": start + third, "files": 1, "bytes": 1},
        "val": {"start": 0, "end": 0, "files": 0, "bytes": 0}}}
        for name, weight, start in (("a", 1.0, 0), ("b", 3.0, third), ("c", 0.5, 2 * third))]}
    for dataset_meta in (meta, mixture):
        sample, rng = dataset.batch_sampler(dataset_meta, tokens, mask), np.random.default_rng(7)
        ranks = [ShardedBatches(dataset_meta, tokens, mask, 16, 3, rank, 4, seed=7) for rank in range(4)]
        for _ in range(3):
            x, y = sample(12, 16, rng)
            shards = [batches.next() for batches in ranks]
            np.testing.assert_array_equal(np.concatenate([shard.x for shard in shards]), x)
            np.testing.assert_array_equal(np.concatenate([shard.y for shard in shards]), y)
            assert {shard.global_targets for shard in shards} == {int((y != dataset.IGNORE_INDEX).sum())}


@needs_torch
def test_muon_takes_the_matrices_muon_split_gives_it(tiny_dataset):
    from tinygpt.hf.mapping import to_hf_config, to_hf_state_dict
    from tinygpt.model import GPT, GPTConfig
    from tinygpt.scale.gpt2 import build_model, is_muon_matrix, muon_lr_factor
    from tinytorch.optim import muon_split

    config = GPTConfig(vocab_size=300, block_size=16, n_layer=2, n_head=2, n_embd=32)
    tinygpt = GPT(config, seed=0)
    hidden = {id(param) for param in muon_split(tinygpt)[0]}
    names = {name: np.zeros(1) for name, param in tinygpt.named_parameters() if id(param) in hidden}
    model = build_model(to_hf_config(config), tinygpt.weights())
    assert {name for name, _ in model.named_parameters() if is_muon_matrix(name)} == set(to_hf_state_dict(names))
    assert muon_lr_factor((32, 128)) == 2.0 and muon_lr_factor((128, 32)) == 0.5 and muon_lr_factor((32, 32)) == 1


@needs_torch
def test_tinygpt_train_features_it_lacks_are_refused(tiny_dataset, tmp_path, capsys):
    from tinygpt.cli import main as cli_main

    assert cli_main(["scale-train", f"--data_dir={tiny_dataset}", f"--out_dir={tmp_path}", "--timeline_interval=5",
                     "--device", "cpu"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert cli_main(["scale-train", f"--out_dir={tmp_path / 'none'}", "--resume", "--device", "cpu"]) == 2
    assert "no scale-train checkpoint to resume" in capsys.readouterr().err


def test_without_torch_the_command_says_what_to_install():
    code = ("import sys; sys.modules['torch'] = sys.modules['transformers'] = None\n"
            "from tinygpt.cli import main; sys.exit(main(['scale-train', '--max_steps=1']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == "", result
    assert result.stderr.count("\n") == 1 and "tinygpt scale-train: error: needs torch" in result.stderr
    assert "tinytorch-tinygpt[scale]" in result.stderr


@needs_torch
def test_init_from_continues_a_tinygpt_checkpoint(tiny_dataset, tmp_path):
    """In this process (a world of one): --init_from's weights cross through the export mapping, so the first step's
    loss is the one `tinygpt train --init_from` computes on the same batch."""
    from tests.helpers import train_config
    from tinygpt.checkpoint import save_checkpoint
    from tinygpt.cli import main as cli_main
    from tinygpt.model import GPT, GPTConfig
    from tinygpt.train.trainer import Trainer

    vocab_size = dataset.read_meta(tiny_dataset)["vocab_size"]
    start = GPT(GPTConfig(vocab_size=vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=32), seed=5)
    save_checkpoint(tmp_path / "start.safetensors", start, {})
    flags = [f"--data_dir={tiny_dataset}", *FLAGS, "--batch_size=8", "--max_steps=1", "--optimizer=adamw",
             f"--init_from={tmp_path / 'start.safetensors'}"]
    assert cli_main(["scale-train", *flags, f"--out_dir={tmp_path / 'scaled'}", "--device", "cpu"]) == 0
    trainer = Trainer(train_config([*flags, f"--out_dir={tmp_path / 'tinygpt'}"]))
    np.testing.assert_allclose(history(tmp_path / "scaled")[0, 1], trainer.train_step(), rtol=1e-5)


@needs_torch
def test_gradient_accumulation_averages_as_tinygpt_train_does(masked_dataset, tmp_path):
    """In this process: two micro-batches per step, the masked loss averaged over them as `tinygpt train` does."""
    from tests.helpers import train_config
    from tinygpt.cli import main as cli_main
    from tinygpt.train.trainer import Trainer

    flags = [f"--data_dir={masked_dataset}", *FLAGS, "--batch_size=4", "--grad_accum=2", "--max_steps=3",
             "--optimizer=adamw"]
    assert cli_main(["scale-train", *flags, f"--out_dir={tmp_path / 'scaled'}", "--device", "cpu"]) == 0
    trainer = Trainer(train_config([*flags, f"--out_dir={tmp_path / 'tinygpt'}"]))
    np.testing.assert_allclose(history(tmp_path / "scaled")[:, 1], [trainer.train_step() for _ in range(3)], rtol=1e-5)
