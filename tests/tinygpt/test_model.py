"""TinyGPT model: shapes, causal masking, tied weights, memorization, checkpoint round trip and corrupt files."""

import numpy as np
import pytest

import tinytorch as tt
from tinygpt.checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from tinygpt.model import GPT, GPTConfig

TINY = GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32)


def tokens(batch, time, vocab=50, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, (batch, time))


def test_shapes_and_last_only():
    model = GPT(TINY, seed=0)
    idx = tokens(3, 10)
    logits, loss = model(idx)
    assert logits.shape == (3, 10, 50) and loss is None
    last, _ = model(idx, last_only=True)
    assert last.shape == (3, 1, 50)
    np.testing.assert_allclose(last.data[:, 0], logits.data[:, -1], atol=1e-5)
    _, loss = model(idx, idx)
    assert loss.shape == () and np.isfinite(loss.item())


def test_initial_loss_is_near_uniform():
    _, loss = GPT(TINY, seed=0)(tokens(4, 16), tokens(4, 16, seed=1))
    assert abs(loss.item() - np.log(50)) < 0.3


def test_causal_mask_blocks_the_future():
    model = GPT(TINY, seed=0)
    idx = tokens(2, 12)
    changed = idx.copy()
    changed[:, 8:] = (changed[:, 8:] + 1) % 50
    before, after = model(idx)[0].data, model(changed)[0].data
    np.testing.assert_array_equal(before[:, :8], after[:, :8])
    assert np.abs(before[:, 8:] - after[:, 8:]).max() > 1e-4


def test_bidirectional_attention_sees_the_future():
    model = GPT(GPTConfig(**{**TINY.to_dict(), "causal": False}), seed=0)
    idx = tokens(1, 12)
    changed = idx.copy()
    changed[:, -1] = (changed[:, -1] + 1) % 50
    assert np.abs(model(idx)[0].data[:, 0] - model(changed)[0].data[:, 0]).max() > 1e-6


def test_head_is_tied_and_parameters_are_counted_once():
    model = GPT(TINY, seed=0)
    assert model.lm_head.weight is model.wte.weight
    names = [name for name, _ in model.named_parameters()]
    assert "lm_head.weight" not in names and "wte.weight" in names
    assert names[:2] == ["wte.weight", "wpe.weight"] and "h.1.attn.c_attn.weight" in names
    assert model.num_parameters() == sum(p.size for p in model.weights().values())


def test_sinusoidal_positions_have_no_parameters():
    model = GPT(GPTConfig(**{**TINY.to_dict(), "pos_encoding": "sinusoidal"}), seed=0)
    assert "wpe.weight" not in dict(model.named_parameters())
    assert model(tokens(1, 5))[0].shape == (1, 5, 50)


def test_context_longer_than_block_size_is_an_error():
    with pytest.raises(ValueError, match="block_size"):
        GPT(TINY, seed=0)(tokens(1, 17))


def test_kv_cache_matches_full_forward():
    model = GPT(TINY, seed=0)
    idx = tokens(2, 12)
    full = model(idx)[0].data
    with tt.no_grad():
        caches = model.new_kv_caches(2)
        prefix = model.decode(idx[:, :5], caches)
        steps = [model.decode(idx[:, t:t + 1], caches)[:, 0] for t in range(5, 12)]
    np.testing.assert_allclose(prefix, full[:, :5], atol=1e-5)
    np.testing.assert_allclose(np.stack(steps, 1), full[:, 5:], atol=1e-5)


def test_forward_with_caches_is_decode_and_refuses_targets():
    model = GPT(TINY, seed=0)
    idx = tokens(2, 6)
    with tt.no_grad():
        decoded = model.decode(idx, model.new_kv_caches(2), last_only=True)
        logits, loss = model(idx, kv_caches=model.new_kv_caches(2), last_only=True)
        np.testing.assert_array_equal(logits.data, decoded)
        assert loss is None and decoded.shape == (2, 1, 50)
        with pytest.raises(ValueError, match="targets with kv_caches"):
            model(idx, idx, kv_caches=model.new_kv_caches(2))
        with pytest.raises(ValueError, match="1 KV caches for 2 layers"):
            model.decode(idx, model.new_kv_caches(2)[:1])
    with pytest.raises(RuntimeError, match="no_grad"):
        model.decode(idx, model.new_kv_caches(2))


