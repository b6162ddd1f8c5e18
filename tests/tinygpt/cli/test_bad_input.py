"""Bad input, class by class: every non-finite or out-of-range setting is refused with a message naming it, a model
that produces non-finite logits stops generation with one line, settings that would need too much memory fail
before anything is allocated, every `tinygpt` command reports a bad argument in one style, and `tinygpt generate`
survives its output and input going away. Tiny models only (the `release` fixture of conftest.py)."""

from __future__ import annotations

import dataclasses
import io
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinytorch as tt
from tests.helpers import REPO, train_config
from tinygpt import cli
from tinygpt import generate as generate_module
from tinygpt.checkpoint import load_model, save_checkpoint
from tinygpt.cli import eval_suite
from tinygpt.cli import generate as generate_command
from tinygpt.generate import generate, load_generator
from tinygpt.train.config import ConfigError, TrainConfig, build_config
from tinytorch import optim
from tinytorch.generation import (
    STRATEGIES,
    Decoder,
    GenerationConfig,
    GenerationConfigError,
    GenerationError,
    LogitsProcessor,
    VocabularyLimit,
)
from tinytorch.generation import generate as generate_ids

VOCAB = 11


def fixed_decoder(logits_row: np.ndarray, **options) -> Decoder:
    """A Decoder whose model always returns `logits_row` (V,) for every row."""

    def step(tokens: np.ndarray, kv_caches) -> np.ndarray:
        return np.tile(np.asarray(logits_row, dtype=np.float32), (tokens.shape[0], 1))

    return Decoder(step, context_length=16, **options)


def tinygpt_command(*args: str, shell_suffix: str = "", stdin: bytes | None = b"") -> subprocess.CompletedProcess:
    """`python -m tinygpt ARGS SHELL_SUFFIX` through bash (for redirections such as `2>&-`), from the repo root."""
    command = " ".join([sys.executable, "-m", "tinygpt", *(f"'{a}'" for a in args), shell_suffix])
    return subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, cwd=REPO, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)})


# ---- 1. generation settings: finite and in range ----------------------------------------------------------------

@pytest.mark.parametrize("settings, message", [
    (dict(strategy="sample", temperature=1e-50), "temperature must be in [0.0001, 10000]"),
    (dict(strategy="sample", temperature=1e39), "temperature must be in [0.0001, 10000]"),
    (dict(strategy="sample", temperature=math.inf), "temperature must be a finite number, got inf"),
    (dict(strategy="sample", temperature=math.nan), "temperature must be a finite number, got nan"),
    (dict(repetition_penalty=1e-50), "repetition_penalty must be in [0.0001, 10000]"),
    (dict(repetition_penalty=math.nan), "repetition_penalty must be a finite number"),
    (dict(strategy="beam", num_beams=2, length_penalty=math.nan), "length_penalty must be a finite number"),
    (dict(strategy="beam", num_beams=2, length_penalty=-math.inf), "length_penalty must be a finite number"),
    (dict(strategy="beam", num_beams=2, length_penalty=50.0, max_new_tokens=64), "length_penalty must be within"),
    (dict(strategy="sample", top_p=math.nan), "top_p must be a finite number"),
    (dict(strategy="sample", min_p=math.nan), "min_p must be a finite number"),
    (dict(strategy="sample", top_k=2.5), "top_k must be an integer"),
    (dict(max_new_tokens=8.0), "max_new_tokens must be an integer"),
    (dict(strategy="beam", num_beams=True), "num_beams must be an integer"),
    (dict(strategy="sample", seed=-1), "seed must be >= 0"),
    (dict(eos_token_id=-3), "eos_token_id must be >= 0"),
])
def test_non_finite_and_degenerate_settings_are_refused(settings, message):
    with pytest.raises(GenerationConfigError) as error:
        GenerationConfig(**settings).validate()
    assert message in str(error.value)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_non_finite_logits_stop_generation(strategy):
    decoder = fixed_decoder(np.full(VOCAB, np.nan))
    config = GenerationConfig(strategy=strategy, max_new_tokens=4, **({"num_beams": 2} if strategy == "beam" else {}))
    with pytest.raises(GenerationError, match="NaN or infinity"):
        generate_ids(decoder, np.array([[1, 2]]), config)


class RuleOutEverything(LogitsProcessor):
    def __call__(self, input_ids, scores):
        return np.full_like(scores, -np.inf)


