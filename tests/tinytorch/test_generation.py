"""tinytorch.generation on its own terms: the KV-cached decoder against full recomputation, the sliding window,
sampling statistics and seeds, stopping, streaming, config validation; and tinygpt.code_completion's rules.

Parity with Hugging Face transformers is in test_hf_generation_parity.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tinygpt.code_completion import FunctionEnd, block_end, extract_function, find_block_start, prepare_prompt
from tinygpt.generate import gpt_decoder
from tinygpt.model import GPT, GPTConfig
from tinytorch.generation import (
    STRATEGIES,
    Decoder,
    GenerationConfig,
    GenerationConfigError,
    StopStrings,
    TextStreamer,
    generate,
    truncate_at_stop_string,
)
from tinytorch.generation.search import sample_tokens

VOCAB, BLOCK = 80, 32


@pytest.fixture(scope="module")
def model() -> GPT:
    gpt = GPT(GPTConfig(vocab_size=VOCAB, block_size=BLOCK, n_layer=2, n_head=4, n_embd=32), seed=3)
    for param in gpt.parameters():
        if param.ndim == 2:
            param.data *= 4.0  # less uniform distributions, so greedy and beam choices are clear-cut
    return gpt.eval()


def full_forward_logits(model: GPT, tokens: np.ndarray) -> np.ndarray:
    with tt.no_grad():
        return model(tokens)[0].data[:, -1, :]


# ---- the decoder: KV cache and sliding window ------------------------------------------------------------------

def run_decoder(decoder: Decoder, prompts: np.ndarray, steps: int, seed: int = 0) -> list[np.ndarray]:
    """Logits at every step, feeding random tokens (the same ones for every decoder)."""
    rng = np.random.default_rng(seed)
    logits = [decoder.start(prompts)]
    for _ in range(steps):
        logits.append(decoder.advance(rng.integers(0, VOCAB, len(prompts))))
    return logits


def test_cached_logits_match_full_recomputation_within_the_context(model):
    prompts = np.random.default_rng(0).integers(0, VOCAB, (3, 5))
    decoder = gpt_decoder(model)
    rng = np.random.default_rng(1)
    logits = decoder.start(prompts)
    for _ in range(BLOCK - 6):
        np.testing.assert_allclose(logits, full_forward_logits(model, decoder.tokens), atol=1e-5, rtol=1e-5)
        logits = decoder.advance(rng.integers(0, VOCAB, 3))
    assert decoder.slides == 0


@pytest.mark.parametrize("prompt_len", [4, BLOCK - 1, BLOCK, 3 * BLOCK + 5])
def test_cached_and_uncached_agree_past_the_context(model, prompt_len):
    prompts = np.random.default_rng(prompt_len).integers(0, VOCAB, (2, prompt_len))
    cached, uncached = gpt_decoder(model, use_cache=True), gpt_decoder(model, use_cache=False)
    steps = 2 * BLOCK + 3  # enough to slide the window a few times
    for ours, reference in zip(run_decoder(cached, prompts, steps), run_decoder(uncached, prompts, steps)):
        np.testing.assert_allclose(ours, reference, atol=1e-5, rtol=1e-5)
    assert cached.slides == uncached.slides > 0
    assert cached.tokens.shape[1] - cached.window_start <= BLOCK


def test_window_keeps_the_last_tokens_after_a_slide(model):
    decoder = gpt_decoder(model)
    decoder.start(np.arange(BLOCK)[None] % VOCAB)
    logits = decoder.advance(np.array([7]))
    assert decoder.slides == 1 and decoder.tokens.shape[1] - decoder.window_start == decoder.window_keep
    np.testing.assert_allclose(logits, full_forward_logits(model, decoder.tokens[:, decoder.window_start:]),
                               atol=1e-5, rtol=1e-5)


def test_reorder_follows_the_chosen_rows(model):
    prompts = np.random.default_rng(2).integers(0, VOCAB, (3, 6))
    decoder = gpt_decoder(model)
    decoder.start(prompts)
    decoder.reorder(np.array([2, 2, 0]))
    logits = decoder.advance(np.array([1, 2, 3]))
    expected = np.concatenate([prompts[[2, 2, 0]], [[1], [2], [3]]], axis=1)
    np.testing.assert_allclose(logits, full_forward_logits(model, expected), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_long_inputs_never_crash_and_cache_does_not_change_tokens(model, strategy):
    prompts = np.random.default_rng(5).integers(0, VOCAB, (2, 2 * BLOCK + 3))
    extra = {"seed": 1} if strategy == "sample" else {"num_beams": 3} if strategy == "beam" else {}
    config = GenerationConfig(strategy=strategy, max_new_tokens=BLOCK + 4, **extra)
    cached = generate(gpt_decoder(model, True), prompts, config)
    uncached = generate(gpt_decoder(model, False), prompts, config)
    assert cached.tokens == uncached.tokens
    assert all(len(tokens) == BLOCK + 4 for tokens in cached.tokens)


# ---- decoding loops --------------------------------------------------------------------------------------------

def test_batched_prompts_equal_one_by_one(model):
    prompts = np.random.default_rng(6).integers(0, VOCAB, (3, 7))
    for config in (GenerationConfig(max_new_tokens=10, eos_token_id=5),
                   GenerationConfig(strategy="beam", num_beams=3, num_return_sequences=2, max_new_tokens=10)):
        batched = generate(gpt_decoder(model), prompts, config)
        single = [generate(gpt_decoder(model), row[None], config) for row in prompts]
        assert batched.tokens == [tokens for output in single for tokens in output.tokens]


def test_sampling_is_reproducible_with_a_seed(model):
    prompts = np.zeros((2, 3), dtype=np.int64)
    config = GenerationConfig(strategy="sample", max_new_tokens=20, seed=7, top_k=20, num_return_sequences=2)
    first = generate(gpt_decoder(model), prompts, config).tokens
    assert first == generate(gpt_decoder(model), prompts, config).tokens
    other = GenerationConfig(strategy="sample", max_new_tokens=20, seed=8, top_k=20, num_return_sequences=2)
    assert first != generate(gpt_decoder(model), prompts, other).tokens
    assert first[0] != first[1]  # the sequences of one prompt are drawn independently


def test_sample_tokens_follows_the_distribution():
    probs = np.array([[0.5, 0.0, 0.3, 0.2, 0.0]], dtype=np.float32)
    draws = sample_tokens(np.repeat(probs, 20000, axis=0), np.random.default_rng(0))
    frequencies = np.bincount(draws, minlength=5) / len(draws)
    np.testing.assert_allclose(frequencies, probs[0], atol=0.015)
    assert frequencies[1] == frequencies[4] == 0  # filtered tokens are never drawn


def test_top_k_one_sampling_is_greedy(model):
    prompts = np.random.default_rng(8).integers(0, VOCAB, (2, 4))
    greedy = generate(gpt_decoder(model), prompts, GenerationConfig(max_new_tokens=12))
    sampled = generate(gpt_decoder(model), prompts, GenerationConfig(strategy="sample", top_k=1, max_new_tokens=12))
    assert greedy.tokens == sampled.tokens


def test_end_of_text_finishes_a_row_and_pads_nothing_after_it(model):
    prompts = np.random.default_rng(9).integers(0, VOCAB, (4, 3))
    free = generate(gpt_decoder(model), prompts, GenerationConfig(max_new_tokens=10))
    row = free.tokens[0]
    stop_at = next(k for k in range(1, len(row)) if row[k] not in row[:k])  # a token new to row 0 ends it there
    eos = row[stop_at]
    output = generate(gpt_decoder(model), prompts, GenerationConfig(max_new_tokens=10, eos_token_id=eos))
    assert output.tokens[0] == row[:stop_at + 1] and output.finish_reasons[0] == "stop"
    for tokens, reason in zip(output.tokens, output.finish_reasons):
        assert (tokens[-1] == eos) == (reason == "stop") and eos not in tokens[:-1]


def test_zero_new_tokens_returns_nothing(model):
    prompts = np.ones((2, 3), dtype=np.int64)
    for strategy in ("greedy", "beam"):
        output = generate(gpt_decoder(model), prompts, GenerationConfig(strategy=strategy, max_new_tokens=0))
        assert output.tokens == [[], []] and output.finish_reasons == ["length", "length"]


def test_stop_strings_finish_rows(model):
    decode = "".join  # a fake tokenizer: token i is the character chr(48 + i)
    letters = lambda ids: decode(chr(48 + i) for i in ids)  # noqa: E731
    prompts = np.random.default_rng(10).integers(0, VOCAB, (1, 3))
    free = generate(gpt_decoder(model), prompts, GenerationConfig(max_new_tokens=12)).tokens[0]
    stop = letters(free[4:6])
    output = generate(gpt_decoder(model), prompts, GenerationConfig(max_new_tokens=12),
                      stopping=[StopStrings([stop], letters)])
    text = letters(output.tokens[0])
    assert stop in text and stop not in text[:-1] and output.finish_reasons == ["stop"]
    assert truncate_at_stop_string(text, [stop]) == (text[:text.index(stop)], stop)


# ---- streaming -------------------------------------------------------------------------------------------------

def test_streamer_holds_back_stop_strings_and_incomplete_characters():
    pieces = ["de", "f f", "\xe2", "\x82\xac", "(", "\n", "\n", "x"]  # "\xe2\x82\xac" is the bytes of "€"
    table = {i: piece.encode("latin-1") for i, piece in enumerate(pieces)}
    decode = lambda ids: b"".join(table[i] for i in ids).decode("utf-8", errors="replace")  # noqa: E731
    written: list[str] = []
    streamer = TextStreamer(decode, written.append, stop_strings=["\n\n"], eos_token_id=99)
    for token in range(len(pieces)):
        streamer.put(np.array([token]))
    streamer.end()
    assert "".join(written) == "def f€(" and "\ufffd" not in written
    assert written[:2] == ["de", "f f"]  # text appears as soon as it is settled


def test_streamer_flushes_at_the_end_and_skips_end_of_text():
    written: list[str] = []
    streamer = TextStreamer(lambda ids: "".join("ab"[i] for i in ids), written.append, ["bb"], eos_token_id=5)
    for token in (0, 1, 5, 0):
        streamer.put(np.array([token]))
    streamer.end()
    assert "".join(written) == "ab"


# ---- configuration ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, message", [
    (dict(strategy="sample", temperature=0.0), "temperature must be > 0"),
    (dict(strategy="sample", top_p=0.0), "top_p must be in (0, 1]"),
    (dict(strategy="sample", top_p=1.5), "top_p must be in (0, 1]"),
    (dict(strategy="sample", top_k=-1), "top_k must be >= 0"),
    (dict(strategy="sample", min_p=1.5), "min_p must be in [0, 1]"),
    (dict(strategy="beam", num_beams=0), "num_beams must be >= 1"),
    (dict(strategy="beam", num_beams=2, num_return_sequences=3), "num_return_sequences must be <= num_beams (2)"),
    (dict(strategy="beam", early_stopping="sometimes"), "early_stopping must be True, False or 'never'"),
    (dict(max_new_tokens=-1), "max_new_tokens must be >= 0"),
    (dict(strategy="nucleus"), "unknown strategy 'nucleus'"),
    (dict(strategy="greedy", temperature=0.5), "temperature=0.5 applies only to strategy 'sample'"),
    (dict(strategy="sample", num_beams=4), "num_beams=4 applies only to strategy 'beam'"),
    (dict(strategy="greedy", num_return_sequences=2), "greedy decoding gives one sequence"),
    (dict(repetition_penalty=0.0), "repetition_penalty must be > 0"),
])
def test_invalid_settings_name_the_problem(settings, message):
    with pytest.raises(GenerationConfigError) as error:
        GenerationConfig(**settings).validate()
    assert message in str(error.value)


# ---- code completion -------------------------------------------------------------------------------------------

def test_block_ends_at_the_first_line_at_or_left_of_the_def():
    text = 'def f(x):\n    s = """\nnot the end\n"""\n    t = (1,\n2)\n\n    return s\nprint(f)\n'
    assert text[block_end(text, 0):] == "print(f)\n"
    method = "class A:\n    def g(self):\n        return 1\n    def h(self):\n"
    start = find_block_start(method, method.index("        return"))  # the prompt ends after `def g`
    assert method[start:block_end(method, start)] == "    def g(self):\n        return 1\n"
    assert block_end("def f():\n    x = 1\n  ", 0) is None  # an indented start of line decides nothing yet


def test_extract_function_returns_exactly_the_block():
    block = extract_function("import os\n\n@cache\ndef f(x):\n", "    return x\n\n\ndef g():\n")
    assert block.text == "@cache\ndef f(x):\n    return x\n" and block.ended and block.compiles
    assert not block.truncated


def test_a_body_cut_by_the_token_limit_is_trimmed_until_it_parses():
    block = extract_function("def f(x):\n", "    y = x + 1\n    if y:\n        return [y fo")
    assert block.truncated and block.compiles and block.text == "def f(x):\n    y = x + 1\n"
    header_only = extract_function("def f(x):\n", "    return (x +")
    assert header_only.text == "def f(x):\n    pass\n" and header_only.compiles


def test_a_comment_prompt_yields_the_function_the_model_writes():
    prompt = prepare_prompt("# return the largest of three numbers")
    assert prompt.endswith("\n")
    block = extract_function(prompt, "def largest(a, b, c):\n    return max(a, b, c)\n\nprint(1)\n")
    assert block.text == "def largest(a, b, c):\n    return max(a, b, c)\n" and block.compiles
    assert extract_function(prompt, "x = 1\n") is None


def test_function_end_is_a_stopping_criterion():
    pieces = ["    return", " x\n", "def", " g"]
    criterion = FunctionEnd("def f(x):\n", lambda ids: "".join(pieces[i] for i in ids))
    assert criterion(np.array([[0, 1], [0, 1]])).tolist() == [False, False]
    assert criterion(np.array([[0, 1, 2], [0, 1, 1]])).tolist() == [True, False]
