"""The cases of the fault-injection run (`fault_injection.py`), one declarative entry each, by command: bad arguments,
non-finite and out-of-range values, damaged files, I/O faults, signals and huge inputs. `fault_fixtures.py` says what
an entry holds and provides the setups and checks; `quick=True` marks the subset of `--quick` (and of
tests/tinygpt/cli/test_fault_injection.py).
"""

from __future__ import annotations

import json
import os

import numpy as np
from fault_fixtures import (
    STDLIB,
    TRAIN_FLAGS,
    Case,
    absent,
    absent_temporaries,
    bf16_file,
    both,
    char_tokenizer,
    config_over_val_split,
    copy,
    del_key,
    edit_checkpoint,
    edit_header,
    edit_json,
    exists,
    fifo,
    hold_lock,
    json_value,
    no_nul,
    prepared_files,
    prints,
    readonly,
    remove,
    saved_checkpoint,
    set_key,
    steps,
    truncate,
    unreadable,
    write,
)

COMMANDS = ["prepare", "train", "generate", "evaluate", "eval-functions", "eval-suite", "eval-humaneval", "bench",
            "export-hf", "import-hf"]


def gen(*args: str) -> list[str]:
    return ["generate", "--checkpoint", "{ckpt}", "--max-new-tokens", "4", *args]


def train(*args: str) -> list[str]:
    """A tiny run into CASE/run, 3 steps unless `args` say otherwise (later flags win)."""
    return ["train", "--data_dir={data}", "--out_dir={case}/run", *TRAIN_FLAGS, "--max_steps=3", *args]


def prep(*args: str, source: str = "{src}") -> list[str]:
    return ["prepare", "--source", source, "--out", "{case}/out", "--vocab-size", "280", "--val-fraction", "0.3",
            "--no-benchmark-check", *args]


SIGNALLED_PREPARE = prep("--out", "{case}/data", "--vocab-size", "3000", source="{bigsrc}")  # a copy of the dataset


PROMPT = ["--prompt", "def f(x):"]
REL = "{case}/rel/model.safetensors"
CATASTROPHIC = r"(a|aa)+$"  # a pre-tokenizer pattern that backtracks exponentially on a run of a's
DROPPING = r"[a-z]+"  # one that drops every character but lowercase letters
NESTED = "[" * 100_000 + "]" * 100_000  # JSON nested 100,000 deep
EDITED = set_key("comment", "edited")  # a tokenizer that reads the same, with another SHA-256


def shrink_optimizer_state(tensors: dict) -> None:
    """Cut the first parameter's first optimizer tensor (Muon's momentum buffer, or AdamW's exp_avg) to one row."""
    name = min(key for key in tensors if key.startswith("optimizer.0."))
    tensors[name] = tensors[name][:1]


def huge_embedding(header: dict) -> None:
    header["model.wte.weight"]["shape"] = [40000, 40000]


def integer_weights(tensors: dict) -> None:
    tensors.update({name: array.astype(np.int32) for name, array in tensors.items() if name.startswith("model.")})


def pattern(regex: str):
    """A copy of the fixture tokenizer as CASE/t.json whose pre-tokenizer pattern is `regex`."""
    return steps(copy("tok", "t.json"), edit_json("t.json", set_key("pattern", regex)))


UNRECORDED = steps(copy("rel", "rel"), edit_checkpoint("rel/model.safetensors", del_key("tokenizer_sha256")))
"""A release written before checkpoints recorded their tokenizer's SHA-256: any tokenizer given is loaded."""


def cli_cases() -> list[Case]:
    cases = [Case("cli/no-arguments", [], codes=(2,), lines=None, quick=True),
             Case("cli/unknown-command", ["frobnicate"], quick=True)]
    for command in COMMANDS:
        quick = command in ("generate", "import-hf")
        cases.append(Case(f"cli/{command}-help", [command, "--help"], "ok", check=prints("-"), quick=quick))
        cases.append(Case(f"cli/{command}-unknown-option", [command, "--no-such-option"], codes=(2,), quick=quick))
    return cases


