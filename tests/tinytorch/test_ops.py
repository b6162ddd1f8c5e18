"""Every op against PyTorch: forward values, dtypes and input gradients through `check_op`, one line per case."""

import numpy as np
import pytest

import tinytorch as tt
from tests.helpers import check_op, torch_self_attention
from tinytorch import functional as F

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny tensors: extra threads only contend with each other
TF = torch.nn.functional

BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((2, 1, 4), (3, 1)),
    ((1,), (2, 3)),
    ((), (2, 3)),
    ((5, 1), (1, 5)),
]
UNARY_SHAPES = [(), (5,), (3, 4), (2, 1, 3)]
IDS = np.array([[1, 3, 3, 0], [4, 3, 1, 1]])  # repeated ids, all < 5
MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])  # (3, 4)
TORCH_MASK = torch.tensor(MASK)


# ---- elementwise binary ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_add(shapes): check_op(shapes, lambda x, y: x + y)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_sub(shapes): check_op(shapes, lambda x, y: x - y)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_mul(shapes): check_op(shapes, lambda x, y: x * y)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_div(shapes): check_op(shapes, lambda x, y: x / y, low=0.5, high=2.0)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_pow_tensor_tensor(shapes): check_op(shapes, lambda x, y: x ** y, low=0.5, high=2.0)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_maximum(shapes): check_op(shapes, torch.maximum, tt.maximum)


def test_maximum_scalar(): check_op([(3, 4)], lambda x: torch.clamp(x, min=0.5), lambda x: tt.maximum(x, 0.5))


def test_maximum_ties_share_gradient():
    a, b = tt.tensor([1.0, 2.0, 3.0], requires_grad=True), tt.tensor([1.0, 1.0, 3.0], requires_grad=True)
    tt.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0, 0.5] and b.grad.tolist() == [0.5, 0.0, 0.5]  # as torch.maximum


def test_add_scalar(): check_op([(3, 4)], lambda x: x + 2.5)
def test_radd_scalar(): check_op([(3, 4)], lambda x: 2.5 + x)
def test_rsub_scalar(): check_op([(3, 4)], lambda x: 1 - x)
def test_mul_scalar_int(): check_op([(3, 4)], lambda x: x * 2)
def test_rdiv_scalar(): check_op([(3, 4)], lambda x: 1 / x, low=0.5, high=2.0)
def test_pow_scalar(): check_op([(3, 4)], lambda x: x ** 3)
def test_pow_fractional(): check_op([(3, 4)], lambda x: x ** 0.5, low=0.5, high=2.0)
def test_pow_negative(): check_op([(3, 4)], lambda x: x ** -2, low=0.5, high=2.0)
def test_rpow_scalar(): check_op([(3, 4)], lambda x: 2 ** x)
def test_add_ndarray(): check_op([(3, 4)], lambda x: x + torch.arange(4.0), lambda x: x + np.float32([0, 1, 2, 3]))
def test_same_input_twice(): check_op([(3, 4)], lambda x: x * x + x)


# ---- matmul ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [
    ((4,), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (1, 3, 4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
])
def test_matmul(shapes): check_op(shapes, lambda x, y: x @ y)


# ---- unary -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_neg(shape): check_op([shape], lambda x: -x)
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_exp(shape): check_op([shape], lambda x: x.exp())
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_log(shape): check_op([shape], lambda x: x.log(), low=0.1, high=3.0)
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_sqrt(shape): check_op([shape], lambda x: x.sqrt(), low=0.1, high=3.0)
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_tanh(shape): check_op([shape], lambda x: x.tanh())
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_sigmoid(shape): check_op([shape], lambda x: x.sigmoid(), low=-8, high=8)
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_relu(shape): check_op([shape], lambda x: x.relu())
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_abs(shape): check_op([shape], lambda x: x.abs())
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_gelu_exact(shape): check_op([shape], TF.gelu, F.gelu, low=-4, high=4)
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_gelu_tanh(shape): check_op([shape], lambda x: TF.gelu(x, approximate="tanh"),
                                    lambda x: F.gelu(x, approximate="tanh"), low=-4, high=4)


