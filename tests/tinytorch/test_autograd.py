"""The autograd engine and the Tensor API: graph recording, backward, accumulation, errors, dtypes, creation."""

import sys

import numpy as np
import pytest

import tinytorch as tt


# ---- backward --------------------------------------------------------------------------------------------------
def test_deep_chain_backward_needs_no_recursion():
    steps = 3 * sys.getrecursionlimit()  # far deeper than any recursive topological sort could go
    x = tt.Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(steps):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001 ** steps, rtol=1e-12)


def test_gradients_accumulate_across_backward_calls():
    x = tt.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * 3).sum().backward()
    first = x.grad
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 + 2 * x.numpy())
    assert x.grad is first  # accumulated in place with +=, as PyTorch does


def test_tensor_used_twice_sums_both_paths():
    x = tt.tensor([0.5, 2.0], requires_grad=True)
    a = x * 2
    (a * a + a).sum().backward()  # d/dx (4x^2 + 2x) = 8x + 2
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.numpy() + 2)


def test_diamond_graph():
    x = tt.tensor(3.0, requires_grad=True)
    left, right = x.exp(), x * x
    (left * right).backward()  # d/dx e^x x^2 = e^x (x^2 + 2x)
    np.testing.assert_allclose(x.grad.item(), np.exp(3.0) * 15, rtol=1e-6)


def test_backward_with_explicit_gradient():
    x = tt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x * x).backward(tt.tensor([[1.0, 0.0], [0.5, -1.0]]))
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [3.0, -8.0]])


def test_retain_graph_allows_a_second_backward():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())


def test_only_leaves_keep_grad():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 2
    hidden.sum().backward()
    assert hidden.grad is None
    assert x.is_leaf and x.grad is not None


def test_leaf_without_requires_grad_gets_no_grad():
    x, w = tt.tensor([1.0, 2.0]), tt.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), x.numpy())


# ---- graph recording -------------------------------------------------------------------------------------------
def test_graph_recorded_only_when_an_input_requires_grad():
    a, b = tt.ones(3), tt.ones(3)
    out = a * b + 1
    assert out._ctx is None and not out.requires_grad
    b.requires_grad = True
    out = a * b
    assert out._ctx is not None and out.requires_grad
    assert not out.is_leaf


def test_no_grad_records_nothing_and_restores():
    x = tt.randn(3, requires_grad=True)
    assert tt.is_grad_enabled()
    with tt.no_grad():
        assert not tt.is_grad_enabled()
        y = (x * 2).exp().sum()
        with tt.enable_grad():
            z = x * 2
    assert y._ctx is None and not y.requires_grad
    assert z.requires_grad
    assert tt.is_grad_enabled()


def test_no_grad_restores_after_an_exception():
    with pytest.raises(ZeroDivisionError), tt.no_grad():
        raise ZeroDivisionError
    assert tt.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d._ctx is None
    assert np.shares_memory(d.numpy(), x.numpy())
    (d * x).sum().backward()  # only the non-detached factor carries gradient
    np.testing.assert_allclose(x.grad.numpy(), x.numpy())


# ---- errors ----------------------------------------------------------------------------------------------------
def test_backward_on_non_scalar_needs_a_gradient():
    y = tt.randn(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\)"):
        y.backward()


def test_backward_without_graph_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tt.ones(1).sum().backward()


def test_backward_gradient_shape_mismatch_raises():
    y = tt.randn(2, 3, requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2), dtype=np.float32))


@pytest.mark.parametrize("make", [lambda: tt.tensor([1, 2], requires_grad=True),
                                  lambda: tt.arange(3).requires_grad_(),
                                  lambda: tt.zeros(2, dtype=tt.int64, requires_grad=True),
                                  lambda: tt.tensor([True, False], requires_grad=True)])
def test_non_float_tensor_cannot_require_grad(make):
    with pytest.raises(TypeError, match="floating-point"):
        make()


def test_shape_mismatch_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"Add.*\(2, 3\).*\(4, 5\)"):
        tt.ones(2, 3) + tt.ones(4, 5)
    with pytest.raises(ValueError, match=r"Matmul.*\(2, 3\).*\(4, 5\)"):
        tt.ones(2, 3, requires_grad=True) @ tt.ones(4, 5)


def test_in_place_on_leaf_requiring_grad_raises_outside_no_grad():
    w = tt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w += 1
    with tt.no_grad():
        w -= 0.5
    np.testing.assert_allclose(w.numpy(), 0.5)


def test_item_needs_one_element():
    assert tt.tensor([[2.5]]).item() == 2.5
    assert isinstance(tt.tensor(3).item(), int)
    with pytest.raises(ValueError, match="one element"):
        tt.ones(2).item()


