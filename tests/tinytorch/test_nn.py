"""Layers against PyTorch by weight copy (outputs, input gradient and every parameter gradient), Module behaviour
(parameters, tied weights, state_dict, modes, containers) and the KV cache."""

import numpy as np
import pytest

import tinytorch as tt
from tests.helpers import torch_self_attention
from tinytorch import nn

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny tensors: extra threads only contend with each other
B, T, C, N_HEAD = 2, 5, 8, 2


def check_module(ours: nn.Module, theirs, inputs: np.ndarray, names: dict | None = None, ours_forward=None,
                 torch_forward=None, atol: float = 1e-5) -> None:
    """Copy `theirs`'s weights into `ours` (by name, `names` maps ours -> theirs where they differ), run both on
    `inputs` (through the modules, or `ours_forward` / `torch_forward`), and compare the output, the input
    gradient (float inputs) and every parameter gradient."""
    names = names or {}
    theirs_params = dict(theirs.named_parameters())
    ours_names = [name for name, _ in ours.named_parameters()]
    assert sorted(names.get(n, n) for n in ours_names) == sorted(theirs_params), "parameter names differ"
    ours.load_state_dict({n: theirs_params[names.get(n, n)].detach().numpy() for n in ours_names})

    is_float = inputs.dtype.kind == "f"
    x_ours = tt.Tensor(inputs.copy(), requires_grad=is_float)
    x_theirs = torch.tensor(inputs, requires_grad=is_float)
    out_ours = (ours_forward or ours)(x_ours)
    out_theirs = (torch_forward or theirs)(x_theirs)
    assert out_ours.shape == tuple(out_theirs.shape)
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), atol=atol, rtol=1e-4)

    upstream = np.random.default_rng(0).standard_normal(out_ours.shape).astype(np.float32)
    out_ours.backward(upstream)
    out_theirs.backward(torch.tensor(upstream))
    if is_float:
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), atol=atol, rtol=1e-4)
    for name, param in ours.named_parameters():
        expected = theirs_params[names.get(name, name)].grad.numpy()
        np.testing.assert_allclose(param.grad.numpy(), expected, atol=atol, rtol=1e-4, err_msg=name)


