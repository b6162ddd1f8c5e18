"""The one-to-one map between TinyGPT and Hugging Face GPT-2: parameters, config and tokenizer.

TinyGPT's `Linear` stores weights as (out, in) like PyTorch; GPT-2's `Conv1D` stores (in, out), so the four
projections per block are transposed on the way across. Everything else is renamed only. No torch needed.

Tokenizers go one way for free (`BPETokenizer.save_hf`); `bpe_from_tokenizer_json` is the way back, for the
`tokenizer.json` files that describe exactly what a `BPETokenizer` does (see its docstring for which ones).
"""

from __future__ import annotations

import numpy as np

from tinygpt.model import GPTConfig
from tinytorch.text import BPETokenizer
from tinytorch.text.hf import bytes_to_unicode, tokenizer_json
from tinytorch.text.pretokenize import compile_pattern

CONV1D_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def to_hf_state_dict(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TinyGPT weights (without the tied lm_head) -> GPT-2 names and layouts (without the tied lm_head)."""
    hf = {}
    for name, array in weights.items():
        if name == "lm_head.weight":
            continue
        if name.endswith(CONV1D_SUFFIXES):
            array = array.T
        hf[f"transformer.{name}"] = np.ascontiguousarray(array)
    return hf


def from_hf_state_dict(hf: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """GPT-2 names and layouts -> TinyGPT weights. Buffers (attn.bias, attn.masked_bias) and lm_head are dropped."""
    weights = {}
    for name, array in hf.items():
        if name == "lm_head.weight" or name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        key = name[len("transformer."):] if name.startswith("transformer.") else name
        if key.endswith(CONV1D_SUFFIXES):
            array = array.T
        weights[key] = np.ascontiguousarray(array, dtype=np.float32)
    return weights


def gpt2_weight_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """The GPT-2 name and shape (Conv1D matrices as (in, out)) of every weight a GPT of this config has, worked out
    from the config alone: import checks a file's shapes with it before allocating anything."""
    embd, vocab = config.n_embd, config.vocab_size
    shapes = {"transformer.wte.weight": (vocab, embd), "transformer.wpe.weight": (config.block_size, embd)}
    per_block = {"ln_1.weight": (embd,), "ln_1.bias": (embd,), "attn.c_attn.weight": (embd, 3 * embd),
                 "attn.c_attn.bias": (3 * embd,), "attn.c_proj.weight": (embd, embd), "attn.c_proj.bias": (embd,),
                 "ln_2.weight": (embd,), "ln_2.bias": (embd,), "mlp.c_fc.weight": (embd, 4 * embd),
                 "mlp.c_fc.bias": (4 * embd,), "mlp.c_proj.weight": (4 * embd, embd), "mlp.c_proj.bias": (embd,)}
    for layer in range(config.n_layer):
        shapes.update({f"transformer.h.{layer}.{name}": shape for name, shape in per_block.items()})
    shapes.update({"transformer.ln_f.weight": (embd,), "transformer.ln_f.bias": (embd,)})
    return shapes


def to_hf_config(config: GPTConfig, eos_token_id: int | None = None) -> dict:
    """A GPT2Config dict describing exactly this TinyGPT (dropout off at inference, GELU-tanh, eps 1e-5)."""
    if config.pos_encoding != "learned" or not config.causal or not config.bias:
        raise ValueError("only the GPT-2 layout (learned positions, causal attention, biases) exports to GPT-2")
    eos = config.vocab_size - 1 if eos_token_id is None else eos_token_id
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.block_size,
        "n_ctx": config.block_size,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "bos_token_id": eos,
        "eos_token_id": eos,
    }


