"""Float64 finite-difference gradient checks (central differences along random directions, as in HIPS autograd).
No reference framework: this file must run without PyTorch installed."""

import numpy as np
import pytest

import tinytorch as tt
from tests.helpers import check_grad
from tinytorch import functional as F
from tinytorch.autograd import Function

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, size=shape)


# ---- primitives ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 1, 4), (3, 1)), ((), (2, 3))])
def test_broadcast_arithmetic(shapes):
    check_grad(lambda x, y: (x + y) * x - y / (x * x + 1), normal(*shapes[0]), normal(*shapes[1]))


def test_div(): check_grad(lambda x, y: x / y, normal(3, 4), positive(4))
def test_pow_scalar(): check_grad(lambda x: x ** 3 + x ** -0.5, positive(3, 4))
def test_pow_tensor(): check_grad(lambda x, y: x ** y, positive(3, 4), normal(3, 1))
def test_rpow(): check_grad(lambda x: 2 ** x, normal(5))
def test_neg(): check_grad(lambda x: -x, normal(5))
def test_exp_log_sqrt(): check_grad(lambda x: x.exp() + x.log() * x.sqrt(), positive(3, 4))
def test_tanh_sigmoid(): check_grad(lambda x: x.tanh() * x.sigmoid(), normal(3, 4))
def test_relu(): check_grad(lambda x: x.relu(), normal(4, 5))
def test_abs(): check_grad(lambda x: x.abs(), normal(4, 5))
def test_clamp(): check_grad(lambda x: x.clamp(-0.5, 0.5), normal(4, 5))
def test_gelu_exact(): check_grad(F.gelu, normal(4, 5), rtol=1e-5)  # forward uses a 1.5e-7 erf approximation
def test_gelu_tanh(): check_grad(lambda x: F.gelu(x, approximate="tanh"), normal(4, 5))
def test_maximum(): check_grad(tt.maximum, normal(3, 4), normal(4))


@pytest.mark.parametrize("shapes", [((4,), (4,)), ((3, 4), (4, 2)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (3, 4, 2))])
def test_matmul(shapes): check_grad(lambda x, y: x @ y, normal(*shapes[0]), normal(*shapes[1]))


@pytest.mark.parametrize("kw", [{}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": (0, 2)}])
def test_reductions(kw): check_grad(lambda x: x.sum(**kw) * x.mean(**kw) + x.max(**kw) - x.min(**kw) + x.var(**kw),
                                    normal(3, 4, 5))


def test_std(): check_grad(lambda x: x.std(dim=0), normal(4, 3))
def test_softmax(): check_grad(lambda x: x.softmax(dim=1), normal(2, 5, 3))
def test_log_softmax(): check_grad(lambda x: x.log_softmax(dim=-1), normal(2, 5, 3))
def test_shapes(): check_grad(lambda x: x.reshape(6, 4).T.permute(1, 0).view(2, 12).transpose(0, 1).unsqueeze(0),
                              normal(2, 3, 4))
def test_expand_squeeze(): check_grad(lambda x: x.expand(2, 3, 4).squeeze().flatten(), normal(3, 1))
def test_getitem(): check_grad(lambda x: x[np.array([0, 2, 2, 0])][:, ::-1][1:, 1::2], normal(3, 4))
def test_cat_split(): check_grad(lambda x, y: tt.cat([*tt.cat([x, y], 1).split(2, dim=1)[::-1], x], 1),
                                 normal(3, 2), normal(3, 3))
def test_stack(): check_grad(lambda x, y: tt.stack([x, y, x * y], dim=-1), normal(3, 2), normal(3, 2))
def test_where(): check_grad(lambda x, y: tt.where(np.array([True, False, True]), x, y), normal(2, 3), normal(3))
def test_masked_fill(): check_grad(lambda x: x.masked_fill(np.array([[True], [False]]), 0.5), normal(2, 3))
def test_embedding(): check_grad(lambda w: F.embedding(np.array([[1, 1, 0], [3, 1, 1]]), w), normal(4, 5))
def test_tensor_used_twice(): check_grad(lambda x: (x * x).sum(dim=0) * x[0], normal(3, 2))


# ---- fused ops -------------------------------------------------------------------------------------------------
def test_linear(): check_grad(F.linear, normal(2, 3, 4), normal(5, 4), normal(5))
def test_linear_no_bias(): check_grad(F.linear, normal(6, 4), normal(5, 4))
def test_layer_norm(): check_grad(lambda x, w, b: F.layer_norm(x, 6, w, b), normal(2, 3, 6), normal(6), normal(6))
def test_layer_norm_no_affine(): check_grad(lambda x: F.layer_norm(x, 6), normal(4, 6))


def test_cross_entropy():
    targets = np.array([[0, 3, 2, -100], [1, 1, -100, 4]])
    check_grad(lambda x: F.cross_entropy(x, targets), normal(2, 4, 5) * 3)


@pytest.mark.parametrize("mask_kind", ["none", "causal", "bool", "float"])
def test_scaled_dot_product_attention(mask_kind):
    masks = {"none": None, "causal": None, "bool": np.array([[True, False, True, True, True]]),
             "float": normal(1, 2, 5, 5)}
    def attention(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, masks[mask_kind], is_causal=mask_kind == "causal")

    check_grad(attention, normal(2, 2, 5, 3), normal(2, 2, 5, 3), normal(2, 2, 5, 3))


@pytest.mark.parametrize("causal", [True, False])
def test_self_attention(causal): check_grad(lambda qkv: F.self_attention(qkv, 2, is_causal=causal), normal(2, 5, 12))


def test_transformer_layer_composition():
    """The fused ops chained as in a transformer block, into a loss."""
    def loss(x, w_qkv, w_fc):
        h = F.layer_norm(x, 4)
        h = x + F.self_attention(F.linear(h, w_qkv), 2)
        logits = F.linear(F.gelu(F.layer_norm(h, 4), approximate="tanh"), w_fc)
        return F.cross_entropy(logits, np.array([[0, 2, 1]]))

    check_grad(loss, normal(1, 3, 4), normal(12, 4), normal(3, 4))


# ---- the checker itself can fail -------------------------------------------------------------------------------
class WrongSquare(Function):
    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, g):
        return (g * self.a,)  # missing the factor 2


def test_check_grad_catches_a_wrong_backward():
    with pytest.raises(AssertionError, match="directional derivative"):
        check_grad(WrongSquare.apply, normal(3, 4))
