"""Operator overloads and op methods of `Tensor` (`a + b`, `x.sum(dim)`, `x[idx]`, ...), and the free functions
`cat`, `stack`, `split`, `where`, `maximum`. Each is a thin call into a `Function` from `ops`.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .tensor import Tensor


def _operand(other, like: Tensor):
    """Scalars and arrays keep `like`'s float dtype, so `x * 2` stays float32."""
    if isinstance(other, Tensor):
        return other
    if isinstance(other, (int, float)) and like.dtype.kind == "f":
        return np.asarray(other, dtype=like.dtype)
    return np.asarray(other)


def _binary(fn, reverse=False):
    def method(self, other):
        other = _operand(other, self)
        return fn.apply(other, self) if reverse else fn.apply(self, other)

    return method


Tensor.__add__ = _binary(ops.Add)
Tensor.__radd__ = _binary(ops.Add, reverse=True)
Tensor.__sub__ = _binary(ops.Sub)
Tensor.__rsub__ = _binary(ops.Sub, reverse=True)
Tensor.__mul__ = _binary(ops.Mul)
Tensor.__rmul__ = _binary(ops.Mul, reverse=True)
Tensor.__truediv__ = _binary(ops.Div)
Tensor.__rtruediv__ = _binary(ops.Div, reverse=True)
Tensor.__pow__ = _binary(ops.Pow)
Tensor.__rpow__ = _binary(ops.Pow, reverse=True)
Tensor.__matmul__ = _binary(ops.Matmul)
Tensor.__rmatmul__ = _binary(ops.Matmul, reverse=True)
Tensor.__neg__ = lambda self: ops.Neg.apply(self)
Tensor.add, Tensor.sub, Tensor.mul, Tensor.div = Tensor.__add__, Tensor.__sub__, Tensor.__mul__, Tensor.__truediv__
Tensor.pow, Tensor.matmul = Tensor.__pow__, Tensor.__matmul__