@pytest.mark.parametrize("strategy", ["greedy", "sample"])
def test_nothing_left_to_choose_is_an_error_not_token_zero(strategy):
    decoder = fixed_decoder(np.arange(VOCAB, dtype=np.float32))
    with pytest.raises(GenerationError, match="every token is ruled out"):
        generate_ids(decoder, np.array([[1]]), GenerationConfig(strategy=strategy, max_new_tokens=3),
                     constraints=[RuleOutEverything()])


def test_prompt_ids_outside_the_vocabulary_are_refused():
    decoder = fixed_decoder(np.zeros(VOCAB), vocab_size=VOCAB)
    with pytest.raises(GenerationError, match="token id 12 is outside the model's vocabulary of 11 tokens"):
        generate_ids(decoder, np.array([[3, 12]]), GenerationConfig(max_new_tokens=2))
    with pytest.raises(GenerationError, match="token ids must be >= 0, got -1"):
        generate_ids(decoder, np.array([[-1]]), GenerationConfig(max_new_tokens=2))


def test_ids_beyond_the_tokenizer_are_never_generated(release, monkeypatch):
    """A model with a padded embedding table whose favourite token has no text: generation skips it."""
    model, tokenizer = load_generator(release)
    padded_vocab = tokenizer.vocab_size + 8
    favourite = np.zeros(padded_vocab, dtype=np.float32)
    favourite[-1] = 100.0  # an id the tokenizer cannot decode
    model.config = dataclasses.replace(model.config, vocab_size=padded_vocab)
    monkeypatch.setattr(generate_module, "gpt_decoder", lambda model, use_cache=True: fixed_decoder(favourite))
    completion = generate(model, tokenizer, "x = ", GenerationConfig(max_new_tokens=5))[0]
    assert max(completion.tokens) < tokenizer.vocab_size
    assert VocabularyLimit(3)(np.zeros((1, 1)), np.zeros((1, 5), dtype=np.float32)).tolist() == \
        [[0, 0, 0, -np.inf, -np.inf]]


@pytest.fixture(scope="module")
def nan_release(release, tmp_path_factory) -> Path:
    """The tiny release with NaN in one weight, as a diverged training run leaves it."""
    directory = tmp_path_factory.mktemp("nan_release")
    model, _, _ = load_model(release)
    next(iter(model.parameters())).data[0] = np.nan
    shutil.copyfile(release.with_name("tokenizer.json"), directory / "tokenizer.json")
    save_checkpoint(directory / "model.safetensors", model, {"tokenizer": "tokenizer.json"})
    return directory / "model.safetensors"


def test_a_checkpoint_with_nan_weights_is_one_line_and_exit_1(capsys, nan_release):
    code = generate_command.main(["--checkpoint", str(nan_release), "--prompt", "def f(x):", "--max-new-tokens", "4"])
    captured = capsys.readouterr()
    assert code == 1 and "\0" not in captured.out
    assert captured.err.count("\n") == 1 and "holds NaN or infinity" in captured.err


