"""Hugging Face interop (`tinygpt export-hf` / `import-hf`), checked against transformers itself: the same weights
give the same logits (max abs 1e-4) and the same greedy tokens in both frameworks, the exported tokenizer gives our
ids, import followed by export is bit-identical, and malformed directories fail with one line and exit status 2.

torch and transformers are test references only; the code under test never imports them.
"""

from __future__ import annotations

import json
import logging
import sysconfig
import textwrap
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import tinytorch as tt  # noqa: E402
from tinygpt.checkpoint import load_model, save_checkpoint  # noqa: E402
from tinygpt.cli import main as cli_main  # noqa: E402
from tinygpt.cli.export import main as export_main  # noqa: E402
from tinygpt.cli.export import main_import  # noqa: E402
from tinygpt.data.prepare import is_held_out  # noqa: E402
from tinygpt.generate import DEFAULT_CHECKPOINT  # noqa: E402
from tinygpt.hf.mapping import bpe_from_tokenizer_json  # noqa: E402
from tinygpt.model import GPT, GPTConfig  # noqa: E402
from tinytorch.text import BPETokenizer, load_tokenizer  # noqa: E402

SHIPPED = DEFAULT_CHECKPOINT
STDLIB = Path(sysconfig.get_paths()["stdlib"])
TRICKY_TEXT = "x\t= 'héllo 世界 🐍'\r\n\n    return {a: b for a, b in zip(xs, ys)}  # done<|endoftext|>next  \n"
RANDOM_CONFIGS = [  # (n_layer, n_head, n_embd): several depths, head counts and widths
    (1, 1, 16),
    (2, 4, 32),
    (3, 2, 48),
    (2, 8, 64),
]


# ---- helpers -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer() -> BPETokenizer:
    return BPETokenizer.train([Path(textwrap.__file__).read_text(encoding="utf-8")], vocab_size=400)


@pytest.fixture(scope="module")
def held_out_text() -> str:
    """Source the test tokenizer never saw, plus the awkward cases: tabs, CRLF, non-ASCII, a special token."""
    return (STDLIB / "string.py").read_text(encoding="utf-8")[:4000] + TRICKY_TEXT


