"""`Tensor`: a NumPy array plus what reverse-mode autograd needs. Every operator and method is in the class body.

Recording. `Function.apply` lands in `Tensor._record`: it runs the op's forward on the arrays and, when grad mode is
on and some input requires grad, the output remembers the Function (`_ctx`), which holds the inputs. The tensors of
a recorded graph are thus linked from each output back to the leaves.

Backward. `backward()` sorts that graph topologically (iteratively, so deep graphs never hit Python's recursion
limit), walks it from the output to the leaves calling each Function's `backward`, sums the gradients that meet at
a tensor, and accumulates them into the leaves' `.grad`. Then it frees the graph (unless `retain_graph=True`).

Correct by construction, as in PyTorch: every tensor has a version counter that in-place ops bump. A Function keeps
the versions its inputs and output had when it ran; backward refuses a node whose tensors changed since, instead
of computing a gradient from overwritten values. In-place ops on a tensor that requires grad are refused outright
while grad mode is on (run parameter updates under `tinytorch.no_grad()`).
"""

from __future__ import annotations

import time

import numpy as np

from . import autograd, fused, ops
from .autograd import Function


def _as_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):  # NumPy arrays and scalars keep their dtype, as in PyTorch
        data = np.asarray(data)
        return data if dtype is None else data.astype(dtype, copy=False)
    array = np.asarray(data)
    if dtype is None:
        if array.dtype == np.float64:
            array = array.astype(np.float32)  # Python floats become float32, as in PyTorch
        elif array.dtype.kind in "iu" and array.dtype != np.int64:
            array = array.astype(np.int64)
    return array if dtype is None else array.astype(dtype, copy=False)


