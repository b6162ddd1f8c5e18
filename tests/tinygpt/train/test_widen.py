"""Widening (tinygpt.train.widen, `tinygpt widen`): the wide model computes the narrow one's logits, its copies of
each unit come apart under training only because of the cancelling noise, and `tinygpt train --init_from` continues
the widened checkpoint."""

import numpy as np
import pytest

import tinytorch as tt
from tinygpt.checkpoint import load_model
from tinygpt.cli.train import main as train_main
from tinygpt.cli.widen import main as widen_main
from tinygpt.model import GPT, GPTConfig
from tinygpt.train.widen import widen, widen_weights

TINY = GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16)


def trained_looking(config: GPTConfig, seed: int = 0) -> GPT:
    """A random GPT whose biases and norm gains are not the init's zeros and ones, so every rule is exercised."""
    model = GPT(config, seed=seed)
    rng = np.random.default_rng(seed)
    for name, param in model.named_parameters():
        if param.ndim == 1:
            param.data[...] = rng.normal(1.0 if name.endswith("ln_1.weight") else 0.0, 0.3, param.shape)
    return model


def logits(model: GPT, idx: np.ndarray) -> np.ndarray:
    with tt.no_grad():
        return model(idx)[0].data


@pytest.mark.parametrize("factor", [2, 3])
def test_the_wide_model_computes_the_same_logits(factor):
    narrow = trained_looking(TINY)
    wide = widen(narrow, factor, noise=1.0, seed=1)
    assert (wide.config.n_embd, wide.config.n_head) == (16 * factor, 2 * factor)
    assert wide.config.n_embd // wide.config.n_head == 8  # the head size is kept
    idx = np.random.default_rng(2).integers(0, 50, (3, 16))
    np.testing.assert_allclose(logits(wide, idx), logits(narrow, idx), rtol=1e-4, atol=1e-4)


def wte_copy_gradients(noise: float) -> tuple[np.ndarray, np.ndarray]:
    wide = widen(trained_looking(TINY), 2, noise=noise, seed=1)
    idx = np.random.default_rng(3).integers(0, 50, (2, 16))
    _, loss = wide(idx, np.roll(idx, -1, axis=1))
    loss.backward()
    grad = wide.wte.weight.grad
    grad = grad.data if isinstance(grad, tt.Tensor) else grad
    return grad[:, :16], grad[:, 16:]


def test_only_the_noise_lets_the_copies_come_apart():
    """Without noise both copies of every unit get the same gradient (the wide model would stay the narrow one);
    with it they differ from the first step."""
    first, second = wte_copy_gradients(noise=0.0)
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-7)
    first, second = wte_copy_gradients(noise=0.5)
    assert np.abs(first - second).max() > 1e-3 * np.abs(first).max()


def test_bad_arguments_are_refused():
    weights = trained_looking(TINY).weights()
    with pytest.raises(ValueError, match="factor must be an integer >= 2"):
        widen_weights(weights, TINY, 1)
    with pytest.raises(ValueError, match="noise must be a finite number"):
        widen_weights(weights, TINY, 2, noise=float("nan"))
    with pytest.raises(ValueError, match="no rule for weight 'extra.weight'"):
        widen_weights({**weights, "extra.weight": np.zeros((2, 2), np.float32)}, TINY, 2)


def test_the_command_writes_a_checkpoint_that_training_continues(tiny_dataset, tmp_path, capsys):
    base = tmp_path / "base"
    flags = [f"--data_dir={tiny_dataset}", "--n_layer=2", "--block_size=16", "--batch_size=4", "--warmup_steps=1",
             "--eval_interval=2", "--eval_batches=1", "--progress=false"]
    assert train_main([*flags, f"--out_dir={base}", "--n_head=2", "--n_embd=32", "--max_steps=2"]) == 0
    wide_path = tmp_path / "wide" / "init.safetensors"
    assert widen_main([str(base / "ckpt.safetensors"), str(wide_path)]) == 0
    assert "width 64, 4 heads" in capsys.readouterr().out
    narrow, wide = load_model(base / "ckpt.safetensors")[0], load_model(wide_path)[0]
    idx = np.random.default_rng(4).integers(0, narrow.config.vocab_size, (2, 16))
    np.testing.assert_allclose(logits(wide, idx), logits(narrow, idx), rtol=1e-4, atol=1e-4)
    assert train_main([*flags, f"--out_dir={tmp_path / 'grown'}", "--n_head=4", "--n_embd=64", "--max_steps=2",
                       f"--init_from={wide_path}"]) == 0
    assert (tmp_path / "grown" / "ckpt.safetensors").is_file()
    # resumed with the narrow model still named as init_from (as a config file shared by both runs names it): the
    # checkpoint has the weights, init_from is not read
    assert train_main([*flags, f"--out_dir={tmp_path / 'grown'}", "--n_head=4", "--n_embd=64", "--max_steps=3",
                       f"--init_from={base / 'ckpt.safetensors'}", "--resume"]) == 0
    assert load_model(tmp_path / "grown" / "ckpt.safetensors")[1]["step"] == 3


def test_the_command_refuses_bad_input_in_one_line(tmp_path, release, capsys):
    with pytest.raises(SystemExit) as exited:
        widen_main([str(release), str(tmp_path / "w.safetensors"), "--factor", "1"])
    assert exited.value.code == 2
    assert "--factor must be an integer >= 2" in capsys.readouterr().err
    assert widen_main([str(tmp_path / "missing.safetensors"), str(tmp_path / "w.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checkpoint not found" in err
    assert not (tmp_path / "w.safetensors").exists()
    (tmp_path / "w.safetensors").write_text("a user's file")
    assert widen_main([str(release), str(tmp_path / "w.safetensors")]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert (tmp_path / "w.safetensors").read_text() == "a user's file"
    assert widen_main([str(release), str(tmp_path / "w.safetensors"), "--force"]) == 0