def float_input(*shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- torch references with our (GPT-2) parameter names ---------------------------------------------------------
class TorchAttention(torch.nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_head, self.causal = n_head, causal
        self.c_attn = torch.nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = torch.nn.Linear(n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(torch_self_attention(self.c_attn(x), self.n_head, self.causal))


class TorchMLP(torch.nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = torch.nn.Linear(n_embd, 4 * n_embd)
        self.c_proj = torch.nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(torch.nn.functional.gelu(self.c_fc(x), approximate="tanh"))


class TorchBlock(torch.nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1, self.attn = torch.nn.LayerNorm(n_embd), TorchAttention(n_embd, n_head)
        self.ln_2, self.mlp = torch.nn.LayerNorm(n_embd), TorchMLP(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


def randomize_(module: torch.nn.Module) -> torch.nn.Module:
    """LayerNorm starts at weight 1, bias 0; perturb every parameter so that a swapped one would show."""
    torch.manual_seed(0)
    with torch.no_grad():
        for param in module.parameters():
            param.add_(0.1 * torch.randn_like(param))
    return module


# ---- layers ----------------------------------------------------------------------------------------------------
def test_linear(): check_module(nn.Linear(C, 3), torch.nn.Linear(C, 3), float_input(B, T, C))
def test_linear_no_bias(): check_module(nn.Linear(C, 3, bias=False), torch.nn.Linear(C, 3, bias=False), float_input(C))
def test_layer_norm(): check_module(nn.LayerNorm(C), randomize_(torch.nn.LayerNorm(C)), float_input(B, T, C))
def test_layer_norm_no_bias(): check_module(nn.LayerNorm(C, bias=False), randomize_(torch.nn.LayerNorm(C, bias=False)),
                                            float_input(B, T, C))
def test_embedding(): check_module(nn.Embedding(7, C), torch.nn.Embedding(7, C), np.array([[1, 3, 3], [6, 0, 3]]))
def test_sequential(): check_module(nn.Sequential(nn.Linear(C, 16), nn.ReLU(), nn.Linear(16, 3), nn.Tanh()),
                                    torch.nn.Sequential(torch.nn.Linear(C, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3),
                                                        torch.nn.Tanh()), float_input(4, C))
def test_mlp(): check_module(nn.MLP(C), TorchMLP(C), float_input(B, T, C))
def test_transformer_block(): check_module(nn.TransformerBlock(C, N_HEAD), randomize_(TorchBlock(C, N_HEAD)),
                                           float_input(B, T, C))


@pytest.mark.parametrize("causal", [True, False])
def test_multi_head_attention(causal):
    ours, theirs = nn.MultiHeadAttention(C, N_HEAD, causal=causal), TorchAttention(C, N_HEAD, causal)
    check_module(ours, theirs, float_input(B, T, C))


def test_multi_head_attention_vs_torch_multihead_attention():
    """torch's in_proj_weight is our c_attn.weight: rows [q; k; v]."""
    theirs = torch.nn.MultiheadAttention(C, N_HEAD, batch_first=True)
    randomize_(theirs)
    blocked = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # torch: True = may NOT attend
    names = {"c_attn.weight": "in_proj_weight", "c_attn.bias": "in_proj_bias",
             "c_proj.weight": "out_proj.weight", "c_proj.bias": "out_proj.bias"}
    check_module(nn.MultiHeadAttention(C, N_HEAD), theirs, float_input(B, T, C), names,
                 torch_forward=lambda x: theirs(x, x, x, attn_mask=blocked, need_weights=False)[0])


def test_multi_head_attention_with_padding_mask():
    ours, theirs = nn.MultiHeadAttention(C, N_HEAD), TorchAttention(C, N_HEAD)
    allowed = np.array([[True, False, True, True, True]])  # (1, Tk): nobody attends to position 1
    check_module(ours, theirs, float_input(B, T, C), ours_forward=lambda x: ours(x, allowed),
                 torch_forward=lambda x: theirs.c_proj(torch_self_attention(theirs.c_attn(x), N_HEAD, mask=allowed)))


def test_attention_dropout_path_equals_fused_path_without_dropout():
    """The unfused path (taken only for attention dropout in training) computes the same attention."""
    mha = nn.MultiHeadAttention(C, N_HEAD, dropout=0.1)
    mha.attn_dropout_p = 0.0  # keep the unfused code path, drop nothing
    qkv = tt.tensor(float_input(B, T, 3 * C))
    for mask in (None, np.array([[True, True, False, True, True]])):
        np.testing.assert_allclose(mha._attend_with_dropout(qkv, mask).numpy(),
                                   tt.functional.self_attention(qkv, N_HEAD, mask).numpy(), atol=1e-6)


def test_dropout_modules_follow_train_and_eval():
    tt.manual_seed(0)
    block = nn.TransformerBlock(C, N_HEAD, dropout=0.5)
    x = tt.tensor(float_input(B, T, C), requires_grad=True)
    block.eval()
    reference = block(x).numpy()
    np.testing.assert_array_equal(block(x).numpy(), reference)  # deterministic in eval
    block.train()
    out = block(x)
    assert not np.allclose(out.numpy(), reference)
    out.sum().backward()
    assert all(np.isfinite(p.grad.numpy()).all() for p in block.parameters())


def test_loss_modules():
    rng = np.random.default_rng(0)
    logits, targets = rng.standard_normal((6, 4)).astype(np.float32), np.array([0, 3, 1, -100, 2, 2])
    probs, labels = rng.uniform(0.05, 0.95, (6,)).astype(np.float32), rng.integers(0, 2, 6).astype(np.float32)
    cases = [(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), logits, targets),
             (nn.MSELoss(), torch.nn.MSELoss(), probs, labels), (nn.BCELoss(), torch.nn.BCELoss(), probs, labels)]
    for ours, theirs, prediction, target in cases:
        x, tx = tt.tensor(prediction, requires_grad=True), torch.tensor(prediction, requires_grad=True)
        loss, torch_loss = ours(x, target), theirs(tx, torch.tensor(target))
        np.testing.assert_allclose(loss.item(), torch_loss.item(), rtol=1e-5)
        loss.backward()
        torch_loss.backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_activation_modules():
    x = float_input(3, 4)
    for ours, theirs in [(nn.ReLU(), torch.nn.ReLU()), (nn.GELU(), torch.nn.GELU()), (nn.Tanh(), torch.nn.Tanh()),
                         (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Softmax(0), torch.nn.Softmax(0))]:
        np.testing.assert_allclose(ours(tt.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), atol=1e-6)


def test_default_init_follows_pytorch():
    tt.manual_seed(0)
    layer, norm, emb = nn.Linear(100, 50), nn.LayerNorm(6), nn.Embedding(1000, 20)
    assert layer.weight.shape == (50, 100) and layer.weight.dtype == np.float32
    assert np.abs(layer.weight.numpy()).max() <= 0.1 and np.abs(layer.weight.numpy()).max() > 0.09  # U(±1/sqrt(in))
    assert (norm.weight.numpy() == 1).all() and (norm.bias.numpy() == 0).all()
    assert abs(emb.weight.numpy().std() - 1) < 0.05  # N(0, 1)


def test_sinusoidal_positional_encoding():
    table = nn.SinusoidalPositionalEncoding(16, 6)(np.arange(16)).numpy()
    position, i = 5, 1
    assert table[position, 2 * i] == pytest.approx(np.sin(position / 10000 ** (2 * i / 6)), abs=1e-6)
    assert table[position, 2 * i + 1] == pytest.approx(np.cos(position / 10000 ** (2 * i / 6)), abs=1e-6)


# ---- Module behaviour ------------------------------------------------------------------------------------------
class TiedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(5, 4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.LayerNorm(4)])
        self.lm_head = nn.Linear(4, 5, bias=False)
        self.lm_head.weight = self.wte.weight  # tied

    def forward(self, ids):
        x = self.wte(ids)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(x)


def test_named_parameters_deduplicates_tied_weights():
    model = TiedModel()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["wte.weight", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert model.num_parameters() == 5 * 4 + 4 * 4 + 4 + 4 + 4
    assert "lm_head.weight" in model.state_dict()  # state_dict lists tied weights under each name, as PyTorch


def test_tied_weight_gets_both_gradients():
    model = TiedModel()
    model(np.array([[0, 1, 1]])).sum().backward()
    grad = model.wte.weight.grad.numpy()
    assert grad[:2].any() and grad[2:].any()  # embedding rows 0, 1 and, through the head, every row


def test_state_dict_round_trip():
    tt.manual_seed(0)
    source, target = TiedModel(), TiedModel()
    ids = np.array([[0, 4, 2]])
    assert not np.allclose(source(ids).numpy(), target(ids).numpy())
    missing, unexpected = target.load_state_dict(source.state_dict())
    assert missing == [] and unexpected == []
    np.testing.assert_array_equal(source(ids).numpy(), target(ids).numpy())


def test_strict_load_reports_every_problem_at_once():
    model = TiedModel()
    state = dict(model.state_dict())
    del state["blocks.0.bias"]
    state["blocks.9.weight"] = np.zeros(3)
    state["blocks.1.weight"] = np.zeros(7)
    with pytest.raises(KeyError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    for text in ("missing", "blocks.0.bias", "unexpected", "blocks.9.weight", "blocks.1.weight", "(7,)", "(4,)"):
        assert text in message


def test_non_strict_load_skips_missing_and_unexpected_but_not_bad_shapes():
    model = TiedModel()
    new_weight = np.full((4, 4), 0.5, dtype=np.float32)
    missing, unexpected = model.load_state_dict({"blocks.0.weight": new_weight, "extra": np.ones(1)}, strict=False)
    assert "wte.weight" in missing and unexpected == ["extra"]
    np.testing.assert_array_equal(model.blocks[0].weight.numpy(), new_weight)
    with pytest.raises(KeyError, match="shape"):
        model.load_state_dict({"blocks.0.weight": np.ones((2, 2))}, strict=False)


def test_train_and_eval_propagate():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.TransformerBlock(4, 2)))
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model[1].eval()
    assert model.training and not model[1][1].mlp.dropout.training


def test_zero_grad():
    model = nn.Linear(3, 2)
    model(tt.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_containers():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[2] is layers[2] and list(seq) == layers
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = tt.randn(5, 2)
    np.testing.assert_array_equal(seq(x).numpy(), layers[2](layers[1](layers[0](x))).numpy())
    blocks = nn.ModuleList([nn.Linear(2, 2)]).append(nn.Linear(2, 2))
    assert len(blocks) == 2 and len(list(blocks.parameters())) == 4 and blocks[-1] is list(blocks)[1]


def test_attribute_registration():
    layer = nn.Linear(3, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    layer.requires_grad_(False)
    assert not layer.weight.requires_grad
    layer.extra = nn.Parameter(np.zeros(2, dtype=np.float32))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "extra"]
    assert "Linear(in_features=3, out_features=2" in repr(nn.Sequential(layer))


def test_multi_head_attention_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="n_embd=10.*n_head=3"):
        nn.MultiHeadAttention(10, 3)


# ---- KV cache --------------------------------------------------------------------------------------------------
def test_kv_cache_token_by_token_matches_full_causal_attention():
    tt.manual_seed(0)
    mha = nn.MultiHeadAttention(C, N_HEAD).eval()
    x = float_input(B, T, C)
    with tt.no_grad():
        full = mha(tt.tensor(x)).numpy()
        cache = nn.KVCache(B, N_HEAD, T, C // N_HEAD)
        steps = [mha.infer(x[:, t:t + 1], cache) for t in range(T)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    assert cache.length == T


def test_kv_cache_prompt_then_tokens_through_a_block():
    """The block's one function: a Tensor without a cache, raw arrays with one; the same outputs."""
    tt.manual_seed(0)
    block = nn.TransformerBlock(C, N_HEAD).eval()
    x = float_input(B, T, C)
    with tt.no_grad():
        full = block(tt.tensor(x)).numpy()
        cache = nn.KVCache(B, N_HEAD, T + 2, C // N_HEAD)
        outputs = [block(x[:, :3], kv_cache=cache)] + [block(x[:, t:t + 1], kv_cache=cache) for t in range(3, T)]
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, atol=1e-5)


def test_layers_infer_what_their_forward_computes():
    tt.manual_seed(0)
    x = float_input(B, T, C)
    for layer in (nn.Linear(C, 3), nn.Linear(C, 3, bias=False), nn.LayerNorm(C), nn.LayerNorm(C, bias=False),
                  nn.MLP(C), nn.MLP(C, approximate="none")):
        np.testing.assert_allclose(layer.infer(x), layer(tt.tensor(x)).numpy(), atol=1e-5, err_msg=repr(layer))
    positions = np.array([[0, 3, 1]])
    for table in (nn.Embedding(5, C), nn.SinusoidalPositionalEncoding(5, C)):
        np.testing.assert_array_equal(table.infer(positions), table(positions).numpy())


def test_kv_cache_needs_no_grad_raw_arrays_and_room():
    mha = nn.MultiHeadAttention(C, N_HEAD)
    block = nn.TransformerBlock(C, N_HEAD)
    cache = nn.KVCache(1, N_HEAD, 2, C // N_HEAD)
    with pytest.raises(RuntimeError, match="no_grad"):
        mha.infer(float_input(1, 1, C), cache)
    with tt.no_grad(), pytest.raises(TypeError, match="raw array"):
        block(tt.randn(1, 1, C), kv_cache=cache)
    with tt.no_grad(), pytest.raises(ValueError, match="exceed"):
        mha.infer(float_input(1, 3, C), cache)