def test_sigmoid_extreme(): check_op([(6,)], lambda x: x.sigmoid(), low=-80, high=80)
def test_functional_relu(): check_op([(3, 4)], TF.relu, F.relu)
def test_functional_tanh(): check_op([(3, 4)], torch.tanh, F.tanh)
def test_functional_sigmoid(): check_op([(3, 4)], torch.sigmoid, F.sigmoid)
def test_clamp_both(): check_op([(4, 5)], lambda x: x.clamp(-0.5, 0.7))
def test_clamp_min(): check_op([(4, 5)], lambda x: x.clamp(min=0.2))
def test_clamp_max(): check_op([(4, 5)], lambda x: x.clamp(max=-0.2))
def test_std(): check_op([(4, 5)], lambda x: x.std(dim=1))


# ---- reductions ------------------------------------------------------------------------------------------------
REDUCE_CASES = [((3, 4, 5), {}), ((3, 4, 5), {"dim": 1}), ((3, 4, 5), {"dim": -1, "keepdim": True}),
                ((3, 4, 5), {"dim": (0, 2)}), ((3, 4, 5), {"dim": (0, 2), "keepdim": True}), ((1, 4), {"dim": 0}),
                ((6,), {"dim": 0})]


@pytest.mark.parametrize("shape,kw", REDUCE_CASES)
def test_sum(shape, kw): check_op([shape], lambda x: x.sum(**kw))
@pytest.mark.parametrize("shape,kw", REDUCE_CASES)
def test_mean(shape, kw): check_op([shape], lambda x: x.mean(**kw))
@pytest.mark.parametrize("shape,kw", REDUCE_CASES[:-2])
def test_var(shape, kw): check_op([shape], lambda x: x.var(**kw))
@pytest.mark.parametrize("shape,kw", REDUCE_CASES)
def test_max(shape, kw): check_op([shape], lambda x: torch.amax(x, **kw), lambda x: x.max(**kw))
@pytest.mark.parametrize("shape,kw", REDUCE_CASES)
def test_min(shape, kw): check_op([shape], lambda x: torch.amin(x, **kw), lambda x: x.min(**kw))


def test_var_biased(): check_op([(3, 5)], lambda x: x.var(dim=1, correction=0))


TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, -1.0, 5.0, 5.0]], dtype=np.float32)


@pytest.mark.parametrize("reduction,kw", [("max", {"dim": 1}), ("max", {}), ("min", {"dim": 0, "keepdim": True}),
                                          ("min", {})])
def test_max_min_ties_share_the_gradient_equally(reduction, kw):
    """As torch.amax / amin: each of k tied extremes gets 1/k of the gradient."""
    x, tx = tt.tensor(TIES, requires_grad=True), torch.tensor(TIES, requires_grad=True)
    getattr(x, reduction)(**kw).sum().backward()
    (torch.amax if reduction == "max" else torch.amin)(tx, **kw).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


# ---- softmax family --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 1, 4), -1)])
def test_softmax(shape, dim): check_op([shape], lambda x: x.softmax(dim), low=-5, high=5)
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 1, 4), -1)])
def test_log_softmax(shape, dim): check_op([shape], lambda x: x.log_softmax(dim), low=-5, high=5)


def test_softmax_large_logits(): check_op([(3, 4)], lambda x: (x * 1000).softmax(-1))
def test_log_softmax_large_logits(): check_op([(3, 4)], lambda x: (x * 1000).log_softmax(-1), atol=1e-3)
def test_functional_softmax(): check_op([(3, 4)], lambda x: TF.softmax(x, 0), lambda x: F.softmax(x, 0))
def test_functional_log_softmax(): check_op([(3, 4)], lambda x: TF.log_softmax(x, 0), lambda x: F.log_softmax(x, 0))


# ---- shapes ----------------------------------------------------------------------------------------------------
def test_reshape(): check_op([(3, 4)], lambda x: x.reshape(2, 6))
def test_reshape_tuple_infer(): check_op([(2, 3, 4)], lambda x: x.reshape((4, -1)))
def test_view_flat(): check_op([(2, 3, 4)], lambda x: x.view(-1))
def test_view_add_unit_dims(): check_op([(3, 4)], lambda x: x.view(1, 3, 1, 4))
def test_transpose(): check_op([(2, 3, 4)], lambda x: x.transpose(0, 2))
def test_transpose_negative(): check_op([(2, 3, 4)], lambda x: x.transpose(-1, -2))
def test_permute(): check_op([(2, 3, 4)], lambda x: x.permute(2, 0, 1))
def test_permute_negative(): check_op([(2, 3, 4)], lambda x: x.permute(-1, 0, -2))
def test_dot_T(): check_op([(3, 4)], lambda x: x.T)
def test_mT(): check_op([(2, 3, 4)], lambda x: x.mT)
def test_unsqueeze(): check_op([(3, 4)], lambda x: x.unsqueeze(1))
def test_unsqueeze_negative(): check_op([(3, 4)], lambda x: x.unsqueeze(-1))
def test_squeeze(): check_op([(3, 1, 4, 1)], lambda x: x.squeeze())
def test_squeeze_dim(): check_op([(3, 1, 4)], lambda x: x.squeeze(1))
def test_flatten(): check_op([(2, 3, 4)], lambda x: x.flatten(1))
def test_expand(): check_op([(3, 1)], lambda x: x.expand(2, 3, 4))
def test_expand_keep(): check_op([(3, 1)], lambda x: x.expand(-1, 5))