@contextmanager
def no_transformers_warnings():
    """Fail on any warning transformers logs (missing/unexpected weights are logged by transformers.modeling_utils;
    the library logger does not propagate, so the handler goes on it directly) or raises through `warnings`."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.removeHandler(handler)
    assert not records, [record.getMessage() for record in records]
    assert not caught, [str(warning.message) for warning in caught]


def load_hf(directory: Path):
    with no_transformers_warnings():
        model, info = transformers.GPT2LMHeadModel.from_pretrained(directory, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    return model.eval()


def export(model: GPT, directory: Path, tokenizer: BPETokenizer | None = None) -> Path:
    metadata = {}
    if tokenizer is not None:
        tokenizer.save(directory / "tokenizer.json")
        metadata["tokenizer"] = "tokenizer.json"
    save_checkpoint(directory / "model.safetensors", model, metadata)
    assert export_main([str(directory / "model.safetensors"), str(directory / "hf")]) == 0
    return directory / "hf"


@tt.no_grad()
def our_logits(model: GPT, ids: list[int] | list[list[int]]) -> np.ndarray:
    ids = np.array(ids)
    return model(ids if ids.ndim == 2 else ids[None])[0].data


def hf_logits(model, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits.float().numpy()


@tt.no_grad()
def our_greedy(model: GPT, ids: list[int], steps: int, eos_token_id: int) -> list[int]:
    """The simplest greedy decoder: full forward each step, argmax of the last position, stop at eos."""
    ids = list(ids)
    for _ in range(steps):
        logits, _ = model(np.array([ids]), last_only=True)
        ids.append(int(logits.data[0, -1].argmax()))
        if ids[-1] == eos_token_id:
            break
    return ids


def hf_greedy(model, ids: list[int], steps: int, eos_token_id: int) -> list[int]:
    prompt = torch.tensor([ids])
    output = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=steps, do_sample=False,
                            eos_token_id=eos_token_id, pad_token_id=eos_token_id)
    return output[0].tolist()


def random_hf_model(tmp_path: Path, n_layer=2, n_head=4, n_embd=32, vocab_size=400, dtype=torch.float32) -> Path:
    torch.manual_seed(n_layer * 100 + n_embd)
    config = transformers.GPT2Config(vocab_size=vocab_size, n_positions=64, n_layer=n_layer, n_head=n_head,
                                     n_embd=n_embd, bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1)
    model = transformers.GPT2LMHeadModel(config).to(dtype)
    model.save_pretrained(tmp_path / "source")
    return tmp_path / "source"


def safetensors_bytes(path: Path) -> dict[str, tuple[str, tuple, bytes]]:
    from safetensors.numpy import load_file

    return {name: (str(array.dtype), array.shape, array.tobytes()) for name, array in load_file(str(path)).items()}


# ---- export: ours -> transformers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("n_layer, n_head, n_embd", RANDOM_CONFIGS)
def test_exported_random_model_matches_transformers(tmp_path, tokenizer, held_out_text, n_layer, n_head, n_embd):
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=n_layer, n_head=n_head, n_embd=n_embd)
    model = GPT(config, seed=n_layer * 10 + n_head)
    for param in model.parameters():
        if param.ndim == 2:  # GPT-2's init (std 0.02) makes near-uniform logits and one token repeated; sharpen it
            param.data *= 5.0
    hf_model = load_hf(export(model, tmp_path, tokenizer))
    ids = tokenizer.encode(held_out_text)[:64]
    np.testing.assert_allclose(our_logits(model, ids), hf_logits(hf_model, ids), atol=1e-4, rtol=0)
    prompt = ids[:16]
    assert our_greedy(model, prompt, 24, tokenizer.eot_id) == hf_greedy(hf_model, prompt, 24, tokenizer.eot_id)


def test_attention_maps_match_transformers_output_attentions(tmp_path, tokenizer, held_out_text):
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=32)
    model = GPT(config, seed=3)
    for param in model.parameters():
        if param.ndim == 2:
            param.data *= 5.0  # sharper attention than GPT-2's init gives, so the maps differ from uniform
    hf_model = load_hf(export(model, tmp_path, tokenizer))
    hf_model.set_attn_implementation("eager")  # the fused kernels (sdpa) do not return their probabilities
    ids = tokenizer.encode(held_out_text)[:48]
    logits, attentions = model.forward_with_attentions(np.array([ids, ids[::-1]]))
    with torch.no_grad():
        theirs = hf_model(torch.tensor([ids, ids[::-1]]), output_attentions=True)
    assert len(attentions) == len(theirs.attentions) == 2
    for ours, reference in zip(attentions, theirs.attentions, strict=True):
        assert ours.shape == (2, 4, 48, 48)
        np.testing.assert_allclose(ours, reference.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(logits, theirs.logits.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(logits, our_logits(model, [ids, ids[::-1]]), atol=1e-4, rtol=0)


def test_exported_tokenizer_encodes_like_ours(tmp_path, tokenizer, held_out_text):
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16), seed=0)
    with no_transformers_warnings():
        hf_tokenizer = transformers.AutoTokenizer.from_pretrained(export(model, tmp_path, tokenizer))
    ids = tokenizer.encode(held_out_text)
    assert hf_tokenizer.encode(held_out_text) == ids
    assert hf_tokenizer.decode(ids) == held_out_text
    assert hf_tokenizer.eos_token_id == tokenizer.eot_id
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["eos_token_id"] == tokenizer.eot_id
    hf_tokenizer.save_pretrained(tmp_path / "resaved")  # transformers' own rewrite still converts back to ours
    resaved = bpe_from_tokenizer_json(json.loads((tmp_path / "resaved" / "tokenizer.json").read_text()))
    assert resaved.merges == tokenizer.merges and resaved.encode(held_out_text) == ids


def test_float16_checkpoint_exports_as_float16(tmp_path, tokenizer):
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16), seed=1)
    save_checkpoint(tmp_path / "half.safetensors", model, {}, dtype=np.float16)
    assert export_main([str(tmp_path / "half.safetensors"), str(tmp_path / "hf")]) == 0
    hf_model = load_hf(tmp_path / "hf")
    assert hf_model.dtype == torch.float16
    assert {dtype for dtype, _, _ in safetensors_bytes(tmp_path / "hf" / "model.safetensors").values()} == {"float16"}


@pytest.mark.skipif(not SHIPPED.exists(), reason=f"shipped checkpoint {SHIPPED} not present")
def test_shipped_checkpoint_matches_transformers(tmp_path):
    assert cli_main(["export-hf", str(SHIPPED), str(tmp_path / "hf")]) == 0
    model, _, _ = load_model(SHIPPED)
    tokenizer = load_tokenizer(SHIPPED.parent / "tokenizer.json")
    hf_model = load_hf(tmp_path / "hf").float()  # the release holds float16 weights; compute in float32 as we do
    held_out = next(path for path in sorted(STDLIB.glob("*.py")) if is_held_out(path.name, val_fraction=0.05))
    text = held_out.read_text(encoding="utf-8") + TRICKY_TEXT  # a file of the validation split, as prepare cuts it
    with no_transformers_warnings():
        hf_tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    ids = tokenizer.encode(text)
    assert hf_tokenizer.encode(text) == ids
    window = ids[:model.config.block_size]
    ours, theirs = our_logits(model, window), hf_logits(hf_model, window)
    # float32 sums taken in another order: about 1e-5 of the largest logit (the shipped model's reach 22; the worst
    # of its 1M logits here differs by 1.7e-4, the median by 4e-6)
    np.testing.assert_allclose(ours, theirs, atol=1e-5 * np.abs(theirs).max(), rtol=0)
    prompt = ids[:32]
    assert our_greedy(model, prompt, 32, tokenizer.eot_id) == hf_greedy(hf_model, prompt, 32, tokenizer.eot_id)


# ---- import: transformers -> ours, and back -------------------------------------------------------------------------

@pytest.mark.parametrize("n_layer, n_head, n_embd", RANDOM_CONFIGS[1:3])
def test_imported_model_matches_transformers(tmp_path, n_layer, n_head, n_embd):
    source = random_hf_model(tmp_path, n_layer, n_head, n_embd)
    assert main_import([str(source), "--out", str(tmp_path / "ours" / "model.safetensors")]) == 0
    model, _, _ = load_model(tmp_path / "ours" / "model.safetensors")
    hf_model = transformers.GPT2LMHeadModel.from_pretrained(source).eval()
    ids = np.random.default_rng(0).integers(0, 400, 48).tolist()
    np.testing.assert_allclose(our_logits(model, ids), hf_logits(hf_model, ids), atol=1e-4, rtol=0)
    assert our_greedy(model, ids[:8], 16, 399) == hf_greedy(hf_model, ids[:8], 16, 399)


def test_import_reads_the_original_gpt2_layout(tmp_path):
    """OpenAI's GPT-2 files on the Hub name weights without `transformer.` and carry `attn.bias` mask buffers."""
    from safetensors.numpy import load_file, save_file

    source = random_hf_model(tmp_path, n_layer=2, n_head=2, n_embd=16, vocab_size=64)
    tensors = load_file(source / "model.safetensors")
    tensors = {name.removeprefix("transformer."): array for name, array in tensors.items()}
    for layer in range(2):
        tensors[f"h.{layer}.attn.bias"] = np.tril(np.ones((64, 64), np.float32))[None, None]
    save_file(tensors, str(source / "model.safetensors"), metadata={"format": "pt"})
    assert main_import([str(source), "--out", str(tmp_path / "ours.safetensors")]) == 0
    model, _, _ = load_model(tmp_path / "ours.safetensors")
    hf_model = transformers.GPT2LMHeadModel.from_pretrained(source).eval()
    ids = list(range(40))
    np.testing.assert_allclose(our_logits(model, ids), hf_logits(hf_model, ids), atol=1e-4, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["float32", "float16"])
