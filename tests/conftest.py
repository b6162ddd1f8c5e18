"""Test-wide settings and fixtures: hypothesis has no per-example deadline (no timed assertions; CI machines can be
busy); `release` is a tiny random TinyGPT checkpoint with its tokenizer, shared by the generation and evaluation
command tests; `hf_dir` a Hugging Face directory exported from a tiny model; `stdlib_modules` a folder of twelve
standard-library modules, the small source of real code that the prepare and training tests read (copy it before
changing it); `tiny_dataset` the dataset `tinygpt prepare` makes of them (vocabulary 300, 30 % held out), which the
training tests read (copy it before changing it)."""

import sysconfig
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers import stdlib_source
from tinygpt.checkpoint import save_checkpoint
from tinygpt.model import GPT, GPTConfig
from tinytorch.text import BPETokenizer

settings.register_profile("tinytorch", deadline=None)
settings.load_profile("tinytorch")


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> Path:
    """A directory like models/tinygpt-stdlib: model.safetensors and tokenizer.json (a BPE learned on two standard
    library files). Returns the checkpoint."""
    directory = tmp_path_factory.mktemp("release")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = [(stdlib / name).read_text(encoding="utf-8") for name in ("bisect.py", "keyword.py")]
    tokenizer = BPETokenizer.train(texts, vocab_size=300)
    tokenizer.save(directory / "tokenizer.json")
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=48, n_layer=2, n_head=2, n_embd=32)
    save_checkpoint(directory / "model.safetensors", GPT(config, seed=0), {"tokenizer": "tokenizer.json"})
    return directory / "model.safetensors"


@pytest.fixture(scope="session")
def stdlib_modules(tmp_path_factory) -> Path:
    return stdlib_source(tmp_path_factory.mktemp("stdlib_modules"))


@pytest.fixture(scope="session")
def tiny_dataset(stdlib_modules, tmp_path_factory) -> Path:
    from tinygpt.cli.prepare import main as prepare_main

    out = tmp_path_factory.mktemp("tiny_dataset") / "set"
    assert prepare_main(["--source", str(stdlib_modules), "--out", str(out), "--vocab-size", "300", "--val-fraction",
                         "0.3", "--no-benchmark-check"]) == 0
    return out


@pytest.fixture
def hf_dir(tmp_path) -> Path:
    """A GPT-2 directory (config.json, model.safetensors, tokenizer files) written by our own export of a tiny
    random TinyGPT."""
    from tinygpt.hf.export import export_hf

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    tokenizer = BPETokenizer.train([(stdlib / "textwrap.py").read_text(encoding="utf-8")], vocab_size=300)
    tokenizer.save(tmp_path / "tokenizer.json")
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=16)
    save_checkpoint(tmp_path / "model.safetensors", GPT(config, seed=0), {"tokenizer": "tokenizer.json"})
    export_hf(tmp_path / "model.safetensors", tmp_path / "hf")
    return tmp_path / "hf"