# ---- indexing --------------------------------------------------------------------------------------------------
def test_getitem_int(): check_op([(4, 5)], lambda x: x[2])
def test_getitem_negative_int(): check_op([(4, 5)], lambda x: x[-1, 1])
def test_getitem_slices(): check_op([(4, 5, 6)], lambda x: x[1:3, :, ::2])
def test_getitem_ellipsis_none(): check_op([(4, 5, 6)], lambda x: x[..., None, 1:4])
def test_getitem_repeated_indices(): check_op([(5, 3)], lambda x: x[np.array([0, 2, 2, 4, 0, 0])])
def test_getitem_list_indices(): check_op([(5, 3)], lambda x: x[[1, 1, 3]])
def test_getitem_2d_index_array(): check_op([(5, 3)], lambda x: x[np.array([[0, 1], [1, 1]])])
def test_getitem_two_index_arrays(): check_op([(5, 3)], lambda x: x[np.array([0, 0, 4]), np.array([2, 2, 1])])
def test_getitem_slice_and_array(): check_op([(4, 5)], lambda x: x[:, np.array([4, 0, 4])])
def test_getitem_tensor_index(): check_op([(5, 3)], lambda x: x[torch.tensor(IDS)], lambda x: x[tt.tensor(IDS)])
def test_getitem_bool_mask(): check_op([(3, 4)], lambda x: x[TORCH_MASK], lambda x: x[MASK])
def test_getitem_negative_step(): check_op([(5, 3)], lambda x: x.flip(0), lambda x: x[::-1])
def test_getitem_negative_step_2(): check_op([(6, 4)], lambda x: x.flip(1)[1:4, ::2], lambda x: x[1:4, ::-2])


# ---- joining and splitting -------------------------------------------------------------------------------------
def test_cat_dim0(): check_op([(2, 3), (4, 3)], lambda x, y: torch.cat([x, y]), lambda x, y: tt.cat([x, y]))
def test_cat_dim1(): check_op([(2, 3), (2, 1), (2, 2)], lambda *xs: torch.cat(xs, dim=1), lambda *xs: tt.cat(xs, dim=1))
def test_cat_negative_dim(): check_op([(2, 3, 1), (2, 3, 2)], lambda x, y: torch.cat([x, y], -1),
                                      lambda x, y: tt.cat([x, y], -1))
def test_stack_dim0(): check_op([(2, 3), (2, 3)], lambda x, y: torch.stack([x, y]), lambda x, y: tt.stack([x, y]))
def test_stack_dim1(): check_op([(2, 3)] * 3, lambda *xs: torch.stack(xs, 1), lambda *xs: tt.stack(xs, 1))
def test_stack_negative_dim(): check_op([(2, 3), (2, 3)], lambda x, y: torch.stack([x, y], -1),
                                        lambda x, y: tt.stack([x, y], -1))
def test_split_size(): check_op([(7, 3)], lambda x: x.split(3))
def test_split_sections(): check_op([(3, 6)], lambda x: x.split([1, 3, 2], dim=1), lambda x: tt.split(x, [1, 3, 2], 1))
def test_split_negative_dim(): check_op([(2, 6)], lambda x: x.split(2, dim=-1))


# ---- where, masked_fill, embedding -----------------------------------------------------------------------------
def test_where(): check_op([(3, 4), (3, 4)], lambda x, y: torch.where(TORCH_MASK, x, y),
                           lambda x, y: tt.where(MASK, x, y))