def test_import_export_round_trip_is_bit_identical(tmp_path, tokenizer, dtype):
    source = random_hf_model(tmp_path, vocab_size=tokenizer.vocab_size, dtype=dtype)
    tokenizer.save_hf(source)
    checkpoint = tmp_path / "ours" / "model.safetensors"
    assert main_import([str(source), "--out", str(checkpoint)]) == 0
    assert load_tokenizer(checkpoint.parent / "tokenizer.json").merges == tokenizer.merges
    assert export_main([str(checkpoint), str(tmp_path / "back")]) == 0
    assert safetensors_bytes(tmp_path / "back" / "model.safetensors") == safetensors_bytes(source / "model.safetensors")
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert json.loads((tmp_path / "back" / name).read_text()) == json.loads((source / name).read_text()), name
    load_hf(tmp_path / "back")


def test_tokenizer_without_byte_order_ids_is_copied_and_exported_back(tmp_path, capsys):
    """A tokenizer trained by Hugging Face `tokenizers` numbers its byte tokens its own way: a BPETokenizer cannot
    keep those ids, so import copies the files and export writes them back unchanged."""
    from tokenizers import ByteLevelBPETokenizer

    hf_tokenizer = ByteLevelBPETokenizer()
    hf_tokenizer.train_from_iterator([Path(textwrap.__file__).read_text()], vocab_size=400,
                                     special_tokens=["<|endoftext|>"], show_progress=False)
    source = random_hf_model(tmp_path, vocab_size=hf_tokenizer.get_vocab_size())
    transformers.PreTrainedTokenizerFast(tokenizer_object=hf_tokenizer).save_pretrained(source)
    assert main_import([str(source), "--out", str(tmp_path / "ours" / "model.safetensors")]) == 0
    assert "cannot represent" in capsys.readouterr().out
    assert export_main([str(tmp_path / "ours" / "model.safetensors"), str(tmp_path / "back")]) == 0
    assert (tmp_path / "back" / "tokenizer.json").read_bytes() == (source / "tokenizer.json").read_bytes()
    text = "def f(x):\n    return x\n"
    assert (transformers.AutoTokenizer.from_pretrained(tmp_path / "back").encode(text)
            == transformers.AutoTokenizer.from_pretrained(source).encode(text))