@pytest.mark.parametrize("argv, message", [
    (["--temperature", "1e-50"], "--temperature must be in [0.0001, 10000]"),
    (["--temperature", "inf"], "--temperature must be a finite number"),
    (["--repetition-penalty", "1e-50"], "--repetition-penalty must be in"),
    (["--num-beams", "4", "--length-penalty", "nan"], "--length-penalty must be a finite number"),
    (["--seed", "-1"], "--seed must be >= 0"),
])
def test_generate_command_refuses_degenerate_settings(capsys, release, argv, message):
    code = generate_command.main(["--checkpoint", str(release), "--prompt", "x", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("tinygpt generate: error: ") and message in err


# ---- 2. optimizers and the training config ---------------------------------------------------------------------

def parameters():
    return [tt.randn(3, 2, requires_grad=True)]


@pytest.mark.parametrize("make, message", [
    (lambda: optim.SGD(parameters(), lr=math.nan), "SGD: lr must be >= 0 and finite, got nan"),
    (lambda: optim.Adam(parameters(), lr=math.inf), "Adam: lr must be >= 0 and finite, got inf"),
    (lambda: optim.AdamW(parameters(), lr=-1.0), "AdamW: lr must be >= 0"),
    (lambda: optim.Adam(parameters(), betas=(2, 0.9)), "Adam: betas[0] must be in [0, 1) and finite, got 2"),
    (lambda: optim.AdamW(parameters(), betas=(0.9, 1.0)), "betas[1] must be in [0, 1)"),
    (lambda: optim.AdamW(parameters(), betas=(0.9, math.nan)), "betas[1] must be in [0, 1)"),
    (lambda: optim.Adam(parameters(), betas=(0.9,)), "betas must be a pair"),
    (lambda: optim.Adam(parameters(), eps=math.nan), "eps must be >= 0 and finite"),
    (lambda: optim.SGD(parameters(), momentum=-1), "SGD: momentum must be in [0, 1)"),
    (lambda: optim.SGD(parameters(), momentum=math.inf), "SGD: momentum must be in [0, 1)"),
    (lambda: optim.SGD(parameters(), weight_decay=-5), "weight_decay must be >= 0"),
    (lambda: optim.AdamW(parameters(), weight_decay=math.nan), "weight_decay must be >= 0 and finite"),
    (lambda: optim.AdamW([{"params": parameters(), "lr": math.nan}]), "AdamW: lr must be >= 0 and finite"),
    (lambda: optim.Muon(parameters(), lr=math.nan), "Muon: lr must be >= 0 and finite, got nan"),
    (lambda: optim.Muon(parameters(), momentum=1.0), "Muon: momentum must be in [0, 1)"),
    (lambda: optim.Muon(parameters(), ns_steps=0), "Muon: ns_steps must be a whole number in [1, 99], got 0"),
    (lambda: optim.Muon(parameters(), ns_steps=2.5), "Muon: ns_steps must be a whole number"),
    (lambda: optim.Muon(parameters(), ns_coefficients=(1, math.inf, 1)), "ns_coefficients[1] must be a number"),
    (lambda: optim.Muon(parameters(), ns_coefficients=(1, 2)), "ns_coefficients must be three numbers"),
    (lambda: optim.Muon(parameters(), adjust_lr_fn="rms"), "Muon: adjust_lr_fn must be one of"),
    (lambda: optim.Muon([tt.randn(3, requires_grad=True)]), "Muon: only 2-D weight matrices, got a parameter of shape"),
])
def test_optimizer_hyper_parameters_are_checked(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)


def test_a_loaded_optimizer_state_is_checked_too():
    optimizer = optim.AdamW(parameters())
    state = optimizer.state_dict()
    state["param_groups"][0]["lr"] = math.nan
    with pytest.raises(ValueError, match="lr must be >= 0 and finite"):
        optim.AdamW(parameters()).load_state_dict(state)


@pytest.mark.parametrize("max_norm", [math.nan, math.inf, -1.0, 0.0])
def test_clip_grad_norm_refuses_a_non_finite_or_non_positive_max_norm(max_norm):
    weight = tt.randn(3, requires_grad=True)
    (weight * weight).sum().backward()
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0"):
        optim.clip_grad_norm_([weight], max_norm)


@pytest.mark.parametrize("flag, message", [
    ("--lr=nan", "lr must be a finite number, got nan"),
    ("--lr=inf", "lr must be a finite number, got inf"),
    ("--min_lr_ratio=nan", "min_lr_ratio must be a finite number"),
    ("--min_lr_ratio=1.5", "min_lr_ratio must be in [0, 1]"),
    ("--time_budget_minutes=nan", "time_budget_minutes must be a finite number"),
    ("--time_budget_minutes=-1", "time_budget_minutes must be >= 0"),
    ("--beta1=2", "beta1 must be in [0, 1)"),
    ("--beta2=1", "beta2 must be in [0, 1)"),
    ("--weight_decay=-5", "weight_decay must be >= 0"),
    ("--grad_clip=-1", "grad_clip must be >= 0"),
    ("--warmup_steps=-10", "warmup_steps must be >= 0"),
    ("--eval_batches=0", "eval_batches must be >= 1"),
    ("--eval_interval=0", "eval_interval must be >= 1"),
    ("--checkpoint_interval=0", "checkpoint_interval must be >= 1"),
    ("--seed=-1", "seed must be >= 0"),
    ("--out_dir=", "out_dir must name a directory"),
])
def test_train_config_values_out_of_range_are_refused(flag, message):
    with pytest.raises(ConfigError) as error:
        train_config([flag])
    assert message in str(error.value)


def test_every_float_key_of_the_train_config_must_be_finite():
    for field in dataclasses.fields(TrainConfig):
        if isinstance(field.default, float):
            with pytest.raises(ConfigError, match=f"^{field.name} must be a finite number"):
                build_config({field.name: "nan"})


def test_config_files_with_nan_or_bad_encoding_are_refused(tmp_path):
    with_nan = tmp_path / "nan.json"
    with_nan.write_text('{"lr": NaN}')
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        train_config([str(with_nan)])
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"out_dir": "caf\xe9"}')
    with pytest.raises(ConfigError, match="cannot read config file"):
        train_config([str(latin1)])


# ---- 3. memory: refused before anything is allocated ------------------------------------------------------------

def test_settings_over_the_memory_budget_fail_before_the_model_runs():
    def step(tokens, kv_caches):
        raise AssertionError("the model ran: the memory check came too late")

    decoder = Decoder(step, context_length=16, row_bytes=1_000_000, memory_budget=100_000_000)
    with pytest.raises(GenerationConfigError, match="^num_beams 5000 needs about"):
        generate_ids(decoder, np.array([[1]]), GenerationConfig(strategy="beam", num_beams=5000))
    with pytest.raises(GenerationConfigError, match="^num_return_sequences 500 needs about"):
        generate_ids(decoder, np.array([[1]]), GenerationConfig(strategy="sample", num_return_sequences=500))
    with pytest.raises(GenerationConfigError, match="^max_new_tokens 10000000000 needs about"):
        generate_ids(decoder, np.array([[1]]), GenerationConfig(max_new_tokens=10**10))


def test_too_many_beams_is_one_line_naming_the_option(capsys, release):
    code = generate_command.main(["--checkpoint", str(release), "--prompt", "x", "--num-beams", str(10**7)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("tinygpt generate: error: --num-beams 10000000 needs")


# ---- 4. one argument-error style for every command --------------------------------------------------------------

@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_has_help_and_one_line_argument_errors(capsys, command):
    assert cli.main([command, "--help"]) == 0
    assert capsys.readouterr().out.strip()
    assert cli.main([command, "--no-such-option"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"tinygpt {command}: error: "), captured.err
    assert "no-such-option" in captured.err or "required" in captured.err, captured.err


def test_an_output_file_that_cannot_be_written_is_refused_before_the_run(capsys, release, tmp_path):
    (tmp_path / "file").write_text("")
    code = eval_suite.main(["--checkpoint", str(release), "--json", str(tmp_path / "file" / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "argument --json: cannot write" in err and "is a file" in err


# ---- 5. I/O faults ----------------------------------------------------------------------------------------------

class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_leaves_ends_generation_quietly(capsys, release, monkeypatch):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    code = generate_command.main(["--checkpoint", str(release), "--prompt", "def f(x):", "--max-new-tokens", "4"])
    assert code == 141 and capsys.readouterr().err == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_on_stdout_is_one_line_and_exit_1(release):
    result = tinygpt_command("generate", "--checkpoint", str(release), "--prompt", "def f(x):", "--max-new-tokens",
                             "4", shell_suffix="> /dev/full")
    assert result.returncode == 1, result.stderr
    assert result.stderr.decode() == "tinygpt generate: error: cannot write the output: No space left on device\n"


def test_closed_stderr_is_no_crash_and_errors_never_reach_stdout(release):
    ok = tinygpt_command("generate", "--checkpoint", str(release), "--prompt", "def f(x):", "--max-new-tokens", "4",
                         shell_suffix="2>&-")
    assert ok.returncode == 0 and ok.stdout.startswith(b"def f(x):")
    bad = tinygpt_command("generate", "--checkpoint", str(release), "--top-p", "7", "--prompt", "x",
                          shell_suffix="2>&-")
    assert bad.returncode == 2 and bad.stdout == b""


@pytest.mark.parametrize("shell_suffix, stdin, message", [
    ("0<&-", None, "no prompt: pass --prompt"),
    ("", b"", "the prompt is empty"),
    ("", b"\xff\xfe def", "the prompt on stdin is not UTF-8 text"),
])
def test_stdin_closed_empty_or_not_text_is_one_line(release, shell_suffix, stdin, message):
    result = tinygpt_command("generate", "--checkpoint", str(release), shell_suffix=shell_suffix, stdin=stdin)
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1 and message in err, err


def test_train_flags_are_checked_in_the_same_style(capsys):
    assert cli.main(["train", "--lr=nan"]) == 2
    assert capsys.readouterr().err == "tinygpt train: error: lr must be a finite number, got nan\n"