def from_hf_config(hf_config: dict) -> GPTConfig:
    """GPTConfig from a GPT-2 config.json dict; raises ValueError naming what is not GPT-2-compatible."""
    if hf_config.get("model_type") != "gpt2":
        raise ValueError(f"model_type is {hf_config.get('model_type')!r}, only 'gpt2' can be imported")
    activation = hf_config.get("activation_function", "gelu_new")
    if activation not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"activation_function {activation!r} is not GELU-tanh")
    if hf_config.get("n_inner") not in (None, 4 * hf_config["n_embd"]):
        raise ValueError(f"n_inner={hf_config['n_inner']} differs from 4 * n_embd")
    if not abs(hf_config.get("layer_norm_epsilon", 1e-5) - 1e-5) <= 1e-12:  # NaN is refused too
        raise ValueError(f"layer_norm_epsilon {hf_config['layer_norm_epsilon']} differs from 1e-5")
    unsupported = [k for k in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn") if hf_config.get(k)]
    if unsupported or hf_config.get("scale_attn_weights", True) is False:
        raise ValueError(f"unsupported GPT-2 options: {unsupported or ['scale_attn_weights=False']}")
    return GPTConfig(vocab_size=hf_config["vocab_size"], block_size=hf_config["n_positions"],
                     n_layer=hf_config["n_layer"], n_head=hf_config["n_head"], n_embd=hf_config["n_embd"])


# The regex of Hugging Face's ByteLevel pre-tokenizer with use_regex=True (GPT-2's own pattern).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def pretokenizer_pattern(pre_tokenizer: dict | None) -> str:
    """The regex of a byte-level pre-tokenizer: Split(regex, Isolated) then ByteLevel(use_regex=False), as
    `BPETokenizer.save_hf` writes it, or a lone ByteLevel(use_regex=True), as GPT-2's tokenizer has it."""
    if not pre_tokenizer:
        steps = []
    elif pre_tokenizer.get("type") == "Sequence":
        steps = pre_tokenizer.get("pretokenizers", [])
    else:
        steps = [pre_tokenizer]
    kinds = [step.get("type") for step in steps]
    if any(step.get("add_prefix_space") for step in steps):
        raise ValueError("its ByteLevel pre-tokenizer adds a prefix space")
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True):
        return GPT2_PATTERN
    if kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        split = steps[0]
        if split.get("behavior") == "Isolated" and not split.get("invert") and "Regex" in split.get("pattern", {}):
            return split["pattern"]["Regex"]
    raise ValueError(f"pre-tokenizer {kinds} is not byte-level BPE's Split(regex) + ByteLevel")


def adds_no_tokens(post_processor: dict | None) -> bool:
    """Whether a post-processor leaves the ids alone: none, ByteLevel (offsets only), or a template of the bare
    sequence (what transformers 5 writes on `save_pretrained`)."""
    kind = (post_processor or {}).get("type", "ByteLevel")
    if kind == "TemplateProcessing":
        return all(set(piece) == {"Sequence"} for piece in post_processor.get("single", []))
    return kind == "ByteLevel"


def bpe_from_tokenizer_json(document: dict) -> BPETokenizer:
    """A `BPETokenizer` that encodes exactly like this `tokenizer.json`, or ValueError saying why none can.

    Representable: byte-level BPE with no normalizer, whose ids 0..255 are the 256 bytes in byte order, whose
    merges create ids 256, 257, ... in rank order, and whose special tokens come last. That is what `save_hf`
    writes. GPT-2's own tokenizer (and most trained by `tokenizers`) orders its 256 byte tokens differently, so
    its ids cannot be kept; those are copied, not converted.
    """
    model = document.get("model") or {}
    if model.get("type") != "BPE":
        raise ValueError(f"model type {model.get('type')!r} is not BPE")
    options = ("dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "byte_fallback",
               "ignore_merges")
    used = [name for name in options if model.get(name)]
    if used or document.get("normalizer"):
        raise ValueError(f"it uses options a BPETokenizer lacks: {used or ['normalizer']}")
    if not adds_no_tokens(document.get("post_processor")):
        raise ValueError(f"its post-processor adds tokens: {document['post_processor']}")
    decoder = (document.get("decoder") or {}).get("type", "ByteLevel")
    if decoder != "ByteLevel":
        raise ValueError(f"decoder {decoder!r} is not ByteLevel")
    pattern = pretokenizer_pattern(document.get("pre_tokenizer"))
    vocab = model.get("vocab", {})
    if any(vocab.get(character) != byte for byte, character in enumerate(bytes_to_unicode())):
        raise ValueError("its ids 0..255 are not the 256 bytes in byte order")
    try:
        pairs = [merge.split(" ") if isinstance(merge, str) else merge for merge in model.get("merges", [])]
        merges = [(vocab[left], vocab[right], vocab[left + right]) for left, right in pairs]
    except (KeyError, ValueError) as err:
        raise ValueError(f"a merge names a token outside the vocabulary: {err}") from None
    added = sorted(document.get("added_tokens") or [], key=lambda token: token["id"])
    if not all(token.get("special") for token in added):
        raise ValueError("it has added tokens that are not special")
    tokenizer = BPETokenizer(merges, [token["content"] for token in added], pattern)
    rebuilt = tokenizer_json(tokenizer)
    if rebuilt["model"]["vocab"] != vocab or [[t["content"], t["id"]] for t in rebuilt["added_tokens"]] != [
        [t["content"], t["id"]] for t in added
    ]:
        raise ValueError("its ids are not bytes, then one id per merge, then the special tokens")
    return tokenizer


