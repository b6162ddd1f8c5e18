"""tinytorch.profiler: parameter and FLOP counts against GPT-2's closed forms, per-op timing that restores the
profiling state it found, graph memory counted once per buffer, and the KV cache and process memory helpers."""

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.functional as F
from tinygpt.model import GPT, GPTConfig
from tinytorch import autograd, profiler
from tinytorch.optim import AdamW

CONFIG = GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=16)


@pytest.fixture
def model():
    return GPT(CONFIG, seed=0)


def tokens(batch_size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, CONFIG.vocab_size, (batch_size, CONFIG.block_size + 1))


def test_parameter_count_matches_gpt2_formula_with_tied_head(model):
    C, L, V, T = CONFIG.n_embd, CONFIG.n_layer, CONFIG.vocab_size, CONFIG.block_size
    counts = profiler.count_parameters(model)
    assert counts["embedding"] == V * C + T * C
    assert counts["non_embedding"] == L * (12 * C * C + 13 * C) + 2 * C  # blocks, then ln_f
    assert counts["total"] == model.num_parameters()


def test_flops_are_six_n_plus_attention(model):
    C, L, V = CONFIG.n_embd, CONFIG.n_layer, CONFIG.vocab_size
    batch, seq = 3, 10
    matmul_params = 12 * C * C * L + V * C  # every Linear weight, the tied head included
    flops = profiler.step_flops(model, batch, seq)
    assert flops["forward"] == (2 * matmul_params + 4 * L * seq * C) * batch * seq
    assert flops["backward"] == 2 * flops["forward"]
    assert flops["train_step"] == (6 * matmul_params + 12 * L * seq * C) * batch * seq


def test_record_ops_times_forward_and_backward_and_restores_state(model):
    autograd.op_times["Earlier"] = [1.0, 2.0, 3]
    flag = autograd.profiling
    optimizer = AdamW(model.optimizer_groups(0.1), lr=1e-3)
    batch = tokens(2)
    try:
        with profiler.record_ops() as profile:
            _, loss = model(batch[:, :-1], batch[:, 1:])
            loss.backward()
            optimizer.step()
        assert autograd.profiling == flag
        assert autograd.op_times["Earlier"] == [1.0, 2.0, 3]
    finally:
        autograd.op_times.pop("Earlier", None)
    rows = {row["op"]: row for row in profile.rows()}
    assert rows["Linear"]["calls"] == 4 * CONFIG.n_layer  # c_attn, c_proj, c_fc, mlp c_proj per block
    assert rows["LinearCrossEntropy"]["calls"] == 1  # the head, fused with the loss
    assert rows["Linear"]["forward_ms"] > 0 and rows["Linear"]["backward_ms"] > 0
    assert "Earlier" not in rows
    assert sum(row["share"] for row in rows.values()) == pytest.approx(1.0, abs=1e-6)
    assert profile.ops_s <= profile.wall_s * 1.05 + 1e-3  # op time is inside the block (small clock skew allowed)
    table = profile.table(limit=3)
    ordered = profile.rows()  # on a model this small any op may lead; the table follows the measured order
    assert [line.split()[0] for line in table.splitlines()[1:4]] == [row["op"].split()[0] for row in ordered[:3]]
    shares = [row["share"] for row in ordered if not row["op"].startswith("(")]
    assert shares == sorted(shares, reverse=True) and "wall" in table and len(table.splitlines()) == 5


def test_graph_nbytes_counts_intermediates_once_and_leaves_never():
    x = tt.randn(4, 8)
    weight, bias = tt.randn(16, 8, requires_grad=True), tt.zeros(16, requires_grad=True)
    out = F.linear(x, weight, bias)
    assert profiler.graph_nbytes(out) == out.data.nbytes  # x, weight and bias are leaves
    view = out.reshape(8, 8)
    assert profiler.graph_nbytes(view) == out.data.nbytes  # a view shares its buffer
    assert profiler.graph_nbytes(F.gelu(out, "tanh")) > 2 * out.data.nbytes - 1


def test_graph_nbytes_grows_with_batch(model):
    small, large = (model(tokens(b)[:, :-1], tokens(b)[:, 1:])[1] for b in (2, 4))
    ratio = profiler.graph_nbytes(large) / profiler.graph_nbytes(small)
    assert 1.8 < ratio <= 2.0


def test_traced_peak_sees_numpy_allocations():
    peak = profiler.traced_peak_nbytes(lambda: np.ones(1_000_000))
    assert 8_000_000 <= peak < 9_000_000


def test_kv_cache_nbytes(model):
    caches = model.new_kv_caches(2, 10)
    head_size = CONFIG.n_embd // CONFIG.n_head
    assert profiler.kv_cache_nbytes(caches) == CONFIG.n_layer * 2 * (2 * CONFIG.n_head * 10 * head_size) * 4


def test_machine_measures_are_positive():
    assert profiler.matmul_peak_gflops(sizes=(32,), repeats=1) > 0
    assert profiler.peak_rss_mib() > 1