# ---- malformed inputs: one line, exit status 2 ----------------------------------------------------------------------

def edit_config(**changes):
    def edit(directory: Path) -> None:
        config = json.loads((directory / "config.json").read_text())
        config.update(changes)
        (directory / "config.json").write_text(json.dumps({k: v for k, v in config.items() if v is not ...}))
    return edit


def resave_as(directory: Path, dtype) -> None:
    transformers.GPT2LMHeadModel.from_pretrained(directory).to(dtype).save_pretrained(directory)


MALFORMED = {
    "missing config": (lambda d: (d / "config.json").unlink(), "config.json: missing"),
    "invalid config": (lambda d: (d / "config.json").write_text("{"), "config.json: not valid JSON"),
    "config without n_embd": (edit_config(n_embd=...), "config.json: missing key 'n_embd'"),
    "non-GPT-2 architecture": (edit_config(model_type="llama", architectures=["LlamaForCausalLM"]),
                               "config.json: architecture LlamaForCausalLM is not GPT-2"),
    "non-GPT-2 model type": (edit_config(model_type="gpt_neo", architectures=None), "model_type is 'gpt_neo'"),
    "untied output head": (edit_config(tie_word_embeddings=False), "config.json: tie_word_embeddings is false"),
    "bfloat16 weights": (lambda d: resave_as(d, torch.bfloat16), "model.safetensors: holds bfloat16 tensors"),
    "wrong shapes": (edit_config(n_embd=64), "model.safetensors: does not match config.json"),
    "missing weights": (lambda d: (d / "model.safetensors").unlink(), "model.safetensors: missing"),
    "torch weights only": (lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"),
                           "pytorch_model.bin: only safetensors"),
    "truncated weights": (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:99]),
                          "model.safetensors: cannot be read"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_directory_fails_with_one_line(tmp_path, capsys, case):
    source = random_hf_model(tmp_path, n_layer=1, n_head=2, n_embd=16, vocab_size=64)
    break_it, expected = MALFORMED[case]
    break_it(source)
    capsys.readouterr()  # drop transformers' progress bars
    out = tmp_path / "ours" / "model.safetensors"
    assert cli_main(["import-hf", str(source), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert "\n" not in message and expected in message and str(source) in message, message
    assert not out.exists()


def test_export_errors_are_one_line(tmp_path, capsys):
    assert export_main([str(tmp_path / "absent.safetensors"), str(tmp_path / "hf")]) == 2
    config = GPTConfig(vocab_size=64, block_size=16, n_layer=1, n_head=2, n_embd=16, pos_encoding="sinusoidal")
    save_checkpoint(tmp_path / "sinusoidal.safetensors", GPT(config, seed=0), {})
    assert export_main([str(tmp_path / "sinusoidal.safetensors"), str(tmp_path / "hf")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "absent.safetensors" in lines[0] and "sinusoidal.safetensors" in lines[1], lines
    assert not (tmp_path / "hf").exists()


# ---- outputs that hold someone else's files: refused unless --force -------------------------------------------------

def test_export_refuses_to_overwrite_a_model_directorys_files_unless_forced(release, tmp_path, capsys):
    out = tmp_path / "hf"
    out.mkdir()
    (out / "config.json").write_text('{"mine": true}')
    (out / "notes.txt").write_text("keep")
    assert export_main([str(release), str(out)]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "config.json" in message and "--force" in message and str(out) in message
    assert (out / "config.json").read_text() == '{"mine": true}' and not (out / "model.safetensors").exists()
    assert export_main([str(release), str(out), "--force"]) == 0
    assert json.loads((out / "config.json").read_text())["model_type"] == "gpt2"
    assert (out / "tokenizer.json").is_file() and (out / "notes.txt").read_text() == "keep"
    assert export_main([str(release), str(out)]) == 2  # its own earlier export too: say --force to replace it


def test_import_refuses_to_replace_a_checkpoint_or_a_tokenizer_unless_forced(hf_dir, tmp_path, capsys):
    out = tmp_path / "ours" / "model.safetensors"
    out.parent.mkdir()
    out.write_bytes(b"keep")
    assert main_import([str(hf_dir), "--out", str(out)]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and str(out) in message and "--force" in message
    assert out.read_bytes() == b"keep" and not (out.parent / "tokenizer.json").exists()
    assert main_import([str(hf_dir), "--out", str(out), "--force"]) == 0
    assert load_model(out)[0].config.n_embd == 16
    beside = tmp_path / "other" / "tokenizer.json"
    beside.parent.mkdir()
    beside.write_text("mine")
    assert main_import([str(hf_dir), "--out", str(beside.parent / "model.safetensors")]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and str(beside) in message and "--force" in message
    assert beside.read_text() == "mine" and not (beside.parent / "model.safetensors").exists()
