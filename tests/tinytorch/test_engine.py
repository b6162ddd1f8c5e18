"""The engine refuses what would be silently wrong: in-place changes to tensors backward needs (version counter),
a second backward through a freed graph, gradients of the wrong shape; errors name the op and the real problem;
and the core's modules import each other in one direction only."""

import ast
from pathlib import Path

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.autograd import Function

PACKAGE = Path(tt.__file__).resolve().parent


# ---- in-place ops and the version counter ----------------------------------------------------------------------
def test_in_place_on_a_graph_output_is_refused_while_recording():
    x = tt.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()
    with pytest.raises(RuntimeError, match="add_.*output of Exp"):
        y += 1


def test_output_changed_under_no_grad_is_refused_at_backward():
    x = tt.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()
    with tt.no_grad():
        y += 1  # would make backward use exp(x) + 1 as the derivative of exp: x.grad == [2, 3.718]
    with pytest.raises(RuntimeError, match="modified by an in-place operation: its output of Exp.*version 1"):
        y.sum().backward()


def test_input_changed_after_use_is_refused_at_backward():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    a = tt.tensor([3.0, 4.0])  # needs no grad, so in-place is allowed, but Mul saved it for w's gradient
    loss = (w * a).sum()
    a.mul_(10)
    with pytest.raises(RuntimeError, match="its input 1 of Mul is at version 1, expected version 0"):
        loss.backward()


@pytest.mark.parametrize("method", ["zero_", "fill_", "copy_", "sub_", "div_"])
def test_every_in_place_method_bumps_the_version(method):
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    args = {"zero_": (), "fill_": (3.0,), "copy_": (tt.ones(2),), "sub_": (1.0,), "div_": (2.0,)}[method]
    with tt.no_grad():
        getattr(y, method)(*args)
    with pytest.raises(RuntimeError, match="in-place operation"):
        y.sum().backward()


@pytest.mark.parametrize("make_view", [
    lambda a: a.reshape(2, 2), lambda a: a.transpose(0, 1), lambda a: a[0], lambda a: a.detach(),
], ids=["reshape", "transpose", "slice", "detach"])
def test_a_view_shares_its_bases_version_counter(make_view):
    """Changing a view in place changes its base's memory, so it bumps the base's version (as PyTorch's views share
    their base's counter); otherwise backward would silently use the changed values."""
    w = tt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a = tt.tensor([[3.0, 4.0], [5.0, 6.0]])  # Mul saves it for w's gradient
    loss = (w * a).sum()
    with tt.no_grad():
        make_view(a).add_(1.0)
    assert a._version == 1
    with pytest.raises(RuntimeError, match="its input 1 of Mul is at version 1, expected version 0"):
        loss.backward()


def test_a_copy_does_not_share_the_version_counter():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    a = tt.tensor([3.0, 4.0])
    loss = (w * a).sum()
    (a * 1.0).add_(1.0)  # a new array: a is unchanged
    (a[np.array([0, 1])]).add_(1.0)  # advanced indexing copies too
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 4.0])


def test_legal_in_place_updates_keep_training_correct():
    w = tt.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(3):  # forward, backward, SGD step under no_grad: the version moves only between graphs
        loss = (w * w).sum()
        loss.backward()
        with tt.no_grad():
            w -= 0.25 * w.grad
        w.grad = None
    np.testing.assert_allclose(w.numpy(), [0.125, -0.25])
    scratch = tt.zeros(2)  # tensors outside any graph take in-place ops freely
    scratch += tt.tensor([1.0, 2.0])
    scratch *= 2
    np.testing.assert_allclose(scratch.numpy(), [2.0, 4.0])


# ---- backward twice ---------------------------------------------------------------------------------------------
def test_second_backward_through_a_freed_graph_is_an_error():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])  # the first gradient is intact


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])), rtol=1e-6)


# ---- gradients of the wrong shape, errors that say what is wrong ------------------------------------------------
class WrongShapeGradient(Function):
    def forward(self, a):
        return a.sum(axis=0)

    def backward(self, g):
        return (g,)  # should be broadcast back to a's shape


def test_gradient_of_the_wrong_shape_is_an_error_naming_the_op():
    x = tt.randn(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongShapeGradient.backward.*\(4,\).*\(3, 4\)"):
        WrongShapeGradient.apply(x).sum().backward()


def test_errors_name_the_op_and_the_real_problem():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'") as info:
        tt.randn(3).gelu(approximate="fast")
    assert "shape" not in str(info.value)
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape.*\(input shapes \(2, 3\)\)"):
        tt.randn(2, 3).reshape(4, 2)


@pytest.mark.parametrize("call", [lambda x: x.sum(dim=2), lambda x: x.mean(dim=-3), lambda x: x.max(dim=(0, 5)),
                                  lambda x: x.softmax(dim=2), lambda x: x.transpose(0, 2), lambda x: x.size(2)])
def test_out_of_range_dims_raise_index_error(call):
    with pytest.raises(IndexError, match="dimension out of range"):
        call(tt.randn(3, 4))


# ---- the shape of the core ----------------------------------------------------------------------------------------
def internal_imports(path: Path) -> set[str]:
    """The tinytorch modules a file imports at run time, anywhere in it (top level or inside functions); imports
    under `if TYPE_CHECKING:` only serve type hints and never run."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If) and
                 getattr(node.test, "id", None) == "TYPE_CHECKING" for inner in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            target = (*base, *node.module.split(".")) if node.module else base
            if target[:1] == ("tinytorch",):
                names = [(*target, alias.name) for alias in node.names]
                found |= {".".join(n) if (PACKAGE.parent / Path(*n)).with_suffix(".py").exists() or
                          (PACKAGE.parent / Path(*n)).is_dir() else ".".join(target) for n in names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("tinytorch")}
    return found


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = internal_imports(path) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle among modules (package __init__ files excluded: importing a submodule runs its package first, which
    is not an import of the package's other modules by the submodule)."""
    packages = {name for name in graph if (PACKAGE.parent / Path(*name.split("."))).is_dir()}
    edges = {name: {t for t in targets if t in graph and t not in packages} for name, targets in graph.items()
             if name not in packages}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, trail + [nxt])):
                return cycle
        state[node] = 2
        return None

    for start in edges:
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_no_import_circle_in_tinytorch():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_circle():
    graph = {"tinytorch.a": {"tinytorch.b"}, "tinytorch.b": {"tinytorch.a"}}
    assert find_cycle(graph) == ["tinytorch.a", "tinytorch.b", "tinytorch.a"]


def test_autograd_imports_nothing_else_from_tinytorch_and_the_core_reads_one_way():
    graph = import_graph()
    assert graph["tinytorch.autograd"] == set()
    assert graph["tinytorch.ops"] == {"tinytorch.autograd"}
    assert graph["tinytorch.fused"] == {"tinytorch.autograd", "tinytorch.threads"}  # threads imports no tinytorch
    assert graph["tinytorch.threads"] == set()
    assert graph["tinytorch.tensor"] <= {"tinytorch.autograd", "tinytorch.ops", "tinytorch.fused"}


def test_every_operator_is_defined_in_the_tensor_class_body():
    body = vars(tt.Tensor)
    for name in ["__add__", "__radd__", "__mul__", "__matmul__", "__getitem__", "__iadd__", "sum", "mean", "max",
                 "reshape", "view", "transpose", "permute", "softmax", "gelu", "split", "masked_fill", "exp"]:
        assert name in body, name
