"""The decoding explainer (`tinytorch.generation.DecodingTrace`) and the model's attention maps: the trace sees exactly
what the decoding loop sees and changes nothing; the maps are probabilities of the real forward pass (their parity
with transformers' `output_attentions` is in test_hf.py)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tinygpt.generate import gpt_decoder
from tinygpt.model import GPT, GPTConfig
from tinytorch.generation import DecodingTrace, GenerationConfig, generate, softmax

VOCAB = 50


@pytest.fixture(scope="module")
def model() -> GPT:
    gpt = GPT(GPTConfig(vocab_size=VOCAB, block_size=32, n_layer=2, n_head=4, n_embd=32), seed=5)
    for param in gpt.parameters():
        if param.ndim == 2:
            param.data *= 4.0
    return gpt.eval()


PROMPT = np.array([[1, 7, 3, 9]])
SAMPLING = GenerationConfig(strategy="sample", max_new_tokens=12, seed=4, temperature=0.7, top_k=8, top_p=0.9,
                            min_p=0.05, repetition_penalty=1.3, no_repeat_ngram_size=2)


def test_trace_changes_nothing_and_records_every_step(model):
    trace = DecodingTrace(top=5)
    traced = generate(gpt_decoder(model), PROMPT, SAMPLING, trace=trace).tokens[0]
    assert traced == generate(gpt_decoder(model), PROMPT, SAMPLING).tokens[0]
    assert [step.step for step in trace.steps] == list(range(len(traced)))
    assert [step.chosen for step in trace.steps] == traced


def test_stages_follow_the_processors_in_hugging_face_order(model):
    trace = DecodingTrace(top=5)
    generate(gpt_decoder(model), PROMPT, SAMPLING, trace=trace)
    names = [stage.name.split("(")[0] for stage in trace.steps[0].stages]
    assert names == ["model", "RepetitionPenalty", "NoRepeatNGram", "Temperature", "TopKFilter", "TopPFilter",
                     "MinPFilter"]
    for step in trace.steps:
        top_k = step.stages[4]
        assert top_k.kept == 8 and len(top_k.token_ids) == 5  # top-k keeps 8 tokens; the trace shows the top 5
        assert all(b.kept <= a.kept for a, b in zip(step.stages[3:], step.stages[4:]))  # filters only remove
        final = step.stages[-1]
        assert len(step.chosen_probs) == len(step.stages) and step.chosen_probs[-1] > 0  # it survived every filter
        for stage in step.stages:
            assert stage.probs == sorted(stage.probs, reverse=True) and sum(stage.probs) <= 1 + 1e-6
        assert final.kept >= 1


def test_model_stage_is_the_models_own_distribution(model):
    config = GenerationConfig(strategy="greedy", max_new_tokens=6)
    trace = DecodingTrace(top=VOCAB)
    tokens = generate(gpt_decoder(model), PROMPT, config, trace=trace).tokens[0]
    with tt.no_grad():
        logits = model(np.array([PROMPT[0].tolist() + tokens[:2]]))[0].data[0, -1]  # the logits of step 2
    probs = softmax(logits[None])[0]
    step = trace.steps[2]
    np.testing.assert_allclose(step.stages[0].probs, np.sort(probs)[::-1], atol=1e-6)
    assert step.chosen == tokens[2] == step.stages[0].token_ids[0]  # greedy, no processor: the model's top token
    assert step.chosen_probs == pytest.approx([probs[tokens[2]]], abs=1e-6)


def test_trace_refuses_beam_search_and_a_bad_size(model):
    with pytest.raises(ValueError, match="beam search"):
        generate(gpt_decoder(model), PROMPT, GenerationConfig(strategy="beam", num_beams=2, max_new_tokens=3),
                 trace=DecodingTrace())
    with pytest.raises(ValueError, match="top must be >= 1"):
        DecodingTrace(top=0)


def test_attention_maps_are_causal_distributions_and_keep_the_logits(model):
    ids = np.array([[1, 7, 3, 9, 4, 4, 2], [5, 5, 5, 1, 2, 3, 4]])
    logits, attentions = model.forward_with_attentions(ids)
    with tt.no_grad():
        np.testing.assert_allclose(logits, model(ids)[0].data, atol=1e-5)
    assert len(attentions) == 2
    for layer in attentions:
        assert layer.shape == (2, 4, 7, 7) and layer.dtype == np.float32
        np.testing.assert_allclose(layer.sum(axis=-1), 1, atol=1e-5)
        assert not np.triu(layer, k=1).any()  # no position attends to a later one
    with pytest.raises(ValueError, match="token ids"):
        model.forward_with_attentions(np.array([[VOCAB]]))
    with pytest.raises(ValueError, match="batch, time"):
        model.forward_with_attentions(np.zeros((1, 33), dtype=np.int64))


class Stop(Exception):
    pass


def test_on_token_sees_each_token_as_chosen_with_its_step_settled(model):
    from tinygpt.generate import generate as generate_text
    from tinytorch.text import CharTokenizer

    tokenizer = CharTokenizer.train(["abcdefghij \n():"])
    small = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16), seed=1)
    seen, trace = [], DecodingTrace(top=3)

    def on_token(token: int) -> None:
        assert trace.steps[-1].chosen == token  # the trace's step is settled before the callback runs
        seen.append(token)

    config = GenerationConfig(strategy="sample", max_new_tokens=10, seed=2)
    completion = generate_text(small.eval(), tokenizer, "abc", config, trace=trace, on_token=on_token)[0]
    assert seen == completion.tokens and len(trace.steps) == len(seen)

    def stop_after_three(token: int) -> None:
        if len(trace.steps) == 3:
            raise Stop

    trace = DecodingTrace(top=3)
    with pytest.raises(Stop):
        generate_text(small, tokenizer, "abc", config, trace=trace, on_token=stop_after_three)
    assert len(trace.steps) == 3


def test_generate_explain_prints_each_step_after_the_text(release, capsys):
    from tinygpt.cli.generate import main

    argv = ["--checkpoint", str(release), "--prompt", "def f(x):", "--strategy", "sample", "--seed", "1",
            "--temperature", "0.7", "--top-k", "5", "--max-new-tokens", "6", "--explain", "--explain-top", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("--- step ")]
    assert 1 <= len(steps) <= 6 and steps[0].startswith("--- step 1: chose ")
    assert "  model " in out and "Temperature(0.7)" in out and "TopKFilter(5)" in out and "(5 kept)" in out
    first_table = out.split("--- step 2")[0].splitlines()
    model_line = next(line for line in first_table if line.startswith("  model "))
    assert model_line.count(" 0.") + model_line.count(" 1.0") <= 3  # --explain-top 3 candidates at most


@pytest.mark.parametrize("extra, message", [
    (["--strategy", "beam"], "--explain follows one sequence"),
    (["--num-return-sequences", "2"], "--explain follows one sequence"),
    (["--explain-top", "0"], "--explain-top must be in [1, 50]"),
])
def test_generate_explain_refuses_what_it_cannot_follow(release, capsys, extra, message):
    from tinygpt.cli.generate import main

    assert main(["--checkpoint", str(release), "--prompt", "x = 1", "--explain", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