def generate_cases() -> list[Case]:
    bad_values = {
        "temperature-negative": ["--temperature", "-1"], "temperature-zero": ["--temperature", "0"],
        "temperature-nan": ["--temperature", "nan"], "temperature-inf": ["--temperature", "inf"],
        "temperature-tiny": ["--temperature", "1e-50"], "temperature-huge": ["--temperature", "1e39"],
        "temperature-text": ["--temperature", "warm"], "top-p-zero": ["--top-p", "0"], "top-p-seven": ["--top-p", "7"],
        "top-p-nan": ["--top-p", "nan"], "top-p-negative": ["--top-p", "-0.1"], "top-k-negative": ["--top-k", "-1"],
        "top-k-float": ["--top-k", "2.5"], "min-p-two": ["--min-p", "2"], "min-p-nan": ["--min-p", "nan"],
        "repetition-penalty-zero": ["--repetition-penalty", "0"],
        "repetition-penalty-nan": ["--repetition-penalty", "nan"],
        "repetition-penalty-tiny": ["--repetition-penalty", "1e-50"],
        "repetition-penalty-inf": ["--repetition-penalty", "inf"], "num-beams-zero": ["--num-beams", "0"],
        "num-beams-negative": ["--num-beams", "-2"],
        "length-penalty-nan": ["--num-beams", "2", "--length-penalty", "nan"],
        "length-penalty-inf": ["--num-beams", "2", "--length-penalty=-inf"],
        "return-sequences-zero": ["--num-return-sequences", "0"],
        "return-sequences-over-beams": ["--num-beams", "2", "--num-return-sequences", "5"],
        "max-new-tokens-zero": ["--max-new-tokens", "0"], "max-new-tokens-negative": ["--max-new-tokens", "-5"],
        "max-new-tokens-huge": ["--max-new-tokens", "10000000000"], "seed-negative": ["--seed", "-1"],
        "no-repeat-ngram-negative": ["--no-repeat-ngram-size", "-1"], "strategy-unknown": ["--strategy", "bogus"],
        "early-stopping-unknown": ["--num-beams", "2", "--early-stopping", "maybe"],
        "stop-empty-string": ["--stop", ""], "num-beams-ten-million": ["--num-beams", "10000000"],
        "shipped-model-num-beams-5000": ["--checkpoint", "{shipped}", "--num-beams", "5000"],
        "shipped-model-return-sequences-100000": ["--checkpoint", "{shipped}", "--num-return-sequences", "100000"],
    }
    quick_values = {"temperature-nan", "top-p-seven", "shipped-model-num-beams-5000", "max-new-tokens-huge",
                    "max-new-tokens-zero"}
    cases = [Case(f"generate/{name}", gen(*PROMPT, *args), quick=name in quick_values, timeout=30)
             for name, args in bad_values.items()]
    cases += [
        Case("generate/prompt-and-prompt-file", gen(*PROMPT, "--prompt-file", "{case}/p.py"), setup=write("p.py", "x")),
        Case("generate/prompt-file-missing", gen("--prompt-file", "{case}/none.py")),
        Case("generate/prompt-file-directory", gen("--prompt-file", "{case}")),
        Case("generate/prompt-file-not-utf8", gen("--prompt-file", "{case}/p.py"), setup=write("p.py", b"\xff\xfe x")),
        Case("generate/prompt-file-empty", gen("--prompt-file", "{case}/p.py"), setup=write("p.py", "")),
        Case("generate/prompt-blank", gen("--prompt", "   ")),
        Case("generate/unconditional-and-prompt", gen(*PROMPT, "--unconditional")),
        Case("generate/greedy-with-temperature", gen(*PROMPT, "--strategy", "greedy", "--temperature", "0.5"),
             "either"),
        # checkpoints
        Case("generate/checkpoint-missing", gen(*PROMPT, "--checkpoint", "{case}/none.safetensors"), quick=True),
        Case("generate/checkpoint-directory", gen(*PROMPT, "--checkpoint", "{case}")),
        Case("generate/checkpoint-empty", gen(*PROMPT, "--checkpoint", "{case}/m.safetensors"),
             setup=write("m.safetensors", b"")),
        Case("generate/checkpoint-garbage", gen(*PROMPT, "--checkpoint", "{case}/m.safetensors"),
             setup=write("m.safetensors", bytes(range(256)) * 4)),
        Case("generate/checkpoint-truncated", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), truncate("rel/model.safetensors", 0.5)), quick=True),
        Case("generate/checkpoint-truncated-header", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), truncate("rel/model.safetensors", 20))),
        Case("generate/checkpoint-header-size-huge", gen(*PROMPT, "--checkpoint", "{case}/m.safetensors"),
             setup=write("m.safetensors", (2**62).to_bytes(8, "little") + b"{}")),
        Case("generate/checkpoint-not-tinygpt", gen(*PROMPT, "--checkpoint", "{hf}/model.safetensors")),
        Case("generate/checkpoint-metadata-not-json", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint("rel/model.safetensors", lambda d: "{not json"))),
        Case("generate/checkpoint-no-model-config", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint("rel/model.safetensors", del_key("model_config")))),
        Case("generate/checkpoint-model-config-list", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint("rel/model.safetensors", set_key("model_config", [1])))),
        Case("generate/checkpoint-vocab-negative", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint(
                 "rel/model.safetensors", set_key("model_config.vocab_size", -5)))),
        Case("generate/checkpoint-heads-not-dividing", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint(
                 "rel/model.safetensors", set_key("model_config.n_head", 3)))),
        Case("generate/checkpoint-config-string", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint(
                 "rel/model.safetensors", set_key("model_config.n_layer", "one")))),
        Case("generate/checkpoint-billion-layers", gen(*PROMPT, "--checkpoint", REL), timeout=30, quick=True,
             setup=steps(copy("rel", "rel"), edit_checkpoint(
                 "rel/model.safetensors", set_key("model_config.n_layer", 10**9)))),
        Case("generate/checkpoint-huge-vocab", gen(*PROMPT, "--checkpoint", REL), timeout=30,
             setup=steps(copy("rel", "rel"), edit_checkpoint(
                 "rel/model.safetensors", set_key("model_config.vocab_size", 10**12)))),
        Case("generate/checkpoint-wrong-shape", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint(
                 "rel/model.safetensors", tensors=lambda t: t.__setitem__(sorted(t)[0], np.zeros((3, 5), "f4"))))),
        Case("generate/checkpoint-missing-tensor", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint("rel/model.safetensors",
                                                             tensors=lambda t: t.pop(sorted(t)[-1])))),
        Case("generate/checkpoint-extra-tensor", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint(
                 "rel/model.safetensors", tensors=lambda t: t.__setitem__("model.extra", np.zeros(3, "f4"))))),
        Case("generate/checkpoint-header-claims-huge-tensor", gen(*PROMPT, "--checkpoint", REL), timeout=30, quick=True,
             setup=steps(copy("rel", "rel"), edit_header("rel/model.safetensors", huge_embedding))),
        Case("generate/checkpoint-is-fifo", gen(*PROMPT, "--checkpoint", "{case}/m.safetensors"), timeout=30,
             setup=fifo("m.safetensors"), quick=True),
        Case("generate/checkpoint-int32-weights", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), edit_checkpoint("rel/model.safetensors", tensors=integer_weights))),
        Case("generate/checkpoint-nan-weights", gen(*PROMPT, "--checkpoint", "{nan}"), codes=(1,), quick=True),
        Case("generate/checkpoint-inf-weights", gen(*PROMPT, "--checkpoint", REL), codes=(1,),
             setup=steps(copy("rel", "rel"), edit_checkpoint(
                 "rel/model.safetensors", tensors=lambda t: t[sorted(t)[-1]].__setitem__(..., np.inf)))),
        # tokenizers
        Case("generate/tokenizer-missing", gen(*PROMPT, "--tokenizer", "{case}/none.json")),
        Case("generate/tokenizer-directory", gen(*PROMPT, "--tokenizer", "{case}")),
        Case("generate/tokenizer-empty", gen(*PROMPT, "--tokenizer", "{case}/t.json"), setup=write("t.json", "")),
        Case("generate/tokenizer-not-json", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=write("t.json", "{merges"), quick=True),
        Case("generate/tokenizer-list", gen(*PROMPT, "--tokenizer", "{case}/t.json"), setup=write("t.json", "[1, 2]")),
        Case("generate/tokenizer-not-utf8", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=write("t.json", b'{"format": "\xff"}')),
        Case("generate/tokenizer-other-format", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=write("t.json", '{"format": "sentencepiece"}')),
        Case("generate/tokenizer-bad-regex", gen(*PROMPT, "--tokenizer", "{case}/t.json"), quick=True,
             setup=steps(copy("tok", "t.json"), edit_json("t.json", set_key("pattern", "([a-z")))),
        Case("generate/tokenizer-merge-out-of-range", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=steps(copy("tok", "t.json"), edit_json("t.json", set_key("merges", [[0, 99999, 256]])))),
        Case("generate/tokenizer-merges-not-list", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=steps(copy("tok", "t.json"), edit_json("t.json", set_key("merges", "abc")))),
        Case("generate/tokenizer-merge-bools", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=steps(copy("tok", "t.json"), edit_json("t.json", set_key("merges", [[True, False, 256]])))),
        Case("generate/tokenizer-special-not-strings", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=steps(copy("tok", "t.json"), edit_json("t.json", set_key("special_tokens", [1, None])))),
        Case("generate/tokenizer-bigger-than-model", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=char_tokenizer("t.json", "".join(map(chr, range(256, 700))), ["<|endoftext|>"])),
        Case("generate/tokenizer-without-end-of-text", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=char_tokenizer("t.json", "abcdef(): ", [])),
        Case("generate/tokenizer-replaced-beside", gen(*PROMPT, "--checkpoint", REL), quick=True,
             setup=steps(copy("rel", "rel"), edit_json("rel/tokenizer.json", set_key("comment", "edited")))),
        Case("generate/tokenizer-beside-missing", gen(*PROMPT, "--checkpoint", REL),
             setup=steps(copy("rel", "rel"), remove("rel/tokenizer.json"))),
        Case("generate/tokenizer-explicit-other-sha256", gen(*PROMPT, "--tokenizer", "{case}/t.json"),
             setup=steps(copy("tok", "t.json"), edit_json("t.json", EDITED))),
        Case("generate/ok-tokenizer-explicit-matches-beside-replaced", gen(*PROMPT, "--checkpoint", REL,
                                                                           "--tokenizer", "{tok}"), "ok",
             setup=steps(copy("rel", "rel"), edit_json("rel/tokenizer.json", EDITED)), check=prints("def f(x):")),
        Case("generate/tokenizer-pattern-catastrophic", gen(*PROMPT, "--checkpoint", REL, "--tokenizer",
                                                            "{case}/t.json"),
             timeout=30, setup=steps(UNRECORDED, pattern(CATASTROPHIC))),
        Case("generate/tokenizer-pattern-drops-characters", gen(*PROMPT, "--checkpoint", REL, "--tokenizer",
                                                                "{case}/t.json"),
             setup=steps(UNRECORDED, pattern(DROPPING))),
        Case("generate/tokenizer-nested-100000-deep", gen(*PROMPT, "--checkpoint", REL, "--tokenizer", "{case}/t.json"),
             setup=steps(UNRECORDED, write("t.json", NESTED))),
        # what works
        Case("generate/ok-sample", gen(*PROMPT), "ok", check=both(prints("def f(x):"), no_nul), quick=True),
        Case("generate/ok-beam", gen(*PROMPT, "--num-beams", "2", "--num-return-sequences", "2"), "ok",
             check=prints("sequence 2")),
        Case("generate/ok-complete-function", gen(*PROMPT, "--complete-function"), "ok"),
        Case("generate/ok-unconditional", gen("--unconditional"), "ok"),
        Case("generate/ok-stdin-prompt", gen(), "ok", stdin=b"for i in", check=prints("for i in")),
        Case("generate/ok-interactive", gen("--interactive"), "ok", stdin=b"def g():\n\n", check=prints(">>>")),
        Case("generate/ok-no-cache-stop", gen(*PROMPT, "--no-cache", "--stop", "\\n"), "ok"),
        Case("generate/ok-batch-of-200-prompts", gen(*(["--prompt", "x = "] * 200), "--max-new-tokens", "2"), "ok"),
        Case("generate/ok-default-model", ["generate", "--prompt", "import os", "--max-new-tokens", "4"], "ok",
             check=prints("import os")),
        # I/O faults
        Case("generate/stdout-dev-full", gen(*PROMPT), shell="> /dev/full", codes=(1,), quick=True),
        Case("generate/stdout-dev-full-no-stream", gen(*PROMPT, "--no-stream"), shell="> /dev/full", codes=(1,)),
        Case("generate/stdout-closed", gen(*PROMPT), "either", shell=">&-", codes=(0, 1)),
        Case("generate/stderr-closed-ok", gen(*PROMPT), "ok", shell="2>&-", check=prints("def f(x):")),
        Case("generate/stderr-closed-bad-argument", gen(*PROMPT, "--top-p", "7"), shell="2>&-", codes=(2,),
             lines=None),
        Case("generate/stdin-closed-no-prompt", gen(), shell="0<&-", stdin=None, quick=True),
        Case("generate/stdin-closed-interactive", gen("--interactive"), "either", shell="0<&-", stdin=None),
        Case("generate/stdin-not-utf8", gen(), stdin=b"\xff\xfe def"),
        Case("generate/stdin-empty", gen(), stdin=b""),
        Case("generate/broken-pipe-stream", gen(*PROMPT, "--max-new-tokens", "40"), "pipe", shell="| head -c 1",
             quick=True),
        Case("generate/broken-pipe-beam", gen(*PROMPT, "--num-beams", "3", "--num-return-sequences", "3"), "pipe",
             shell="| head -c 1"),
        # huge inputs: must finish, fast
        Case("generate/prompt-50000-chars-one-line", gen("--prompt-file", "{case}/p.py", "--max-new-tokens", "2"),
             "ok", setup=write("p.py", "x" * 50_000), timeout=30, quick=True),
        Case("generate/prompt-10000-spaces", gen("--prompt-file", "{case}/p.py", "--max-new-tokens", "2"), "ok",
             setup=write("p.py", "def f():" + " " * 10_000), timeout=30),
        Case("generate/prompt-200000-mixed-chars", gen("--prompt-file", "{case}/p.py", "--max-new-tokens", "2"), "ok",
             setup=write("p.py", "".join(chr(33 + (i * 7919) % 5000) for i in range(200_000))), timeout=60),
        Case("generate/prompt-20000-lines", gen("--prompt-file", "{case}/p.py", "--max-new-tokens", "2"), "ok",
             setup=write("p.py", "x = 1\n" * 20_000), timeout=60),
        Case("generate/sigint-while-generating", gen(*PROMPT, "--max-new-tokens", "100000", "--no-cache"), "signal",
             signals=("SIGINT",), marker="stdout:def f(x):", codes=(130,), timeout=30),
    ]
    return cases