def cached_steps(model, idx, prefix=3):
    """Logits of every position after `prefix`, fed one token at a time through the KV cache."""
    with tt.no_grad():
        caches = model.new_kv_caches(idx.shape[0])
        model.decode(idx[:, :prefix], caches)
        return np.stack([model.decode(idx[:, t:t + 1], caches)[:, 0] for t in range(prefix, idx.shape[1])], 1)


def test_decoding_follows_weight_updates():
    """The decoding path keeps transposed copies of the weights; an optimizer step or load_state_dict must be seen."""
    model = GPT(TINY, seed=0)
    idx = tokens(4, 8)  # 4 rows: the small-product path
    cached_steps(model, idx)  # builds the copies
    _, loss = model(idx[:, :-1], idx[:, 1:])
    loss.backward()
    tt.optim.SGD(model.parameters(), lr=0.5).step()
    np.testing.assert_allclose(cached_steps(model, idx), model(idx)[0].data[:, 3:], atol=1e-5)
    model.load_state_dict(GPT(TINY, seed=1).state_dict())
    np.testing.assert_allclose(cached_steps(model, idx), model(idx)[0].data[:, 3:], atol=1e-5)


def test_decoding_rejects_token_ids_outside_the_vocabulary():
    model = GPT(TINY, seed=0)
    with tt.no_grad(), pytest.raises(ValueError, match=r"token ids must be in \[0, 50\)"):
        model.decode(np.array([[3, 50]]), model.new_kv_caches(1))


def test_tiny_model_memorizes_a_sequence():
    model = GPT(TINY, seed=0)
    optimizer = tt.optim.AdamW(model.optimizer_groups(0.0), lr=3e-3)
    sequence = tokens(1, 17, seed=3)
    for _ in range(150):
        _, loss = model(sequence[:, :-1], sequence[:, 1:])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert loss.item() < 0.05


def test_checkpoint_round_trip(tmp_path):
    model = GPT(TINY, seed=0)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, {"step": 7, "tokenizer": "tok.json"})
    loaded, document, _ = load_model(path)
    assert loaded.config == model.config and document["step"] == 7
    for name, array in model.weights().items():
        np.testing.assert_array_equal(loaded.weights()[name], array)
    assert loaded.lm_head.weight is loaded.wte.weight
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"


def test_fp16_checkpoint_loads_as_float32(tmp_path):
    model = GPT(TINY, seed=0)
    save_checkpoint(tmp_path / "half.safetensors", model, {}, dtype=np.float16)
    loaded, _, _ = load_model(tmp_path / "half.safetensors")
    assert loaded.wte.weight.dtype == np.float32
    np.testing.assert_allclose(loaded.wte.weight.data, model.wte.weight.data, atol=1e-3)


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="not found.*nope.safetensors"):
        load_model(tmp_path / "nope.safetensors")


def test_truncated_checkpoint_is_reported(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, GPT(TINY, seed=0), {})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_model(path)


def test_garbage_file_is_reported(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    path.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(CheckpointError, match=str(path.name)):
        read_checkpoint(path)


def test_other_architecture_is_reported(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, GPT(TINY, seed=0), {})
    document, tensors = read_checkpoint(path)
    import json

    from safetensors.numpy import save_file

    tensors.pop("model.h.1.mlp.c_fc.weight")
    tensors["model.h.1.extra"] = np.zeros(3, np.float32)
    save_file(tensors, str(path), metadata={"tinygpt": json.dumps(document)})
    with pytest.raises(CheckpointError, match="missing keys: h.1.mlp.c_fc.weight.*unexpected keys: h.1.extra"):
        load_model(path)


def test_safetensors_without_tinygpt_metadata_is_reported(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(2, np.float32)}, str(path))
    with pytest.raises(CheckpointError, match="not a TinyGPT checkpoint"):
        load_model(path)