def _compare(numpy_fn):
    def method(self, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(numpy_fn(self.data, other))

    return method


Tensor.__eq__ = _compare(np.equal)
Tensor.__ne__ = _compare(np.not_equal)
Tensor.__lt__ = _compare(np.less)
Tensor.__le__ = _compare(np.less_equal)
Tensor.__gt__ = _compare(np.greater)
Tensor.__ge__ = _compare(np.greater_equal)


def _in_place(numpy_fn):
    def method(self, other):
        if self.requires_grad and self._ctx is None:
            from .autograd import is_grad_enabled

            if is_grad_enabled():
                raise RuntimeError("in-place op on a leaf tensor that requires grad; wrap it in tinytorch.no_grad()")
        numpy_fn(self.data, other.data if isinstance(other, Tensor) else other, out=self.data, casting="unsafe")
        return self

    return method


Tensor.__iadd__ = Tensor.add_ = _in_place(np.add)
Tensor.__isub__ = Tensor.sub_ = _in_place(np.subtract)
Tensor.__imul__ = Tensor.mul_ = _in_place(np.multiply)
Tensor.__itruediv__ = Tensor.div_ = _in_place(np.divide)

for _name, _fn in [("exp", ops.Exp), ("log", ops.Log), ("sqrt", ops.Sqrt), ("tanh", ops.Tanh),
                   ("sigmoid", ops.Sigmoid), ("relu", ops.Relu), ("abs", ops.Abs)]:
    setattr(Tensor, _name, (lambda fn: lambda self: fn.apply(self))(_fn))
Tensor.__abs__ = Tensor.abs


def _reduction(fn):
    def method(self, dim=None, keepdim=False):
        return fn.apply(self, dim=dim, keepdim=keepdim)

    return method


Tensor.sum = _reduction(ops.Sum)
Tensor.mean = _reduction(ops.Mean)
Tensor.max = _reduction(ops.Max)
Tensor.amax = Tensor.max
Tensor.min = lambda self, dim=None, keepdim=False: -ops.Max.apply(-self, dim=dim, keepdim=keepdim)
Tensor.var = lambda self, dim=None, keepdim=False, correction=1: ops.Var.apply(
    self, dim=dim, keepdim=keepdim, correction=correction
)
Tensor.std = lambda self, dim=None, keepdim=False, correction=1: self.var(dim, keepdim, correction).sqrt()
Tensor.softmax = lambda self, dim=-1: ops.Softmax.apply(self, dim=dim)
Tensor.log_softmax = lambda self, dim=-1: ops.LogSoftmax.apply(self, dim=dim)
Tensor.gelu = lambda self, approximate="none": ops.Gelu.apply(self, approximate=approximate)
Tensor.clamp = lambda self, min=None, max=None: ops.Clamp.apply(self, min=min, max=max)
Tensor.argmax = lambda self, dim=None, keepdim=False: Tensor._wrap(
    np.asarray(self.data.argmax(axis=dim, keepdims=keepdim))
)


def _reshape(self, *shape):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return ops.Reshape.apply(self, shape=shape)


def _transpose(self, dim0=-2, dim1=-1):
    dims = list(range(self.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return ops.Permute.apply(self, dims=tuple(dims))


def _permute(self, *dims):
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    if sorted(d % self.ndim for d in dims) != list(range(self.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of {self.ndim} dimensions")
    return ops.Permute.apply(self, dims=dims)


def _unsqueeze(self, dim):
    dim = dim % (self.ndim + 1)
    return _reshape(self, self.shape[:dim] + (1,) + self.shape[dim:])


def _squeeze(self, dim=None):
    if dim is None:
        return _reshape(self, tuple(n for n in self.shape if n != 1))
    dim = dim % self.ndim
    return self if self.shape[dim] != 1 else _reshape(self, self.shape[:dim] + self.shape[dim + 1:])


def _flatten(self, start_dim=0, end_dim=-1):
    end_dim = end_dim % self.ndim
    return _reshape(self, self.shape[:start_dim] + (-1,) + self.shape[end_dim + 1:])


def _expand(self, *shape):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    current = (1,) * (len(shape) - self.ndim) + self.shape
    shape = tuple(old if new == -1 else new for old, new in zip(current, shape, strict=False))
    return ops.Expand.apply(self, shape=shape)


def _getitem(self, index):
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    return ops.GetItem.apply(self, index=index)


def _masked_fill(self, mask, value):
    mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    return ops.Where.apply(mask, np.asarray(value, dtype=self.dtype), self)


Tensor.reshape = Tensor.view = _reshape
Tensor.transpose = _transpose
Tensor.permute = _permute
Tensor.T = property(lambda self: _permute(self, tuple(reversed(range(self.ndim)))))
Tensor.mT = property(lambda self: _transpose(self, -2, -1))
Tensor.unsqueeze = _unsqueeze
Tensor.squeeze = _squeeze
Tensor.flatten = _flatten
Tensor.expand = _expand
Tensor.__getitem__ = _getitem
Tensor.masked_fill = _masked_fill


def cat(tensors, dim: int = 0) -> Tensor:
    return ops.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    return ops.Stack.apply(*tensors, dim=dim)


def split(t: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Like torch.split: chunks of `split_size` (last may be smaller), or a list of section sizes."""
    size = t.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [min(split_size_or_sections, size - start) for start in range(0, size, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise ValueError(f"split: sections {sizes} do not add up to dim {dim} of size {size}")
    pieces, start = [], 0
    for n in sizes:
        index = (slice(None),) * (dim % t.ndim) + (slice(start, start + n),)
        pieces.append(t[index])
        start += n
    return tuple(pieces)


def where(condition, a, b) -> Tensor:
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    like = a if isinstance(a, Tensor) else b
    return ops.Where.apply(condition, _operand(a, like), _operand(b, like))


def maximum(a: Tensor, b) -> Tensor:
    return ops.Maximum.apply(a, _operand(b, a))


Tensor.split = split
