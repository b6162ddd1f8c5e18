"""Generation parity with Hugging Face transformers (test reference only).

1. Logits processors: ours and transformers' on the same random logits give the same scores, -inf for -inf.
2. The processor chain that a GenerationConfig builds has the classes transformers' `generate` builds, in order.
3. Greedy search and beam search on a TinyGPT and a GPT2LMHeadModel holding the same weights give the same token
   sequences, and beam search the same `sequences_scores` (1e-4), for num_beams 2 and 4, length_penalty 0, 1, 2,
   every early_stopping mode and num_return_sequences > 1.

The random models are shaped so that these comparisons mean something (see `random_gpt`), and a last test checks
that the beam settings really change the results on them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tinygpt.generate import gpt_decoder  # noqa: E402
from tinygpt.hf.mapping import to_hf_config, to_hf_state_dict  # noqa: E402
from tinygpt.model import GPT, GPTConfig  # noqa: E402
from tinytorch.generation import (  # noqa: E402
    GenerationConfig,
    MinPFilter,
    NoRepeatNGram,
    RepetitionPenalty,
    Temperature,
    TopKFilter,
    TopPFilter,
    generate,
)

hf_process = transformers.generation.logits_process
transformers.logging.set_verbosity_error()
VOCAB, PROMPT_LEN, MAX_NEW = 64, 5, 12
EOS, EOS_LOGIT = VOCAB - 1, 1.2


def random_gpt(seed: int) -> GPT:
    """A random GPT with peaked distributions (weight matrices scaled up: clear winners, no near-ties) whose
    end-of-text logit is held at EOS_LOGIT: embedding dimension 0 is zero for every token but end-of-text, and
    ln_f always outputs 1 there. EOS_LOGIT sits between the typical first and second logits, so end-of-text wins
    now and then: hypotheses finish at many different lengths and the early-stopping rules matter."""
    model = GPT(GPTConfig(vocab_size=VOCAB, block_size=48, n_layer=2, n_head=2, n_embd=32), seed=seed)
    for param in model.parameters():
        if param.ndim == 2:
            param.data *= 5.0
    embedding = model.wte.weight.data
    embedding[:, 0] = 0.0
    embedding[EOS] = 0.0
    embedding[EOS, 0] = EOS_LOGIT
    model.ln_f.weight.data[0], model.ln_f.bias.data[0] = 0.0, 1.0
    return model.eval()


def hf_twin(model: GPT, eos: int):
    fields = {k: v for k, v in to_hf_config(model.config, eos).items() if k != "architectures"}
    hf_model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**fields))
    state = {name: torch.from_numpy(array) for name, array in to_hf_state_dict(model.weights()).items()}
    missing, unexpected = hf_model.load_state_dict(state, strict=False)
    assert missing == ["lm_head.weight"] and not unexpected  # lm_head is tied to wte
    return hf_model.eval()


@pytest.fixture(scope="module", params=[0, 1])
def pair(request):
    """(our model, transformers' twin, end-of-text id, prompts (2, 5))."""
    model = random_gpt(request.param)
    prompts = np.random.default_rng(request.param).integers(0, EOS, (2, PROMPT_LEN))
    return model, hf_twin(model, EOS), EOS, prompts


def hf_generate(hf_model, prompts: np.ndarray, eos: int, **settings):
    input_ids = torch.from_numpy(prompts)
    with torch.no_grad():
        return hf_model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                                 max_new_tokens=MAX_NEW, pad_token_id=eos, eos_token_id=eos,
                                 output_scores=True, return_dict_in_generate=True, **settings)