def test_where_broadcast(): check_op([(3, 1), (4,)], lambda x, y: torch.where(TORCH_MASK, x, y),
                                     lambda x, y: tt.where(tt.tensor(MASK), x, y))
def test_where_scalar(): check_op([(3, 4)], lambda x: torch.where(TORCH_MASK, x, 0.5),
                                  lambda x: tt.where(MASK, x, 0.5))
def test_masked_fill(): check_op([(3, 4)], lambda x: x.masked_fill(TORCH_MASK, -1.5),
                                 lambda x: x.masked_fill(MASK, -1.5))
def test_masked_fill_broadcast(): check_op([(2, 3, 4)], lambda x: x.masked_fill(torch.tensor(MASK[0]), 0.0),
                                           lambda x: x.masked_fill(MASK[0], 0.0))
def test_masked_fill_neg_inf_softmax(): check_op([(3, 4)], lambda x: x.masked_fill(~TORCH_MASK, -np.inf).softmax(-1),
                                                 lambda x: x.masked_fill(~MASK, -np.inf).softmax(-1))


def test_embedding(): check_op([(5, 4)], lambda w: TF.embedding(torch.tensor(IDS), w), lambda w: F.embedding(IDS, w))
def test_embedding_1d(): check_op([(5, 4)], lambda w: TF.embedding(torch.tensor([2, 2, 2]), w),
                                  lambda w: F.embedding(tt.tensor([2, 2, 2]), w))


def test_embedding_rejects_out_of_range():
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(np.array([0, 10]), tt.randn(10, 4))


# ---- dropout ---------------------------------------------------------------------------------------------------
def test_dropout_p0_is_identity():
    x = tt.randn(4, 5)
    assert F.dropout(x, 0.0, training=True) is x


def test_dropout_eval_is_identity():
    x = tt.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    layer = tt.nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_dropout_train_scales_kept_and_zeroes_dropped():
    p = 0.3
    x = tt.Tensor(np.random.default_rng(0).uniform(1.0, 2.0, size=(200, 500)).astype(np.float32), requires_grad=True)
    out = F.dropout(x, p, training=True, rng=np.random.default_rng(1))
    kept = out.numpy() != 0
    assert abs(1 - kept.mean() - p) < 0.01  # 100k Bernoulli draws: std of the drop rate is 0.0014
    np.testing.assert_allclose(out.numpy()[kept], x.numpy()[kept] / (1 - p), rtol=1e-6)
    assert abs(out.numpy().mean() / x.numpy().mean() - 1) < 0.01  # unbiased in expectation
    upstream = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    out.backward(upstream)
    np.testing.assert_allclose(x.grad.numpy(), upstream * kept / (1 - p), rtol=1e-6)


def test_dropout_rejects_p_of_one():
    with pytest.raises(ValueError, match="p must be"):
        F.dropout(tt.randn(3), 1.0)


# ---- fused functional ops --------------------------------------------------------------------------------------
def test_linear(): check_op([(2, 3, 4), (5, 4), (5,)], TF.linear, F.linear)
def test_linear_2d(): check_op([(6, 4), (5, 4), (5,)], TF.linear, F.linear)
def test_linear_1d_input(): check_op([(4,), (5, 4), (5,)], TF.linear, F.linear)
def test_linear_no_bias(): check_op([(2, 3, 4), (5, 4)], TF.linear, F.linear)
def test_layer_norm(): check_op([(2, 3, 8), (8,), (8,)], lambda x, w, b: TF.layer_norm(x, (8,), w, b),
                                lambda x, w, b: F.layer_norm(x, (8,), w, b))
def test_layer_norm_2d_eps(): check_op([(5, 6), (6,), (6,)], lambda x, w, b: TF.layer_norm(x, (6,), w, b, eps=1e-2),
                                       lambda x, w, b: F.layer_norm(x, 6, w, b, eps=1e-2))
def test_layer_norm_no_bias(): check_op([(4, 6), (6,)], lambda x, w: TF.layer_norm(x, (6,), w),
                                        lambda x, w: F.layer_norm(x, (6,), w))
def test_layer_norm_no_affine(): check_op([(4, 6)], lambda x: TF.layer_norm(x, (6,)), lambda x: F.layer_norm(x, (6,)))


TARGETS = np.array([[0, 4, 2], [1, 1, 3]])  # (B, T) = (2, 3), 5 classes
TARGETS_IGNORED = np.array([[0, -100, 2], [-100, 1, 3]])