def _sizes(args) -> tuple:
    """`f(2, 3)` or `f((2, 3))` -> (2, 3)."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _dim(dim: int, ndim: int) -> int:
    if not -ndim <= dim < max(ndim, 1):
        raise IndexError(f"dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], got {dim})")
    return dim % ndim if ndim else 0


class Tensor:
    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_counter", "__weakref__")
    __array_priority__ = 1000  # so `ndarray * Tensor` defers to Tensor.__rmul__

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        self.data = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._ctx: Function | None = None
        self._requires_grad = False
        self._counter = [0]
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """Fast constructor for op outputs: no conversion, no checks."""
        t = object.__new__(cls)
        t.data, t.grad, t._ctx, t._requires_grad, t._counter = array, None, None, False, [0]
        return t

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen. A view (reshape, transpose, slice, detach)
        shares its base's counter, as in PyTorch: changing either changes both."""
        return self._counter[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._counter[0] = value

    # ---- recording the graph ----------------------------------------------------------------------------------
    @classmethod
    def _record(cls, fn_class: type[Function], args: tuple, options: dict) -> Tensor:
        """Run `fn_class` on the arrays of `args`; when a gradient is needed, link the output to the call."""
        fn = fn_class()
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        record = autograd._grad_enabled and any(isinstance(a, Tensor) and a._requires_grad for a in args)
        fn.needs_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args) if record else ()
        start = time.perf_counter() if autograd.profiling else 0.0
        try:
            out = fn.forward(*arrays, **options)
        except (ValueError, IndexError, TypeError) as err:
            if str(err).startswith(f"{fn_class.__name__}:"):
                raise
            shapes = ", ".join(str(np.shape(a)) for a in arrays if a is not None)
            raise type(err)(f"{fn_class.__name__}: {err} (input shapes {shapes})") from None
        if autograd.profiling:
            entry = autograd.op_times[fn_class.__name__]
            entry[0] += time.perf_counter() - start
            entry[2] += 1
        result = cls._wrap(out)
        if getattr(out, "base", None) is not None:  # a view shares the version counter of the input it shows
            base = next((a for a in args if isinstance(a, Tensor) and np.may_share_memory(out, a.data)), None)
            if base is not None:
                result._counter = base._counter
        if record:
            fn.inputs = args
            fn.versions = tuple(a._version if isinstance(a, Tensor) else None for a in args) + (result._version,)
            result._requires_grad, result._ctx = True, fn
        return result

    # ---- autograd ---------------------------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self._requires_grad = bool(value)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def requires_grad_(self, value: bool = True) -> Tensor:
        self.requires_grad = value
        return self

    def detach(self) -> Tensor:
        """The same memory without the graph (and the same version counter)."""
        detached = Tensor._wrap(self.data)
        detached._counter = self._counter
        return detached

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires grad."""
        if not self._requires_grad:
            raise RuntimeError("backward() called on a tensor that does not require grad (no graph was recorded)")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar output, got shape {self.shape}; "
                                   "pass gradient= of the same shape")
            grad = np.ones_like(self.data)
        else:
            grad = _as_array(gradient, self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): gradient shape {grad.shape} does not match tensor shape {self.shape}")
        grads = {id(self): grad}
        for node in reversed(self._topological_order()):
            g = grads.pop(id(node), None)
            fn = node._ctx
            if g is None:
                continue
            if fn is None:
                node._accumulate(g)
                continue
            node._check_versions(fn)
            start = time.perf_counter() if autograd.profiling else 0.0
            input_grads = fn.backward(g)
            if autograd.profiling:
                autograd.op_times[type(fn).__name__][1] += time.perf_counter() - start
            # backward may leave out trailing inputs that get no gradient (non-tensor arguments)
            for index, (parent, needs, pg) in enumerate(zip(fn.inputs, fn.needs_grad, input_grads, strict=False)):
                if needs and pg is not None:
                    if pg.shape != parent.data.shape:
                        raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape {pg.shape} "
                                           f"for input {index} of shape {parent.data.shape}")
                    key = id(parent)
                    grads[key] = pg if key not in grads else grads[key] + pg
            if not retain_graph:
                fn.release()  # free the saved arrays now; a second backward through this node is an error

    def _topological_order(self) -> list[Tensor]:
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            fn = node._ctx
            if fn is not None:
                if fn.released:
                    raise RuntimeError(
                        f"backward through {type(fn).__name__} a second time: the first backward() freed what it "
                        "saved; call the first backward(retain_graph=True) to backward twice")
                for parent, needs in zip(fn.inputs, fn.needs_grad, strict=True):
                    if needs and id(parent) not in visited:
                        stack.append((parent, False))
        return order

    def _check_versions(self, fn: Function) -> None:
        """Refuse to differentiate `fn` if an in-place op changed one of its inputs or its output since it ran."""
        current = tuple(a._version if isinstance(a, Tensor) else None for a in fn.inputs) + (self._version,)
        if current != fn.versions:
            index = next(i for i, (now, then) in enumerate(zip(current, fn.versions, strict=True)) if now != then)
            which = "its output" if index == len(fn.inputs) else f"its input {index}"
            raise RuntimeError(
                f"a tensor needed for gradient computation has been modified by an in-place operation: {which} of "
                f"{type(fn).__name__} is at version {current[index]}, expected version {fn.versions[index]}")

    def _accumulate(self, g: np.ndarray) -> None:
        if self.grad is None:
            self.grad = Tensor._wrap(np.array(g, dtype=self.data.dtype, copy=True))
        else:
            self.grad.data += g

    # ---- array-like properties --------------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    T = property(lambda self: self.permute(tuple(reversed(range(self.ndim)))))
    mT = property(lambda self: self.transpose(-2, -1))

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[_dim(dim, self.ndim)]

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def to(self, dtype) -> Tensor:
        return Tensor._wrap(self.data.astype(dtype)) if dtype != self.dtype else self

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def contiguous(self) -> Tensor:
        return self

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(", threshold=50)
        extra = f", dtype={self.dtype}" if self.dtype != np.float32 else ""
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __hash__(self) -> int:
        return id(self)

    # ---- in-place ops: no graph, a new version ----------------------------------------------------------------
    def _in_place(self, name: str, update, value) -> Tensor:
        """Apply `update(array, value)`, which writes into this tensor's array, and bump the version."""
        if self._requires_grad and autograd._grad_enabled:
            what = "a leaf tensor that requires grad" if self._ctx is None else \
                f"the output of {type(self._ctx).__name__} in a recorded graph (its gradient would skip {name})"
            raise RuntimeError(f"{name}: in-place op on {what}; use an out-of-place op, or tinytorch.no_grad()")
        update(self.data, value.data if isinstance(value, Tensor) else value)
        self._version += 1
        return self

    def add_(self, other) -> Tensor:
        return self._in_place("add_", lambda array, value: np.add(array, value, out=array, casting="unsafe"), other)

    def sub_(self, other) -> Tensor:
        return self._in_place("sub_", lambda array, value: np.subtract(array, value, out=array, casting="unsafe"),
                              other)

    def mul_(self, other) -> Tensor:
        return self._in_place("mul_", lambda array, value: np.multiply(array, value, out=array, casting="unsafe"),
                              other)

    def div_(self, other) -> Tensor:
        return self._in_place("div_", lambda array, value: np.divide(array, value, out=array, casting="unsafe"), other)

    def copy_(self, other) -> Tensor:
        return self._in_place("copy_", lambda array, value: np.copyto(array, value, casting="unsafe"), other)

    def fill_(self, value) -> Tensor:
        return self.copy_(value)

    def zero_(self) -> Tensor:
        return self.copy_(0)

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    # ---- arithmetic -------------------------------------------------------------------------------------------
    def _operand(self, other):
        """Scalars and arrays keep this tensor's float dtype, so `x * 2` stays float32."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)) and self.dtype.kind == "f":
            return np.asarray(other, dtype=self.dtype)
        return np.asarray(other)

    def __add__(self, other): return ops.Add.apply(self, self._operand(other))
    def __radd__(self, other): return ops.Add.apply(self._operand(other), self)
    def __sub__(self, other): return ops.Sub.apply(self, self._operand(other))
    def __rsub__(self, other): return ops.Sub.apply(self._operand(other), self)
    def __mul__(self, other): return ops.Mul.apply(self, self._operand(other))
    def __rmul__(self, other): return ops.Mul.apply(self._operand(other), self)
    def __truediv__(self, other): return ops.Div.apply(self, self._operand(other))
    def __rtruediv__(self, other): return ops.Div.apply(self._operand(other), self)
    def __pow__(self, other): return ops.Pow.apply(self, self._operand(other))
    def __rpow__(self, other): return ops.Pow.apply(self._operand(other), self)
    def __matmul__(self, other): return ops.Matmul.apply(self, self._operand(other))
    def __rmatmul__(self, other): return ops.Matmul.apply(self._operand(other), self)
    def __neg__(self): return ops.Neg.apply(self)
    def __abs__(self): return ops.Abs.apply(self)
    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__

    # comparisons give boolean tensors outside the graph
    def _compare(self, numpy_fn, other) -> Tensor:
        return Tensor._wrap(numpy_fn(self.data, other.data if isinstance(other, Tensor) else other))

    def __eq__(self, other): return self._compare(np.equal, other)
    def __ne__(self, other): return self._compare(np.not_equal, other)
    def __lt__(self, other): return self._compare(np.less, other)
    def __le__(self, other): return self._compare(np.less_equal, other)
    def __gt__(self, other): return self._compare(np.greater, other)
    def __ge__(self, other): return self._compare(np.greater_equal, other)

    # ---- element-wise functions -------------------------------------------------------------------------------
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sqrt(self): return ops.Sqrt.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def relu(self): return ops.Relu.apply(self)
    def abs(self): return ops.Abs.apply(self)

    def clamp(self, min=None, max=None) -> Tensor:
        return ops.Clamp.apply(self, min=min, max=max)

    def gelu(self, approximate: str = "none") -> Tensor:
        if approximate == "tanh":
            return fused.GeluTanh.apply(self)
        if approximate != "none":
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return ops.Gelu.apply(self)

    # ---- reductions -------------------------------------------------------------------------------------------
    def _axes(self, dim) -> tuple[int, ...]:
        if dim is None:
            return tuple(range(self.ndim))
        return tuple(_dim(d, self.ndim) for d in ((dim,) if isinstance(dim, int) else dim))

    def sum(self, dim=None, keepdim: bool = False) -> Tensor:
        return ops.Sum.apply(self, axes=self._axes(dim), keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False) -> Tensor:
        return ops.Mean.apply(self, axes=self._axes(dim), keepdim=keepdim)

    def max(self, dim=None, keepdim: bool = False) -> Tensor:
        return ops.Max.apply(self, axes=self._axes(dim), keepdim=keepdim)

    amax = max

    def min(self, dim=None, keepdim: bool = False) -> Tensor:
        return -(-self).max(dim, keepdim)

    def var(self, dim=None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return ops.Var.apply(self, axes=self._axes(dim), keepdim=keepdim, correction=correction)

    def std(self, dim=None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return self.var(dim, keepdim, correction).sqrt()

    def argmax(self, dim=None, keepdim: bool = False) -> Tensor:
        axis = None if dim is None else _dim(dim, self.ndim)
        return Tensor._wrap(np.asarray(self.data.argmax(axis=axis, keepdims=keepdim)))

    def softmax(self, dim: int = -1) -> Tensor:
        return ops.Softmax.apply(self, dim=_dim(dim, self.ndim))

    def log_softmax(self, dim: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, dim=_dim(dim, self.ndim))

    # ---- shape and indexing -----------------------------------------------------------------------------------
    def reshape(self, *shape) -> Tensor:
        return ops.Reshape.apply(self, shape=_sizes(shape))

    view = reshape

    def permute(self, *dims) -> Tensor:
        dims = _sizes(dims)
        if sorted(_dim(d, self.ndim) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of {self.ndim} dimensions")
        return ops.Permute.apply(self, dims=tuple(_dim(d, self.ndim) for d in dims))

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        first, second, dims = _dim(dim0, self.ndim), _dim(dim1, self.ndim), list(range(self.ndim))
        dims[first], dims[second] = second, first
        return ops.Permute.apply(self, dims=tuple(dims))

    def unsqueeze(self, dim: int) -> Tensor:
        dim = _dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dim = _dim(dim, self.ndim)
        return self if self.shape[dim] != 1 else self.reshape(self.shape[:dim] + self.shape[dim + 1:])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        start, end = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def expand(self, *shape) -> Tensor:
        shape = _sizes(shape)
        current = (1,) * (len(shape) - self.ndim) + self.shape
        return ops.Expand.apply(self, shape=tuple(old if new == -1 else new for old, new in zip(current, shape)))

    def __getitem__(self, index) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        elif isinstance(index, list):
            index = np.asarray(index)
        return ops.GetItem.apply(self, index=index)

    def masked_fill(self, mask, value) -> Tensor:
        mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
        return ops.Where.apply(mask, np.asarray(value, dtype=self.dtype), self)

    def split(self, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
        """Like torch.split: chunks of `split_size` (the last may be smaller), or a list of section sizes."""
        dim = _dim(dim, self.ndim)
        size = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            sizes = [min(step, size - start) for start in range(0, size, step)]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != size:
                raise ValueError(f"split: sections {sizes} do not add up to dim {dim} of size {size}")
        starts = np.cumsum([0] + sizes[:-1])
        return tuple(self[(slice(None),) * dim + (slice(start, start + n),)] for start, n in zip(starts, sizes))


Function.tensor_type = Tensor  # Function.apply runs on Tensors (autograd.py imports nothing of ours)
