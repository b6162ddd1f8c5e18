"""Property tests (hypothesis): random broadcastable shapes through elementwise ops and random dims through
reductions; forward values against NumPy, gradients against PyTorch."""

import numpy as np
import pytest

import tinytorch as tt

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny tensors: extra threads only contend with each other
pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

BINARY_OPS = {  # name: (NumPy reference, our op, torch op)
    "add": (np.add, lambda x, y: x + y, torch.add),
    "sub": (np.subtract, lambda x, y: x - y, torch.sub),
    "mul": (np.multiply, lambda x, y: x * y, torch.mul),
    "div": (np.divide, lambda x, y: x / y, torch.div),
    "pow": (np.power, lambda x, y: x ** y, torch.pow),
    "maximum": (np.maximum, tt.maximum, torch.maximum),
    "where": (lambda x, y: np.where(x > y, x, y), lambda x, y: tt.where(x > y, x, y),
              lambda x, y: torch.where(x > y, x, y)),
}
REDUCTIONS = {  # name: (NumPy reference, torch op); ours is the method of the same name
    "sum": (np.sum, torch.sum),
    "mean": (np.mean, torch.mean),
    "max": (np.max, torch.amax),
    "min": (np.min, torch.amin),
    "var": (lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1), torch.var),
}


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       op=st.sampled_from(sorted(BINARY_OPS)), seed=st.integers(0, 2**16))
def test_broadcast_binary_ops(shapes, op, seed):
    numpy_fn, tt_fn, torch_fn = BINARY_OPS[op]
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(0.5, 2.0, size=shape).astype(np.float32) for shape in shapes.input_shapes)
    x, y = tt.Tensor(a.copy(), requires_grad=True), tt.Tensor(b.copy(), requires_grad=True)
    out = tt_fn(x, y)
    assert out.shape == shapes.result_shape and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), numpy_fn(a, b), rtol=1e-6)

    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    torch_fn(tx, ty).backward(torch.tensor(upstream))
    assert x.grad.shape == a.shape and y.grad.shape == b.shape  # broadcasting undone
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-5, atol=1e-6)


@st.composite
def shape_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=len(shape),
                         unique_by=lambda d: d % len(shape)))
    return shape, tuple(dims)


@settings(max_examples=40, deadline=None)
@given(case=shape_and_dims(), keepdim=st.booleans(), reduction=st.sampled_from(sorted(REDUCTIONS)),
       seed=st.integers(0, 2**16))
def test_reductions_over_random_dims(case, keepdim, reduction, seed):
    shape, dims = case
    numpy_fn, torch_fn = REDUCTIONS[reduction]
    if reduction == "var" and np.prod([shape[d] for d in dims]) < 2:
        return  # the unbiased variance of a single element is undefined
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(np.float32)
    x = tt.Tensor(a.copy(), requires_grad=True)
    out = getattr(x, reduction)(dim=dims, keepdim=keepdim)
    np.testing.assert_allclose(out.numpy(), numpy_fn(a, axis=dims, keepdims=keepdim), rtol=1e-5, atol=1e-6)

    tx = torch.tensor(a, requires_grad=True)
    torch_out = torch_fn(tx, dim=dims, keepdim=keepdim)
    assert out.shape == tuple(torch_out.shape)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    torch_out.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), seed=st.integers(0, 2**16))
def test_softmax_rows_are_distributions(shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 10
    probs = tt.tensor(a).softmax(-1).numpy()
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    representable = probs > 1e-6
    log_probs = tt.tensor(a).log_softmax(-1).numpy()
    np.testing.assert_allclose(np.log(probs[representable]), log_probs[representable], atol=1e-4)