def torch_cross_entropy(targets, scale=1.0, **kw):
    """torch wants (N, C) logits and (N,) targets: flatten the leading dims."""
    return lambda x: TF.cross_entropy(scale * x.reshape(-1, x.shape[-1]), torch.tensor(targets).reshape(-1), **kw)


def tt_cross_entropy(targets, scale=1.0, **kw):
    return lambda x: F.cross_entropy(scale * x, targets, **kw)


def test_cross_entropy(): check_op([(6, 5)], torch_cross_entropy(TARGETS), tt_cross_entropy(TARGETS.ravel()), high=4)
def test_cross_entropy_btc(): check_op([(2, 3, 5)], torch_cross_entropy(TARGETS), tt_cross_entropy(TARGETS), high=4)
def test_cross_entropy_ignore_index(): check_op([(2, 3, 5)], torch_cross_entropy(TARGETS_IGNORED),
                                                tt_cross_entropy(tt.tensor(TARGETS_IGNORED)), high=4)
def test_cross_entropy_custom_ignore(): check_op([(2, 3, 5)], torch_cross_entropy(TARGETS, ignore_index=1),
                                                 tt_cross_entropy(TARGETS, ignore_index=1))
def test_cross_entropy_large_logits(): check_op([(2, 3, 5)], torch_cross_entropy(TARGETS, 100.0),
                                                tt_cross_entropy(TARGETS, 100.0), atol=1e-3)


def test_cross_entropy_rejects_bad_target():
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(tt.randn(2, 3), np.array([0, 3]))


B, NH, T, HS = 2, 3, 5, 4
QKV_SHAPES = [(B, NH, T, HS)] * 3
CAUSAL_BOOL = np.tril(np.ones((T, T), dtype=bool))
PADDING_BOOL = np.array([[True, True, True, False, True]])  # (1, Tk): broadcast over queries
FLOAT_MASK = np.random.default_rng(3).standard_normal((1, NH, T, T)).astype(np.float32)
PER_BATCH_BOOL = (np.random.default_rng(4).random((B, 1, T, T)) < 0.6) | np.eye(T, dtype=bool)  # rows never empty


def torch_sdpa(mask=None, **kw):
    mask = None if mask is None else torch.tensor(mask)
    return lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, mask, **kw)


def tt_sdpa(mask=None, **kw):
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask, **kw)


def test_sdpa_no_mask(): check_op(QKV_SHAPES, torch_sdpa(), tt_sdpa())
def test_sdpa_causal(): check_op(QKV_SHAPES, torch_sdpa(is_causal=True), tt_sdpa(is_causal=True))
def test_sdpa_bool_mask(): check_op(QKV_SHAPES, torch_sdpa(PADDING_BOOL), tt_sdpa(PADDING_BOOL))
def test_sdpa_bool_mask_tensor(): check_op(QKV_SHAPES, torch_sdpa(CAUSAL_BOOL), tt_sdpa(tt.tensor(CAUSAL_BOOL)))
def test_sdpa_per_batch_bool_mask(): check_op(QKV_SHAPES, torch_sdpa(PER_BATCH_BOOL), tt_sdpa(PER_BATCH_BOOL))
def test_sdpa_per_batch_mask_and_causal(): check_op(QKV_SHAPES, torch_sdpa(PER_BATCH_BOOL & CAUSAL_BOOL),
                                                    tt_sdpa(PER_BATCH_BOOL, is_causal=True))
def test_sdpa_float_mask(): check_op(QKV_SHAPES, torch_sdpa(FLOAT_MASK), tt_sdpa(FLOAT_MASK))
def test_sdpa_scale(): check_op(QKV_SHAPES, torch_sdpa(scale=0.3), tt_sdpa(scale=0.3))
def test_sdpa_3d_causal(): check_op([(2, T, HS)] * 3, torch_sdpa(is_causal=True), tt_sdpa(is_causal=True))
def test_sdpa_cross_lengths(): check_op([(B, NH, 2, HS), (B, NH, T, HS), (B, NH, T, 6)], torch_sdpa(), tt_sdpa())


def test_sdpa_causal_with_fewer_queries_attends_to_the_prefix():
    """With Tq < Tk (decoding with a cache), query i sits at position Tk - Tq + i."""
    prefix_causal = np.tril(np.ones((2, T), dtype=bool), k=T - 2)
    check_op([(B, NH, 2, HS), (B, NH, T, HS), (B, NH, T, HS)], torch_sdpa(prefix_causal), tt_sdpa(is_causal=True))