def padded_sequences(prompts: np.ndarray, tokens: list[list[int]], pad: int) -> np.ndarray:
    """Our output laid out as transformers returns it: prompt + generated tokens, padded to the longest."""
    per_prompt = len(tokens) // len(prompts)
    longest = max(len(t) for t in tokens)
    return np.array([np.concatenate([prompts[i // per_prompt], t + [pad] * (longest - len(t))])
                     for i, t in enumerate(tokens)])


# ---- 1. processors ---------------------------------------------------------------------------------------------

def random_scores(seed: int, batch: int = 4, vocab: int = 50) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 2, (batch, vocab)).astype(np.float32)
    scores[0, :6] = scores[0, 6]  # a tie that straddles a top-k cutoff
    scores[1, -5:] = -np.inf  # tokens an earlier filter already removed
    return scores


PROCESSOR_PAIRS = [
    (Temperature(0.7), hf_process.TemperatureLogitsWarper(0.7)),
    (TopKFilter(1), hf_process.TopKLogitsWarper(1)),
    (TopKFilter(5), hf_process.TopKLogitsWarper(5)),
    (TopKFilter(80), hf_process.TopKLogitsWarper(80)),
    (TopPFilter(0.05), hf_process.TopPLogitsWarper(0.05)),
    (TopPFilter(0.5), hf_process.TopPLogitsWarper(0.5)),
    (TopPFilter(0.9), hf_process.TopPLogitsWarper(0.9)),
    (TopPFilter(1.0), hf_process.TopPLogitsWarper(1.0)),
    (MinPFilter(0.0), hf_process.MinPLogitsWarper(0.0)),
    (MinPFilter(0.1), hf_process.MinPLogitsWarper(0.1)),
    (MinPFilter(0.9), hf_process.MinPLogitsWarper(0.9)),
    (RepetitionPenalty(1.3), hf_process.RepetitionPenaltyLogitsProcessor(1.3)),
    (RepetitionPenalty(0.8), hf_process.RepetitionPenaltyLogitsProcessor(0.8)),
    (NoRepeatNGram(1), hf_process.NoRepeatNGramLogitsProcessor(1)),
    (NoRepeatNGram(2), hf_process.NoRepeatNGramLogitsProcessor(2)),
    (NoRepeatNGram(3), hf_process.NoRepeatNGramLogitsProcessor(3)),
]


@pytest.mark.parametrize("ours, theirs", PROCESSOR_PAIRS, ids=[repr(p[0]) for p in PROCESSOR_PAIRS])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_processor_matches_transformers(ours, theirs, seed):
    scores = random_scores(seed)
    input_ids = np.random.default_rng(seed + 10).integers(0, 8, (4, 12))  # small ids: repeats and n-grams
    expected = theirs(torch.from_numpy(input_ids), torch.from_numpy(scores.copy())).numpy()
    result = ours(input_ids, scores.copy())
    assert result.dtype == np.float32
    np.testing.assert_array_equal(np.isinf(result), np.isinf(expected))
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


def test_top_k_keeps_ties_at_the_cutoff():
    scores = np.array([[3.0, 2.0, 2.0, 2.0, 1.0]], dtype=np.float32)
    assert np.isfinite(TopKFilter(2)(None, scores)).sum() == 4


def test_top_p_keeps_the_token_that_crosses_the_threshold():
    scores = np.log(np.array([[0.5, 0.3, 0.2]], dtype=np.float32))
    np.testing.assert_array_equal(np.isfinite(TopPFilter(0.6)(None, scores)), [[True, True, False]])


SAMPLING_SETTINGS = [
    dict(temperature=0.7, top_k=10, top_p=0.9, min_p=0.05, repetition_penalty=1.2, no_repeat_ngram_size=2),
    dict(temperature=1.5, top_p=0.5),
    dict(top_k=3, min_p=0.2),
]


@pytest.mark.parametrize("settings", SAMPLING_SETTINGS)
def test_processor_chain_matches_transformers_order_and_values(pair, settings):
    hf_config = transformers.GenerationConfig(do_sample=True, top_k=settings.get("top_k", 0), **{
        k: v for k, v in settings.items() if k != "top_k"})  # top_k=0: transformers would default to 50
    hf_model = pair[1]
    hf_chain = hf_model._get_logits_processor(generation_config=hf_config, input_ids_seq_length=12, device="cpu")
    ours = GenerationConfig(strategy="sample", **settings).logits_processors()
    ours_names = [type(p).__name__ for p in ours]
    expected_names = {"RepetitionPenaltyLogitsProcessor": "RepetitionPenalty", "TemperatureLogitsWarper": "Temperature",
                      "NoRepeatNGramLogitsProcessor": "NoRepeatNGram", "TopKLogitsWarper": "TopKFilter",
                      "TopPLogitsWarper": "TopPFilter", "MinPLogitsWarper": "MinPFilter"}
    assert ours_names == [expected_names[type(p).__name__] for p in hf_chain]
    scores = random_scores(3)
    input_ids = np.random.default_rng(4).integers(0, 8, (4, 12))
    expected = hf_chain(torch.from_numpy(input_ids), torch.from_numpy(scores.copy())).numpy()
    result = ours(input_ids, scores.copy())
    np.testing.assert_array_equal(np.isinf(result), np.isinf(expected))
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6)


# ---- 3. greedy and beam search on the same weights -------------------------------------------------------------

@pytest.mark.parametrize("repetition_penalty, ngram", [(1.0, 0), (1.3, 0), (1.0, 2), (1.2, 3)])
def test_greedy_matches_transformers(pair, repetition_penalty, ngram):
    model, hf_model, eos, prompts = pair
    settings = {"repetition_penalty": repetition_penalty, "no_repeat_ngram_size": ngram}
    expected = hf_generate(hf_model, prompts, eos, **settings).sequences.numpy()
    config = GenerationConfig(max_new_tokens=MAX_NEW, eos_token_id=eos, **settings)
    output = generate(gpt_decoder(model), prompts, config)
    np.testing.assert_array_equal(padded_sequences(prompts, output.tokens, eos), expected)


BEAM_SETTINGS = list(itertools.product([2, 4], [0.0, 1.0, 2.0], [True, False, "never"]))


@pytest.mark.parametrize("num_beams, length_penalty, early_stopping", BEAM_SETTINGS)
def test_beam_search_matches_transformers(pair, num_beams, length_penalty, early_stopping):
    model, hf_model, eos, prompts = pair
    for returned in sorted({2, num_beams}):
        settings = dict(num_beams=num_beams, length_penalty=length_penalty, early_stopping=early_stopping,
                        num_return_sequences=returned)
        expected = hf_generate(hf_model, prompts, eos, **settings)
        config = GenerationConfig(strategy="beam", max_new_tokens=MAX_NEW, eos_token_id=eos, **settings)
        output = generate(gpt_decoder(model), prompts, config)
        np.testing.assert_array_equal(padded_sequences(prompts, output.tokens, eos), expected.sequences.numpy())
        np.testing.assert_allclose(output.scores, expected.sequences_scores.numpy(), atol=1e-4, rtol=0)


@pytest.mark.parametrize("repetition_penalty, ngram", [(1.3, 0), (1.0, 2)])
def test_beam_search_with_repetition_processors_matches_transformers(pair, repetition_penalty, ngram):
    model, hf_model, eos, prompts = pair
    settings = dict(num_beams=3, num_return_sequences=3, repetition_penalty=repetition_penalty,
                    no_repeat_ngram_size=ngram)
    expected = hf_generate(hf_model, prompts, eos, **settings)
    output = generate(gpt_decoder(model), prompts,
                      GenerationConfig(strategy="beam", max_new_tokens=MAX_NEW, eos_token_id=eos, **settings))
    np.testing.assert_array_equal(padded_sequences(prompts, output.tokens, eos), expected.sequences.numpy())
    np.testing.assert_allclose(output.scores, expected.sequences_scores.numpy(), atol=1e-4, rtol=0)


def test_the_beam_settings_are_discriminating(pair):
    """The parity above means something only if the settings change the result: early_stopping and
    length_penalty must each change some output on these models, and some hypotheses must end on end-of-text."""
    model, _, eos, prompts = pair
    results = {}
    for length_penalty, early_stopping in itertools.product([0.0, 1.0, 2.0], [True, False, "never"]):
        config = GenerationConfig(strategy="beam", num_beams=4, num_return_sequences=4, max_new_tokens=MAX_NEW,
                                  eos_token_id=eos, length_penalty=length_penalty, early_stopping=early_stopping)
        output = generate(gpt_decoder(model), prompts, config)
        results[length_penalty, early_stopping] = (output.tokens, np.round(output.scores, 4).tolist())
    modes_differ = [len({repr(results[lp, es]) for es in (True, False, "never")}) > 1 for lp in (0.0, 1.0, 2.0)]
    penalties_differ = [len({repr(results[lp, es]) for lp in (0.0, 1.0, 2.0)}) > 1 for es in (True, False, "never")]
    assert any(modes_differ) and any(penalties_differ)
    assert any(eos in sequence for sequences, _ in results.values() for sequence in sequences)