def script_cases() -> list[Case]:
    return [
        Case("generate.py/demo", ["generate.py"], "ok", check=prints("What this demonstrates"), timeout=180),
        Case("generate.py/bad-temperature", ["generate.py", "--temperature", "nan"], quick=True),
        Case("generate.py/checkpoint-missing", ["generate.py", "--checkpoint", "{case}/none.safetensors",
                                                "--prompt", "x"]),
        Case("generate.py/broken-pipe", ["generate.py", "--prompt", "def f(x):", "--max-new-tokens", "30"], "pipe",
             shell="| head -c 1"),
        Case("generate.py/stdout-dev-full", ["generate.py", "--prompt", "x", "--max-new-tokens", "2"],
             shell="> /dev/full", codes=(1,)),
        Case("train.py/lr-nan", ["train.py", "--lr=nan"], quick=True),
        Case("train.py/config-not-json", ["train.py", "{case}/c.json"], setup=write("c.json", "{lr: 1")),
        Case("train.py/ok-tiny-run", ["train.py", *train()[1:]], "ok", check=exists("{case}/run/ckpt.safetensors")),
        Case("train.py/stderr-closed", ["train.py", *train()[1:]], "ok", shell="2>&-",
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
        Case("train.py/stdout-closed", ["train.py", *train()[1:]], "ok", shell=">&-",
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
        Case("train.py/stdout-dev-full", ["train.py", *train()[1:]], "either", shell="> /dev/full",
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
        Case("train.py/sigint-saves-checkpoint", ["train.py", *train("--max_steps=100000")[1:]], "signal",
             signals=("SIGINT",), marker="file:{case}/run/ckpt.safetensors", codes=(130,),
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
    ]


def train_cases() -> list[Case]:
    bad_flags = {
        "lr-nan": "--lr=nan", "lr-inf": "--lr=inf", "lr-negative": "--lr=-1", "lr-zero": "--lr=0",
        "beta1-two": "--beta1=2", "beta2-one": "--beta2=1", "weight-decay-negative": "--weight_decay=-5",
        "grad-clip-negative": "--grad_clip=-1", "warmup-negative": "--warmup_steps=-10", "batch-size-zero":
        "--batch_size=0", "heads-not-dividing": "--n_head=3", "dropout-one": "--dropout=1", "dropout-nan":
        "--dropout=nan", "pos-encoding-unknown": "--pos_encoding=rotary", "unknown-key": "--n_layers=2",
        "flag-without-value": "--lr", "max-steps-text": "--max_steps=many", "bias-maybe": "--bias=maybe",
        "min-lr-ratio-over-one": "--min_lr_ratio=1.5", "time-budget-nan": "--time_budget_minutes=nan",
        "eval-interval-zero": "--eval_interval=0", "seed-negative": "--seed=-1", "out-dir-empty": "--out_dir=",
        "block-size-zero": "--block_size=0", "max-steps-float": "--max_steps=2.5", "time-limit-inf":
        "--time_limit_minutes=inf",
    }
    quick_flags = {"lr-nan", "beta1-two", "heads-not-dividing", "unknown-key"}
    cases = [Case(f"train/{name}", train(flag), quick=name in quick_flags) for name, flag in bad_flags.items()]
    cases += [
        Case("train/positional-argument-missing-file", train("{case}/none.json")),
        Case("train/config-not-json", train("{case}/c.json"), setup=write("c.json", "{not json")),
        Case("train/config-list", train("{case}/c.json"), setup=write("c.json", "[1, 2]")),
        Case("train/config-not-utf8", train("{case}/c.json"), setup=write("c.json", b'{"out_dir": "caf\xe9"}'),
             quick=True),
        Case("train/config-nan", train("{case}/c.json"), setup=write("c.json", '{"lr": NaN}')),
        Case("train/config-huge-int", train("{case}/c.json"), setup=write("c.json", '{"lr": 1' + "0" * 400 + "}")),
        Case("train/config-unknown-key", train("{case}/c.json"), setup=write("c.json", '{"layers": 2}')),
        Case("train/config-wrong-type", train("{case}/c.json"), setup=write("c.json", '{"lr": "fast"}')),
        Case("train/config-empty", train("{case}/c.json"), setup=write("c.json", "")),
        *[Case(f"train/config-{key}-nul-byte", train("{case}/c.json"),
               setup=write("c.json", f'{{"{key}": "a\\u0000"}}'))
          for key in ("release_dir", "init_from")],  # data_dir and out_dir: the harness's flags override the file
        Case("train/config-duplicate-key", train("{case}/c.json"), setup=write("c.json", '{"lr": 0.001, "lr": 0.1}')),
        Case("train/config-nested-100000-deep", train("{case}/c.json"), setup=write("c.json", NESTED)),
        Case("train/eval-batches-billion", train("--eval_batches=1000000000"), timeout=60,
             check=absent("{case}/run")),
        # huge sizes: refused or run out of memory with one line, never hang or crash
        Case("train/billion-layers", train("--n_layer=1000000000"), timeout=60, quick=True),
        Case("train/width-million", train("--n_embd=1048576", "--n_head=1"), timeout=60),
        Case("train/batch-hundred-million", train("--batch_size=100000000", "--max_steps=1"), timeout=60),
        # data
        Case("train/data-dir-missing", train("--data_dir={case}/none"), quick=True),
        Case("train/meta-without-dtype", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), edit_json("data/meta.json", del_key("dtype"))), quick=True),
        Case("train/meta-not-json", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), write("data/meta.json", "{"))),
        Case("train/meta-list", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), write("data/meta.json", "[]"))),
        Case("train/meta-vocab-text", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), edit_json("data/meta.json", set_key("vocab_size", "300")))),
        Case("train/meta-not-utf8", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), write("data/meta.json", b"\xff{}"))),
        Case("train/train-bin-missing", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), remove("data/train.bin"))),
        Case("train/train-bin-truncated", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), truncate("data/train.bin", 0.5))),
        Case("train/val-bin-empty", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), truncate("data/val.bin", 0))),
        Case("train/token-ids-over-vocab", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), edit_json("data/meta.json", set_key("vocab_size", 100)))),
        Case("train/tokenizer-missing-from-data", train("--data_dir={case}/data"),
             setup=steps(copy("data", "data"), remove("data/tokenizer.json"))),
        Case("train/tokenizer-corrupt-in-data", train("--data_dir={case}/data", "--max_steps=1"),
             setup=steps(copy("data", "data"), write("data/tokenizer.json", "{"))),
        Case("train/block-size-over-data", train("--block_size=100000"), quick=True),
        Case("train/block-size-over-val-split", ["train", "{case}/c.json", "--data_dir={data}", "--out_dir={case}/run"],
             setup=config_over_val_split("c.json")),
        # outputs
        Case("train/out-dir-under-file", train("--out_dir={case}/f/run"), setup=write("f", "x"), quick=True),
        Case("train/out-dir-is-file", train("--out_dir={case}/f"), setup=write("f", "x")),
        Case("train/out-dir-read-only", train("--out_dir={case}/ro/run"), setup=readonly("ro"), readonly=True),
        Case("train/release-dir-is-file", train("--release_dir={case}/f", "--max_steps=3"), setup=write("f", "x"),
             protect=("{case}/f",)),
        Case("train/release-dir-is-out-dir", train("--release_dir={case}/run")),
        Case("train/release-dir-holds-other-files", train("--release_dir={case}/mine", "--max_steps=3"),
             setup=write("mine/notes.txt", "keep me"), protect=("{case}/mine",), quick=True),
        Case("train/release-dir-is-data-dir", train("--release_dir={data}", "--max_steps=3")),
        Case("train/release-dir-holds-hidden-file", train("--release_dir={case}/rel"),
             setup=steps(copy("rel", "rel"), write("rel/.gitattributes", "*.safetensors filter=lfs\n")),
             protect=("{case}/rel",), check=absent("{case}/run/ckpt.safetensors")),
        Case("train/out-dir-locked", train("--max_steps=3"), setup=hold_lock("run"), quick=True),
        Case("train/stale-temporaries-removed", train("--max_steps=3"), "ok",
             setup=write("run/.ckpt.safetensors.tmp-999999", b"\0" * 1000),
             check=both(absent("{case}/run/.ckpt.safetensors.tmp-999999"), exists("{case}/run/ckpt.safetensors"))),
        # resume
        Case("train/resume-without-checkpoint", train("--resume"), quick=True),
        Case("train/resume-truncated-checkpoint", train("--resume"),
             setup=steps(copy("run", "run"), truncate("run/ckpt.safetensors", 0.5))),
        Case("train/resume-without-step", train("--resume"),
             setup=steps(copy("run", "run"), edit_checkpoint("run/ckpt.safetensors", del_key("step")))),
        Case("train/resume-without-optimizer", train("--resume"),
             setup=steps(copy("run", "run"), edit_checkpoint("run/ckpt.safetensors", del_key("optimizer")))),
        Case("train/resume-optimizer-malformed", train("--resume"),
             setup=steps(copy("run", "run"), edit_checkpoint(
                 "run/ckpt.safetensors", set_key("optimizer.param_groups", "x")))),
        Case("train/resume-rng-malformed", train("--resume"),
             setup=steps(copy("run", "run"), edit_checkpoint("run/ckpt.safetensors", set_key("data_rng", 5)))),
        Case("train/resume-step-text", train("--resume"),
             setup=steps(copy("run", "run"), edit_checkpoint("run/ckpt.safetensors", set_key("step", "six")))),
        Case("train/resume-history-not-list", train("--resume", "--max_steps=8"),
             setup=steps(copy("run", "run"), edit_checkpoint("run/ckpt.safetensors", set_key("history", 7)))),
        Case("train/resume-from-release", train("--resume"), setup=copy("ckpt", "run/ckpt.safetensors")),
        Case("train/resume-optimizer-wrong-shape", train("--resume", "--max_steps=8"),
             setup=steps(copy("run", "run"), edit_checkpoint("run/ckpt.safetensors", tensors=shrink_optimizer_state)),
             protect=("{case}/run/ckpt.safetensors",)),
        Case("train/resume-step-1e30", train("--resume", "--max_steps=8"), timeout=30,
             setup=steps(copy("run", "run"), edit_checkpoint("run/ckpt.safetensors", set_key("step", 10**30)))),
        Case("train/resume-int32-weights", train("--resume", "--max_steps=8"),
             setup=steps(copy("run", "run"), edit_checkpoint("run/ckpt.safetensors", tensors=integer_weights))),
        Case("train/resume-diverging-keeps-healthy", train("--resume", "--max_steps=10", "--lr=1e3", "--grad_clip=0",
                                                           "--checkpoint_interval=1", "--eval_interval=1",
                                                           "--release_dir={case}/rel"),
             codes=(1,), setup=copy("run", "run"), protect=("{case}/run/healthy.safetensors",),
             check=absent("{case}/rel"), quick=True),
        Case("train/resume-other-architecture", train("--resume", "--n_layer=2"), setup=copy("run", "run")),
        Case("train/resume-dataset-prepared-again", train("--resume", "--data_dir={case}/data"),
             setup=steps(copy("run", "run"), copy("data", "data"),
                         edit_json("data/tokenizer.json", set_key("comment", "edited")))),
        Case("train/resume-nan-checkpoint", train("--resume", "--max_steps=8"), codes=(1,),
             setup=steps(copy("run", "run"), edit_checkpoint(
                 "run/ckpt.safetensors", tensors=lambda t: t[sorted(t)[0]].__setitem__(..., np.nan))),
             protect=("{case}/run/ckpt.safetensors",)),
        Case("train/ok-resume", train("--resume", "--max_steps=8"), "ok", setup=copy("run", "run"),
             check=saved_checkpoint("run/ckpt.safetensors", 8)),
        # I/O faults
        Case("train/stderr-closed", train("--max_steps=3"), "ok", shell="2>&-",
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
        Case("train/stdout-dev-full", train("--max_steps=3"), "either", shell="> /dev/full",
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
        Case("train/stdin-closed", train("--max_steps=3"), "ok", shell="0<&-", stdin=None),
        Case("train/stdout-closed", train("--max_steps=3"), "ok", shell=">&-",
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
        # signals
        Case("train/sigint-saves-checkpoint", train("--max_steps=100000"), "signal", signals=("SIGINT",),
             marker="file:{case}/run/ckpt.safetensors", codes=(130,), check=saved_checkpoint("run/ckpt.safetensors", 3),
             quick=True),
        Case("train/sigterm-saves-checkpoint", train("--max_steps=100000"), "signal", signals=("SIGTERM",),
             marker="file:{case}/run/ckpt.safetensors", codes=(143,),
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
        Case("train/double-sigint", train("--max_steps=100000"), "signal", signals=("SIGINT", "SIGINT"),
             marker="file:{case}/run/ckpt.safetensors", codes=(130,),
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
        Case("train/sigint-during-release", train("--max_steps=3", "--release_dir={case}/rel"), "signal",
             signals=("SIGINT",), marker="file:{case}/run/ckpt.safetensors", codes=(0, 130),
             check=saved_checkpoint("run/ckpt.safetensors", 3)),
    ]
    return cases


def prepare_cases() -> list[Case]:
    bad_args = {
        "vocab-size-ten": ["--vocab-size", "10"], "vocab-size-negative": ["--vocab-size", "-1"],
        "val-fraction-zero": ["--val-fraction", "0"], "val-fraction-one": ["--val-fraction", "1"],
        "val-fraction-nan": ["--val-fraction", "nan"], "val-fraction-inf": ["--val-fraction", "inf"],
        "max-file-bytes-zero": ["--max-file-bytes", "0"], "max-line-chars-zero": ["--max-line-chars", "0"],
        "max-mean-line-chars-nan": ["--max-mean-line-chars", "nan"],
        "min-alphanumeric-two": ["--min-alphanumeric", "2"], "min-alphanumeric-nan": ["--min-alphanumeric", "nan"],
        "source-missing": ["--source", "{case}/none"], "source-is-file": ["--source", "{src}/abc.py"],
        "source-weight-text": ["--source", "a={src}:heavy"], "source-weight-zero": ["--source", "a={src}:0"],
        "source-weight-nan": ["--source", "a={src}:nan"], "source-weight-inf": ["--source", "a={src}:inf"],
        "source-name-with-space": ["--source", "a b={src}"],
        "sources-duplicate-names": ["--source", "a={src}", "--source", "a={src}"],
        "tokenizer-missing": ["--tokenizer", "{case}/none.json"], "benchmark-missing": ["--benchmark", "{case}/no"],
    }
    quick_args = {"val-fraction-nan", "source-weight-nan", "min-alphanumeric-nan"}
    cases = [Case(f"prepare/{name}", prep(*args), quick=name in quick_args) for name, args in bad_args.items()]
    sources = lambda: ["prepare", "--sources", "{case}/s.json", "--out", "{case}/out", "--vocab-size",  # noqa: E731
                            "280", "--val-fraction", "0.3", "--no-benchmark-check"]
    cases += [
        Case("prepare/sources-missing", sources()),
        Case("prepare/sources-not-json", sources(), setup=write("s.json", "{")),
        Case("prepare/sources-list", sources(), setup=write("s.json", "[1]")),
        Case("prepare/sources-entry-without-path", sources(), setup=write("s.json", '{"sources": [{"name": "a"}]}')),
        Case("prepare/sources-weight-text", sources(),
             setup=lambda fx, d: (d / "s.json").write_text(json.dumps(
                 {"sources": [{"name": "a", "path": fx.values["src"], "weight": "x"}]}))),
        Case("prepare/sources-weight-nan", sources(),
             setup=write("s.json", '{"sources": [{"name": "a", "path": ".", "weight": NaN}]}')),
        Case("prepare/source-empty-directory", prep(source="{case}/empty"), setup=lambda fx, d: (
            d / "empty").mkdir(), quick=True),
        Case("prepare/source-one-file", prep(source="{case}/one"),
             setup=write("one/b.py", (STDLIB / "bisect.py").read_bytes())),
        Case("prepare/source-and-sources", prep("--sources", "{case}/s.json"),
             setup=write("s.json", '{"sources": []}')),
        Case("prepare/source-only-non-utf8", prep(source="{case}/bad"),
             setup=steps(write("bad/a.py", b"\xff\xfe" * 100), write("bad/b.py", b"x = '\xe9'\n" * 50))),
        Case("prepare/tokenizer-corrupt", prep("--tokenizer", "{case}/t.json"), setup=write("t.json", "{")),
        Case("prepare/tokenizer-list", prep("--tokenizer", "{case}/t.json"), setup=write("t.json", "[]")),
        Case("prepare/tokenizer-bad-regex", prep("--tokenizer", "{case}/t.json"),
             setup=steps(copy("tok", "t.json"), edit_json("t.json", set_key("pattern", "(?<")))),
        Case("prepare/tokenizer-pattern-drops-characters", prep("--tokenizer", "{case}/t.json"),
             setup=pattern(DROPPING), check=absent("{case}/out")),
        Case("prepare/tokenizer-without-end-of-text", prep("--tokenizer", "{case}/t.json"),
             setup=char_tokenizer("t.json", "".join(map(chr, range(32, 127))) + "\n\t", [])),
        Case("prepare/tokenizer-char-misses-characters", prep("--tokenizer", "{case}/t.json"), "either",
             setup=char_tokenizer("t.json", "abc", ["<|endoftext|>"])),
        Case("prepare/benchmark-corrupt", ["prepare", "--source", "{src}", "--out", "{case}/out", "--vocab-size",
                                           "280", "--val-fraction", "0.3", "--benchmark", "{case}/b.jsonl"],
             setup=write("b.jsonl", "{not json\n")),
        Case("prepare/benchmark-empty", ["prepare", "--source", "{src}", "--out", "{case}/out", "--vocab-size",
                                         "280", "--val-fraction", "0.3", "--benchmark", "{case}/b.jsonl"],
             setup=write("b.jsonl", "")),
        Case("prepare/benchmark-gz-corrupt", ["prepare", "--source", "{src}", "--out", "{case}/out", "--vocab-size",
                                              "280", "--val-fraction", "0.3", "--benchmark", "{case}/b.jsonl.gz"],
             setup=write("b.jsonl.gz", b"\x1f\x8b\x08garbage")),
        # outputs
        Case("prepare/out-under-file", prep("--out", "{case}/f/out"), setup=write("f", "x"), quick=True),
        Case("prepare/out-is-file", prep("--out", "{case}/f"), setup=write("f", "x"), protect=("{case}/f",)),
        Case("prepare/out-read-only", prep("--out", "{case}/ro/out"), setup=readonly("ro"), readonly=True),
        Case("prepare/out-holds-other-files", prep("--out", "{case}/mine"), setup=write("mine/thesis.tex", "keep"),
             protect=("{case}/mine",), quick=True),
        Case("prepare/out-holds-hidden-file", prep("--out", "{case}/data"),
             setup=steps(copy("data", "data"), write("data/.notes", "mine")), protect=("{case}/data",), quick=True),
        Case("prepare/out-is-the-source", prep("--out", "{case}/src", source="{case}/src"),
             setup=copy("src", "src"), protect=("{case}/src",)),
        Case("prepare/ok-replaces-dataset", prep("--out", "{case}/data"), "ok", setup=copy("data", "data"),
             check=exists("{case}/data/meta.json", "{case}/data/train.bin")),
        Case("prepare/ok-default-out", ["prepare", "--source", "{src}", "--vocab-size", "280", "--val-fraction",
                                        "0.3", "--no-benchmark-check"], "ok",
             check=lambda fx, d, stdout: None if list(d.glob("data/*/meta.json")) else "no data/*/meta.json"),
        Case("prepare/ok-given-tokenizer", prep("--tokenizer", "{tok}"), "ok", check=exists("{case}/out/val.bin")),
        Case("prepare/ok-fifo-in-source", prep(source="{case}/s"), "ok", timeout=60,
             setup=steps(copy("src", "s"), fifo("s/pipe.py")), check=exists("{case}/out/meta.json"), quick=True),
        Case("prepare/ok-broken-symlink-in-source", prep(source="{case}/s"), "ok",
             setup=steps(copy("src", "s"), lambda fx, d: os.symlink(d / "nowhere.py", d / "s/dangling.py"))),
        Case("prepare/ok-symlink-loop-in-source", prep(source="{case}/s"), "ok", timeout=60,
             setup=steps(copy("src", "s"), lambda fx, d: os.symlink(d / "s", d / "s/loop"))),
        Case("prepare/ok-file-name-not-utf8", prep(source="{case}/s"), "ok",
             setup=steps(copy("src", "s"), lambda fx, d: (d / os.fsdecode(b"s/odd\xff\xfe.py")).write_bytes(
                 (STDLIB / "operator.py").read_bytes())), check=prepared_files("out", 13)),
        Case("prepare/ok-unreadable-directory-counted", prep(source="{case}/s"), "ok", readonly=True,
             setup=steps(copy("src", "s"), write("s/locked/a.py", "x = 1\n"), unreadable("s/locked")),
             check=json_value("out/meta.json", "skipped.unreadable", 1)),
        Case("prepare/stdout-dev-full", prep(), "either", shell="> /dev/full", check=exists("{case}/out/meta.json")),
        Case("prepare/stdout-closed", prep(), "either", shell=">&-", codes=(0, 1),
             check=exists("{case}/out/meta.json")),
        Case("prepare/ok-max-mean-line-chars-inf", prep("--max-mean-line-chars", "inf"), "ok"),
        Case("prepare/stderr-closed", prep(), "ok", shell="2>&-", check=exists("{case}/out/meta.json")),
        Case("prepare/stdin-closed", prep(), "ok", shell="0<&-", stdin=None),
        # huge inputs
        Case("prepare/string-literal-20kb", prep("--max-line-chars", "100000", "--max-mean-line-chars", "100000",
                                                 source="{case}/s"), "ok", timeout=60,
             setup=steps(copy("src", "s"), write("s/blob.py", "BLOB = '" + "ab1" * 7000 + "'\n"))),
        Case("prepare/one-line-20mb", prep("--max-file-bytes", "100000000", "--max-line-chars", "100000000",
                                           "--max-mean-line-chars", "100000000", source="{case}/s"), "ok", timeout=120,
             setup=steps(copy("src", "s"), write("s/minified.py", "total = total + 1; value = value * 2; " * 500_000)),
             check=exists("{case}/out/meta.json")),
        Case("prepare/one-word-2mb", prep("--max-file-bytes", "100000000", "--max-line-chars", "100000000",
                                          "--max-mean-line-chars", "100000000", source="{case}/s"), "ok", timeout=60,
             setup=steps(copy("src", "s"), write("s/blob.py", "BLOB = b" + "a1b2c3d4" * 250_000 + "\n")),
             check=exists("{case}/out/meta.json")),
        Case("prepare/vocab-size-million", prep("--vocab-size", "1000000"), "ok", timeout=120,
             check=exists("{case}/out/meta.json")),
        # signals while the tokenizer trains: the old dataset stays
        Case("prepare/sigint-keeps-old-dataset", SIGNALLED_PREPARE, "signal",
             setup=copy("data", "data"), signals=("SIGINT",), marker="stderr:merging", codes=(130,),
             protect=("{case}/data",), check=absent_temporaries(), quick=True),
        Case("prepare/sigterm-keeps-old-dataset", SIGNALLED_PREPARE, "signal",
             setup=copy("data", "data"), signals=("SIGTERM",), marker="stderr:merging", codes=(143,),
             protect=("{case}/data",), check=absent_temporaries()),
        Case("prepare/double-sigint", SIGNALLED_PREPARE, "signal",
             setup=copy("data", "data"), signals=("SIGINT", "SIGINT"), marker="stderr:merging", codes=(130,),
             protect=("{case}/data",)),
    ]
    return cases


def evaluate_cases() -> list[Case]:
    ev = lambda *a: ["evaluate", "--checkpoint", "{ckpt}", *a]  # noqa: E731
    return [
        Case("evaluate/batch-size-zero", ev("--batch-size", "0", "--data-dir", "{data}"), quick=True),
        Case("evaluate/checkpoint-missing", ev("--checkpoint", "{case}/none.safetensors", "--data-dir", "{data}")),
        Case("evaluate/checkpoint-corrupt", ev("--checkpoint", "{case}/m.safetensors", "--data-dir", "{data}"),
             setup=write("m.safetensors", b"\0" * 64)),
        Case("evaluate/checkpoint-nan", ev("--checkpoint", "{nan}", "--data-dir", "{data}"), codes=(1,)),
        Case("evaluate/data-dir-missing", ev("--data-dir", "{case}/none")),
        Case("evaluate/default-data-dir-missing", ev("--checkpoint", REL), setup=steps(
            copy("rel", "rel"), edit_checkpoint("rel/model.safetensors", set_key("train_config.data_dir", "gone")))),
        Case("evaluate/meta-without-dtype", ev("--data-dir", "{case}/data"),
             setup=steps(copy("data", "data"), edit_json("data/meta.json", del_key("dtype")))),
        Case("evaluate/meta-splits-wrong", ev("--data-dir", "{case}/data"),
             setup=steps(copy("data", "data"), edit_json("data/meta.json", set_key("splits", [])))),
        Case("evaluate/val-bin-truncated", ev("--data-dir", "{case}/data"),
             setup=steps(copy("data", "data"), truncate("data/val.bin", 0.5))),
        Case("evaluate/data-tokenizer-corrupt", ev("--data-dir", "{case}/data"),
             setup=steps(copy("data", "data"), write("data/tokenizer.json", "[]"))),
        Case("evaluate/data-tokenizer-missing", ev("--data-dir", "{case}/data"),
             setup=steps(copy("data", "data"), remove("data/tokenizer.json"))),
        Case("evaluate/ood-missing", ev("--ood", "{case}/none")),
        Case("evaluate/tokenizer-explicit-other-sha256", ev("--tokenizer", "{case}/t.json", "--ood", "{src}"),
             setup=steps(copy("tok", "t.json"), edit_json("t.json", EDITED))),
        Case("evaluate/ood-is-file", ev("--ood", "{src}/abc.py")),
        Case("evaluate/json-under-file", ev("--data-dir", "{data}", "--json", "{case}/f/out.json"),
             setup=write("f", "x"), quick=True),
        Case("evaluate/json-is-directory", ev("--data-dir", "{data}", "--json", "{case}")),
        Case("evaluate/ok-held-out-and-json", ev("--data-dir", "{data}", "--json", "{case}/new/out.json"), "ok",
             check=exists("{case}/new/out.json"), quick=True),
        Case("evaluate/ok-ood-only", ev("--ood", "{src}"), "ok", check=prints("ood")),
        Case("evaluate/ok-ood-empty-directory", ev("--ood", "{case}/empty", "--data-dir", "{data}"), "ok",
             setup=lambda fx, d: (d / "empty").mkdir()),
        Case("evaluate/ok-ood-with-fifo", ev("--ood", "{case}/s"), "ok", setup=steps(copy("src", "s"),
                                                                                   fifo("s/pipe.py"))),
        Case("evaluate/stdout-dev-full", ev("--data-dir", "{data}"), shell="> /dev/full", codes=(1,)),
        Case("evaluate/broken-pipe", ev("--data-dir", "{data}", "--ood", "{src}"), "pipe", shell="| head -c 1"),
        Case("evaluate/sigint-while-encoding", ev("--ood", "{stdlib}"), "signal", signals=("SIGINT",),
             marker="stderr:encoding", codes=(130,), timeout=120),
    ]


def eval_functions_cases() -> list[Case]:
    ef = lambda *a: ["eval-functions", "--checkpoint", "{ckpt}", "--data-dir", "{data}", "--max-new-tokens",  # noqa: E731
                     "4", *a]
    return [
        Case("eval-functions/n-zero", ef("-n", "0"), quick=True),
        Case("eval-functions/max-new-tokens-zero", ef("--max-new-tokens", "0")),
        Case("eval-functions/seed-negative", ef("--seed", "-1")),
        Case("eval-functions/strategy-unknown", ef("--strategy", "beam")),
        Case("eval-functions/data-dir-missing", ef("--data-dir", "{case}/none")),
        Case("eval-functions/meta-corrupt", ef("--data-dir", "{case}/data"),
             setup=steps(copy("data", "data"), write("data/meta.json", "{"))),
        Case("eval-functions/meta-val-fraction-five", ef("--data-dir", "{case}/data"),
             setup=steps(copy("data", "data"), edit_json("data/meta.json", set_key("val_fraction", 5)))),
        Case("eval-functions/meta-source-not-string", ef("--data-dir", "{case}/data"),
             setup=steps(copy("data", "data"), edit_json("data/meta.json", set_key("source", 5)))),
        Case("eval-functions/source-missing", ef("--source", "{case}/none")),
        Case("eval-functions/source-without-functions", ef("--source", "{case}/s"), setup=write("s/a.py", "x = 1\n")),
        Case("eval-functions/json-under-file", ef("--json", "{case}/f/out.json"), setup=write("f", "x")),
        Case("eval-functions/checkpoint-corrupt", ef("--checkpoint", "{case}/m.safetensors"),
             setup=write("m.safetensors", b"{}")),
        Case("eval-functions/ok-json-in-new-directory", ef("-n", "2", "--json", "{case}/new/out.json"), "ok",
             check=exists("{case}/new/out.json")),
    ]


def eval_suite_cases() -> list[Case]:
    es = lambda *a: ["eval-suite", "--checkpoint", "{ckpt}", "--suite", "{tasks}", "--max-new-tokens", "4",  # noqa: E731
                     *a]
    return [
        Case("eval-suite/n-zero", es("-n", "0"), quick=True),
        Case("eval-suite/suite-missing", es("--suite", "{case}/none.jsonl")),
        Case("eval-suite/suite-is-directory", es("--suite", "{case}")),
        Case("eval-suite/suite-not-json", es("--suite", "{case}/t.jsonl"), setup=write("t.jsonl", "{\n")),
        Case("eval-suite/suite-empty", es("--suite", "{case}/t.jsonl"), setup=write("t.jsonl", "")),
        Case("eval-suite/suite-task-missing-field", es("--suite", "{case}/t.jsonl"),
             setup=write("t.jsonl", '{"task_id": "x", "prompt": "def f():"}\n')),
        Case("eval-suite/suite-task-wrong-types", es("--suite", "{case}/t.jsonl"),
             setup=write("t.jsonl", json.dumps({"task_id": 1, "prompt": 2, "canonical_solution": 3, "test": 4,
                                                "entry_point": 5}) + "\n")),
        Case("eval-suite/suite-line-is-list", es("--suite", "{case}/t.jsonl"), setup=write("t.jsonl", "[1]\n")),
        Case("eval-suite/timeout-zero", es("--timeout", "0")),
        Case("eval-suite/timeout-nan", es("--timeout", "nan")),
        Case("eval-suite/timeout-inf", es("--timeout", "inf")),
        Case("eval-suite/timeout-1e300", es("--timeout", "1e300")),
        Case("eval-suite/memory-2-to-the-50-mb", es("--memory-mb", str(1 << 50))),
        Case("eval-suite/memory-one-mb", es("--memory-mb", "1")),
        Case("eval-suite/temperature-nan", es("--temperature", "nan")),
        Case("eval-suite/greedy-with-temperature", es("--strategy", "greedy", "--temperature", "0.5")),
        Case("eval-suite/json-under-file", es("--json", "{case}/f/out.json"), setup=write("f", "x")),
        Case("eval-suite/contamination-dir-missing", es("--check-contamination", "{case}/none")),
        Case("eval-suite/ok-one-task", es("-n", "1", "--json", "{case}/out.json"), "ok",
             check=exists("{case}/out.json"), quick=True),
        Case("eval-suite/ok-contamination-check", es("--check-contamination", "{src}"), "ok", codes=(0, 1),
             check=prints("contamination:")),
    ]


def eval_humaneval_cases() -> list[Case]:
    eh = lambda *a: ["eval-humaneval", "--checkpoint", "{ckpt}", "--problems", "{problems}", "--max-new-tokens",  # noqa: E731
                     "4", *a]
    return [
        Case("eval-humaneval/limit-zero", eh("--limit", "0"), quick=True),
        Case("eval-humaneval/samples-negative", eh("--samples", "-1")),
        Case("eval-humaneval/k-zero", eh("--samples", "2", "--k", "0")),
        Case("eval-humaneval/every-k-over-samples", eh("--samples", "2", "--k", "5")),
        Case("eval-humaneval/sampling-without-samples", eh("--temperature", "0.5")),
        Case("eval-humaneval/problems-missing", eh("--problems", "{case}/none.jsonl")),
        Case("eval-humaneval/problems-gz-corrupt", eh("--problems", "{case}/p.jsonl.gz"),
             setup=write("p.jsonl.gz", b"\x1f\x8b\x08\0garbage")),
        Case("eval-humaneval/problems-empty", eh("--problems", "{case}/p.jsonl"), setup=write("p.jsonl", "\n")),
        Case("eval-humaneval/samples-huge", eh("--samples", "100000000", "--k", "1"), timeout=30),
        Case("eval-humaneval/ok-greedy", eh("--json", "{case}/out.json"), "ok", check=exists("{case}/out.json")),
        Case("eval-humaneval/ok-sampled", eh("--samples", "2", "--k", "1", "2"), "ok", check=prints("pass@2")),
    ]


def bench_cases() -> list[Case]:
    return [
        Case("bench/steps-zero", ["bench", "--steps", "0"], quick=True),
        Case("bench/steps-negative", ["bench", "--steps", "-1"]),
        Case("bench/out-under-file", ["bench", "--quick", "--no-torch", "--no-scaling", "--steps", "1", "--out",
                                      "{case}/f/out"], setup=write("f", "x")),
        Case("bench/out-is-file", ["bench", "--quick", "--no-torch", "--no-scaling", "--steps", "1", "--out",
                                   "{case}/f"], setup=write("f", "x"), protect=("{case}/f",)),
        Case("bench/ok-quick", ["bench", "--quick", "--no-torch", "--no-scaling", "--steps", "1", "--out",
                                "{case}/out"], "ok", check=exists("{case}/out/results.json"), timeout=180),
    ]


def export_cases() -> list[Case]:
    ex = lambda *a: ["export-hf", *a]  # noqa: E731
    return [
        Case("export-hf/checkpoint-missing", ex("{case}/none.safetensors", "{case}/out"), quick=True),
        Case("export-hf/checkpoint-corrupt", ex("{case}/m.safetensors", "{case}/out"), setup=write("m.safetensors",
                                                                                                 b"\x08" + b"\0" * 20)),
        Case("export-hf/checkpoint-is-hf-file", ex("{hf}/model.safetensors", "{case}/out")),
        Case("export-hf/out-is-file", ex("{ckpt}", "{case}/f"), setup=write("f", "x"), protect=("{case}/f",)),
        Case("export-hf/out-under-file", ex("{ckpt}", "{case}/f/out"), setup=write("f", "x")),
        Case("export-hf/out-read-only", ex("{ckpt}", "{case}/ro/out"), setup=readonly("ro"), readonly=True),
        Case("export-hf/tokenizer-missing", ex("{ckpt}", "{case}/out", "--tokenizer", "{case}/none.json")),
        Case("export-hf/tokenizer-corrupt", ex("{ckpt}", "{case}/out", "--tokenizer", "{case}/t.json"),
             setup=write("t.json", "{")),
        Case("export-hf/tokenizer-replaced-beside", ex(REL, "{case}/out"),
             setup=steps(copy("rel", "rel"), edit_json("rel/tokenizer.json", set_key("comment", "edited")))),
        Case("export-hf/nan-weights", ex("{nan}", "{case}/out")),
        Case("export-hf/ok", ex("{ckpt}", "{case}/out"), "ok", check=exists("{case}/out/config.json"), quick=True),
        Case("export-hf/ok-keeps-other-files", ex("{ckpt}", "{case}/out"), "ok", setup=write("out/notes.txt", "mine"),
             protect=("{case}/out/notes.txt",)),
        Case("export-hf/out-holds-a-users-config", ex("{ckpt}", "{case}/out"), setup=write("out/config.json", "{}"),
             protect=("{case}/out/config.json",)),
        Case("export-hf/ok-force-over-a-users-config", ex("{ckpt}", "{case}/out", "--force"), "ok",
             setup=write("out/config.json", "{}"), check=exists("{case}/out/model.safetensors")),
        Case("export-hf/stdout-dev-full", ex("{ckpt}", "{case}/out"), "either", shell="> /dev/full"),
        Case("export-hf/weights-write-fails", ex("{ckpt}", "{case}/out"), codes=(1,), max_file_bytes=8192),
    ]


def import_cases() -> list[Case]:
    im = lambda *a: ["import-hf", "{case}/hf", "--out", "{case}/m/model.safetensors", *a]  # noqa: E731
    hf = copy("hf", "hf")
    config = lambda change: steps(hf, edit_json("hf/config.json", change))  # noqa: E731
    split = lambda regex: steps(hf, edit_json("hf/tokenizer.json", lambda document: document[  # noqa: E731
        "pre_tokenizer"]["pretokenizers"][0].update(pattern={"Regex": regex})))
    return [
        Case("import-hf/directory-missing", ["import-hf", "{case}/none", "--out", "{case}/m.safetensors"], quick=True),
        Case("import-hf/directory-is-file", ["import-hf", "{ckpt}", "--out", "{case}/m.safetensors"]),
        Case("import-hf/config-missing", im(), setup=steps(hf, remove("hf/config.json"))),
        Case("import-hf/config-not-json", im(), setup=steps(hf, write("hf/config.json", "{"))),
        Case("import-hf/config-list", im(), setup=steps(hf, write("hf/config.json", "[]"))),
        Case("import-hf/config-not-utf8", im(), setup=steps(hf, write("hf/config.json", b"\xff"))),
        Case("import-hf/config-other-architecture", im(), setup=config(set_key("architectures", ["LlamaForCausalLM"]))),
        Case("import-hf/config-missing-n-embd", im(), setup=config(del_key("n_embd"))),
        Case("import-hf/config-vocab-billion", im(), setup=config(set_key("vocab_size", 10**9)), timeout=30,
             quick=True),
        Case("import-hf/config-layers-million", im(), setup=config(set_key("n_layer", 10**6)), timeout=30),
        Case("import-hf/config-heads-zero", im(), setup=config(set_key("n_head", 0))),
        Case("import-hf/config-heads-not-dividing", im(), setup=config(set_key("n_head", 5))),
        Case("import-hf/config-n-embd-text", im(), setup=config(set_key("n_embd", "wide"))),
        Case("import-hf/config-n-embd-float", im(), setup=config(set_key("n_embd", 16.5))),
        Case("import-hf/config-epsilon-nan", im(), setup=steps(hf, lambda fx, d: (d / "hf/config.json").write_text(
            (d / "hf/config.json").read_text().replace('"layer_norm_epsilon": 1e-05', '"layer_norm_epsilon": NaN')))),
        Case("import-hf/config-positions-negative", im(), setup=config(set_key("n_positions", -1))),
        Case("import-hf/weights-missing", im(), setup=steps(hf, remove("hf/model.safetensors"))),
        Case("import-hf/weights-truncated", im(), setup=steps(hf, truncate("hf/model.safetensors", 0.5)), quick=True),
        Case("import-hf/weights-header-garbage", im(), setup=steps(hf, write("hf/model.safetensors",
                                                                             b"\x10\0\0\0\0\0\0\0not json at all!"))),
        Case("import-hf/weights-bf16", im(), setup=steps(hf, write(
            "hf/model.safetensors", bf16_file()))),
        Case("import-hf/index-outside-directory", im(), setup=steps(hf, remove("hf/model.safetensors"), write(
            "hf/model.safetensors.index.json", '{"weight_map": {"wte": "../../outside.safetensors"}}'))),
        Case("import-hf/index-malformed", im(), setup=steps(hf, remove("hf/model.safetensors"), write(
            "hf/model.safetensors.index.json", '{"weight_map": 5}'))),
        Case("import-hf/pytorch-bin-only", im(), setup=steps(hf, remove("hf/model.safetensors"), write(
            "hf/pytorch_model.bin", b"PK"))),
        Case("import-hf/tokenizer-corrupt", im(), setup=steps(hf, write("hf/tokenizer.json", "{")), quick=True),
        Case("import-hf/tokenizer-list", im(), setup=steps(hf, write("hf/tokenizer.json", "[]"))),
        Case("import-hf/config-nested-100000-deep", im(), setup=steps(hf, write("hf/config.json", NESTED))),
        Case("import-hf/tokenizer-nested-100000-deep", im(), setup=steps(hf, write("hf/tokenizer.json", NESTED))),
        Case("import-hf/tokenizer-split-pattern-invalid", im(), setup=split("("), check=absent("{case}/m")),
        Case("import-hf/tokenizer-split-pattern-catastrophic", im(), setup=split(CATASTROPHIC), timeout=30,
             check=absent("{case}/m")),
        Case("import-hf/ok-tokenizer-split-pattern-lossy-kept-verbatim", im(), "ok", setup=split(DROPPING),
             check=both(absent("{case}/m/tokenizer.json"), exists("{case}/m/hf_tokenizer/tokenizer.json"))),
        Case("import-hf/out-is-directory", ["import-hf", "{case}/hf", "--out", "{case}"], setup=hf),
        Case("import-hf/out-under-file", ["import-hf", "{case}/hf", "--out", "{case}/f/m.safetensors"],
             setup=steps(hf, write("f", "x"))),
        Case("import-hf/out-read-only", ["import-hf", "{case}/hf", "--out", "{case}/ro/m/model.safetensors"],
             setup=steps(hf, readonly("ro")), readonly=True),
        Case("import-hf/ok", im(), "ok", setup=hf, quick=True,
             check=exists("{case}/m/model.safetensors", "{case}/m/tokenizer.json")),
        Case("import-hf/ok-default-out", ["import-hf", "{case}/hf"], "ok", setup=hf,
             check=exists("{case}/models/hf/model.safetensors")),
        Case("import-hf/out-exists", im(), setup=steps(hf, write("m/model.safetensors", "keep")),
             protect=("{case}/m",)),
        Case("import-hf/failure-keeps-previous-import", im("--force"), setup=steps(
            hf, lambda fx, d: (d / "m").mkdir(), copy("ckpt", "m/model.safetensors"), copy("tok", "m/tokenizer.json"),
            truncate("hf/model.safetensors", 0.9)), protect=("{case}/m",)),
        Case("import-hf/weights-write-fails-keeps-previous-import", im("--force"), codes=(1,), max_file_bytes=8192,
             setup=steps(hf, lambda fx, d: (d / "m").mkdir(), copy("ckpt", "m/model.safetensors"),
                         copy("tok", "m/tokenizer.json")), protect=("{case}/m",), check=absent_temporaries("m")),
    ]


def api_cases() -> list[Case]:
    """The library API behind the commands: each snippet prints OK when the fault is refused as it should be."""
    def snippet(name: str, code: str, quick: bool = False) -> Case:
        return Case(f"api/{name}", ["-c", code], "ok", check=prints("OK"), quick=quick, timeout=30)

    raises = "import math, numpy as np, tinytorch as tt\ntry:\n    {}\nexcept {} as err:\n    print('OK', err)\n"
    return [
        snippet("sum-dim-out-of-range", raises.format("tt.randn(3, 4).sum(dim=2)", "IndexError"), quick=True),
        snippet("mean-dim-negative-out-of-range", raises.format("tt.randn(3, 4).mean(dim=-3)", "IndexError")),
        snippet("max-dim-out-of-range", raises.format("tt.randn(3, 4).max(dim=5)", "IndexError")),
        snippet("softmax-dim-out-of-range", raises.format(
            "import tinytorch.functional as F; F.softmax(tt.randn(3, 4), dim=3)", "IndexError")),
        snippet("adamw-lr-nan", raises.format(
            "from tinytorch.optim import AdamW; AdamW([tt.randn(2, requires_grad=True)], lr=math.nan)", "ValueError")),
        snippet("sgd-momentum-negative", raises.format(
            "from tinytorch.optim import SGD; SGD([tt.randn(2, requires_grad=True)], momentum=-1)", "ValueError")),
        snippet("clip-grad-nan", raises.format(
            "from tinytorch.optim import clip_grad_norm_; w = tt.randn(2, requires_grad=True); "
            "(w * w).sum().backward(); clip_grad_norm_([w], math.nan)", "ValueError")),
        snippet("generation-config-temperature-nan", raises.format(
            "from tinytorch.generation import GenerationConfig; "
            "GenerationConfig(strategy='sample', temperature=math.nan).validate()", "ValueError")),
        snippet("tokenizer-decode-out-of-range", raises.format(
            "from tinytorch.text import load_tokenizer; load_tokenizer('{tok}').decode([10**9])", "ValueError")),
        snippet("tokenizer-long-word-fast",
                "import time\nfrom tinytorch.text import load_tokenizer\nt = load_tokenizer('{tok}')\n"
                "s = time.perf_counter(); t.encode('a' * 100000 + ' ' * 100000)\n"
                "print('OK' if time.perf_counter() - s < 10 else 'SLOW', time.perf_counter() - s)"),
    ]


CASES: list[Case] = [*cli_cases(), *generate_cases(), *script_cases(), *train_cases(), *prepare_cases(),
                     *evaluate_cases(), *eval_functions_cases(), *eval_suite_cases(), *eval_humaneval_cases(),
                     *bench_cases(), *export_cases(), *import_cases(), *api_cases()]