@pytest.mark.parametrize("n_head", [1, 2, 4])
def test_self_attention(n_head): check_op([(2, 5, 24)], lambda qkv: torch_self_attention(qkv, n_head),
                                          lambda qkv: F.self_attention(qkv, n_head))
def test_self_attention_bidirectional(): check_op([(2, 5, 12)], lambda x: torch_self_attention(x, 2, causal=False),
                                                  lambda x: F.self_attention(x, 2, is_causal=False))
def test_self_attention_bool_mask(): check_op([(2, 5, 12)], lambda x: torch_self_attention(x, 2, mask=PADDING_BOOL),
                                              lambda x: F.self_attention(x, 2, PADDING_BOOL))


# ---- the fused output head + loss, and fused kernels across several cache blocks --------------------------------
def torch_linear_cross_entropy(targets, **kw):
    return lambda x, w: TF.cross_entropy((x @ w.T).reshape(-1, w.shape[0]), torch.tensor(targets).reshape(-1), **kw)


def tt_linear_cross_entropy(targets, **kw):
    return lambda x, w: F.linear_cross_entropy(x, w, targets, **kw)


def test_linear_cross_entropy(): check_op([(2, 3, 4), (5, 4)], torch_linear_cross_entropy(TARGETS),
                                          tt_linear_cross_entropy(TARGETS))
def test_linear_cross_entropy_ignore_index(): check_op([(2, 3, 4), (5, 4)], torch_linear_cross_entropy(TARGETS_IGNORED),
                                                       tt_linear_cross_entropy(TARGETS_IGNORED))


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of a few rows, so that every fused kernel runs over several blocks (and a ragged last one)."""
    from tinytorch import fused

    monkeypatch.setattr(fused, "BLOCK_ELEMENTS", 24)
    monkeypatch.setattr(fused.LinearCrossEntropy, "BLOCK_LOGITS", 10)
    monkeypatch.setattr(fused.Attention, "QUERY_BLOCK", 2)


def test_linear_cross_entropy_in_blocks(tiny_blocks):
    targets = np.array([[0, 4, 2, 1, 3, 0, 2], [1, 1, 3, 4, 0, 2, -100]])
    check_op([(2, 7, 4), (5, 4)], torch_linear_cross_entropy(targets), tt_linear_cross_entropy(targets))


def test_linear_cross_entropy_without_grad_computes_only_the_loss():
    x, w = tt.randn(3, 4), tt.randn(5, 4)
    with tt.no_grad():
        loss = F.linear_cross_entropy(x, w, np.array([0, 1, 4]))
    np.testing.assert_allclose(loss.item(), F.cross_entropy(x @ w.T, np.array([0, 1, 4])).item(), rtol=1e-6)


def test_fused_kernels_in_blocks(tiny_blocks):
    check_op([(3, 5, 8), (8,), (8,)], lambda x, w, b: TF.layer_norm(x, (8,), w, b),
             lambda x, w, b: F.layer_norm(x, (8,), w, b))
    check_op([(3, 5, 8)], lambda x: TF.gelu(x, approximate="tanh"), lambda x: F.gelu(x, approximate="tanh"))
    check_op([(3, 5, 8)], torch_cross_entropy(np.arange(15).reshape(3, 5) % 8), tt_cross_entropy(
        np.arange(15).reshape(3, 5) % 8))
    check_op([(2, 5, 18)], lambda qkv: torch_self_attention(qkv, 3), lambda qkv: F.self_attention(qkv, 3))
    check_op(QKV_SHAPES, torch_sdpa(PER_BATCH_BOOL, is_causal=True), tt_sdpa(PER_BATCH_BOOL, is_causal=True))
    check_op(QKV_SHAPES, torch_sdpa((FLOAT_MASK * CAUSAL_BOOL - 1e9 * ~CAUSAL_BOOL).astype(np.float32)),
             tt_sdpa(FLOAT_MASK, is_causal=True))
    prefix_causal = np.tril(np.ones((3, T), dtype=bool), k=T - 3)  # fewer queries than keys, in blocks of 2
    check_op([(B, NH, 3, HS), (B, NH, T, HS), (B, NH, T, HS)], torch_sdpa(prefix_causal), tt_sdpa(is_causal=True))