# ---- dtypes ----------------------------------------------------------------------------------------------------
def test_default_dtypes():
    assert tt.tensor(1.5).dtype == np.float32
    assert tt.tensor([1.0, 2.0]).dtype == np.float32
    assert tt.tensor([1, 2]).dtype == np.int64
    assert tt.tensor([True]).dtype == np.bool_
    assert tt.zeros(2).dtype == tt.ones(2).dtype == tt.randn(2).dtype == tt.rand(2).dtype == np.float32


def test_numpy_dtypes_are_kept():
    assert tt.Tensor(np.zeros(2)).dtype == np.float64
    assert tt.tensor(np.zeros(2, dtype=np.float16)).dtype == np.float16
    assert tt.Tensor(np.float64(1.5)).dtype == np.float64
    assert tt.tensor(np.zeros(2), dtype=tt.float32).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_scalars_keep_the_tensor_dtype(dtype):
    x = tt.Tensor(np.ones(3, dtype=dtype), requires_grad=True)
    for out in (x * 2, 2 * x, x + 0.5, 1 - x, x / 3, 1 / x, x ** 2, 2.0 ** x, x.clamp(0.1, 0.2)):
        assert out.dtype == dtype
    assert x.masked_fill([True, False, True], 7).dtype == dtype
    (x * 2.5).sum().backward()
    assert x.grad.dtype == dtype


def test_conversions():
    x = tt.tensor([1.7, -2.2])
    assert x.double().dtype == np.float64 and x.long().tolist() == [1, -2] and x.long().float().dtype == np.float32
    assert x.to(tt.float32) is x


# ---- array-like API --------------------------------------------------------------------------------------------
def test_numpy_shape_and_T():
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = tt.tensor(data)
    assert isinstance(x.numpy(), np.ndarray)
    np.testing.assert_array_equal(x.numpy(), data)
    np.testing.assert_array_equal(x.T.numpy(), data.T)
    assert x.shape == (2, 3) and x.ndim == x.dim() == 2 and x.numel() == 6 and len(x) == 2 and x.size(1) == 3
    assert x.tolist() == data.tolist()


def test_comparisons_give_bool_tensors_without_graph():
    x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and mask.tolist() == [False, True, True] and mask._ctx is None
    assert (x == tt.tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]


def test_argmax():
    x = tt.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]])
    assert x.argmax(dim=1).tolist() == [1, 0] and x.argmax().item() == 3


def test_repr_is_readable():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<Mul>" in repr(x * 2)
    assert "dtype=float64" in repr(tt.Tensor(np.zeros(1)))


# ---- creation --------------------------------------------------------------------------------------------------
def test_tensor_copies_its_input():
    data = np.ones(3, dtype=np.float32)
    x = tt.tensor(data)
    data[0] = 5
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_creation_shapes():
    assert tt.zeros(2, 3).shape == tt.zeros((2, 3)).shape == tt.ones([2, 3]).shape == (2, 3)
    assert tt.randn(4).shape == (4,) and tt.rand(2, 1, 3).shape == (2, 1, 3)
    assert tt.full((2, 2), 7.0).tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert not tt.zeros(2).numpy().any() and tt.ones(2).numpy().all()
    assert tt.zeros(2, requires_grad=True).requires_grad


def test_arange():
    assert tt.arange(4).tolist() == [0, 1, 2, 3] and tt.arange(4).dtype == np.int64
    assert tt.arange(2, 8, 3).tolist() == [2, 5]
    assert tt.arange(0, 1, 0.25).dtype == np.float32
    assert tt.arange(3, dtype=tt.float64).dtype == np.float64


def test_like_helpers():
    x = tt.Tensor(np.zeros((2, 3), dtype=np.float64))
    for made in (tt.zeros_like(x), tt.ones_like(x), tt.randn_like(x), tt.full_like(x, 2.0)):
        assert made.shape == (2, 3) and made.dtype == np.float64
    assert tt.ones_like(x).numpy().all() and (tt.full_like(x, 2.0).numpy() == 2).all()


def test_randint_bounds_and_dtype():
    ids = tt.randint(3, 7, (200,))
    assert ids.dtype == np.int64 and ids.numpy().min() == 3 and ids.numpy().max() == 6


def test_manual_seed_reproduces_random_tensors_and_init():
    def draw():
        return tt.randn(3, 4).numpy(), tt.rand(5).numpy(), tt.randint(0, 100, 6).numpy(), tt.nn.Linear(4, 2).weight.data

    tt.manual_seed(1234)
    first = draw()
    tt.manual_seed(1234)
    second = draw()
    third = draw()
    for a, b, c in zip(first, second, third, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