def tokenizer_json_problem(document) -> str | None:
    """What makes a tokenizer.json unusable by any library, not only by a BPETokenizer (a vocabulary that is not
    token -> id, a merge naming tokens outside it, malformed added tokens), or None for a sound one."""
    if not isinstance(document, dict):
        return f"expected a JSON object, got {type(document).__name__}"
    model = document.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("type"), str):
        return "no 'model' object with a 'type'"
    vocab = model.get("vocab")
    if model["type"] == "Unigram":
        if not isinstance(vocab, list):
            return "model.vocab of a Unigram model must be a list"
    elif model["type"] in ("BPE", "WordPiece", "WordLevel"):
        if not isinstance(vocab, dict) or not all(isinstance(token, str) and type(index) is int and index >= 0
                                                  for token, index in vocab.items()):
            return "model.vocab must map tokens to non-negative integer ids"
        if len(set(vocab.values())) != len(vocab):
            return "model.vocab gives one id to several tokens"
    else:
        return f"unknown model type {model['type']!r}"
    if model["type"] == "BPE":
        problem = merges_problem(model.get("merges", []), vocab, model.get("continuing_subword_prefix") or "")
        if problem:
            return problem
    added = document.get("added_tokens") or []
    if not isinstance(added, list) or not all(isinstance(token, dict) and type(token.get("id")) is int
                                              and isinstance(token.get("content"), str) for token in added):
        return "added_tokens must be a list of objects with an integer id and a string content"
    return split_pattern_problem(document.get("pre_tokenizer"))


def split_pattern_problem(pre_tokenizer) -> str | None:
    """What is wrong with the regex of a Split pre-tokenizer (alone or in a Sequence): one that does not compile or
    that backtracks catastrophically on a probe text (see `tinytorch.text.pretokenize.compile_pattern`). Dropping
    characters is no problem here: Hugging Face's Split keeps the text between matches."""
    steps = [pre_tokenizer] if isinstance(pre_tokenizer, dict) else []
    if steps and pre_tokenizer.get("type") == "Sequence":
        steps = pre_tokenizer.get("pretokenizers") if isinstance(pre_tokenizer.get("pretokenizers"), list) else []
    for step in steps:
        pattern = step.get("pattern") if isinstance(step, dict) and step.get("type") == "Split" else None
        if isinstance(pattern, dict) and "Regex" in pattern:
            try:
                compile_pattern(pattern["Regex"], lossless=False)
            except ValueError as err:
                return f"its Split pre-tokenizer's {err}"
    return None


def merges_problem(merges, vocab: dict[str, int], prefix: str) -> str | None:
    """Each BPE merge must be two tokens of the vocabulary whose concatenation is in it too."""
    if not isinstance(merges, list):
        return "model.merges must be a list"
    for merge in merges:
        pair = merge.split(" ") if isinstance(merge, str) else merge
        if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(part, str) for part in pair):
            return f"merge {merge!r} is not a pair of tokens"
        left, right = pair
        merged = left + (right[len(prefix):] if prefix and right.startswith(prefix) else right)
        missing = [token for token in (left, right, merged) if token not in vocab]
        if missing:
            return f"merge {merge!r} names {missing[0]!r}, which is not in the vocabulary"
    return None


def tokenizer_json_largest_id(document: dict) -> int:
    """The largest token id a sound tokenizer.json (see `tokenizer_json_problem`) can produce."""
    vocab = document["model"]["vocab"]
    ids = list(vocab.values()) if isinstance(vocab, dict) else [len(vocab) - 1]
    ids += [token["id"] for token in document.get("added_tokens") or []]
    return max(ids, default=-1)
