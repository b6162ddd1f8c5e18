"""Optimizers and learning-rate schedules, ordered from simple to complex: SGD, Adam, AdamW, Muon (with
`muon_split`, which hands a model's hidden weight matrices to Muon and the rest to AdamW, and `Combined`, which
steps both as one optimizer), then `clip_grad_norm_` and the schedules. Updates are in place on the parameters'
NumPy arrays, with the same formulas (and the same parameter-group API) as torch.optim, so results track PyTorch
step for step.

Gradient accumulation: divide each micro-batch loss by the number of micro-batches before `backward()`,
so the accumulated gradient is the average, not the sum (tinygpt's trainer does this).

Hyper-parameters are checked when an optimizer is built (and when its state is loaded), for every parameter group:
each must be a finite number in its range, and the error names the optimizer, the setting and the value. A NaN
learning rate would otherwise turn every weight into NaN at the first step, silently.
"""

from __future__ import annotations

import math

import numpy as np

from .nn import Embedding, Linear
from .tensor import Tensor


class Optimizer:
    def __init__(self, params, defaults: dict):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = []
        for group in groups:
            full = {**defaults, **group, "params": list(group["params"])}
            self.param_groups.append(full)
        self.state: dict[int, dict] = {}  # id(param) -> per-parameter state
        for group in self.param_groups:
            self.check_group(group)

    def check_group(self, group: dict) -> None:
        """Raise ValueError naming the first hyper-parameter of `group` that is not finite or out of range."""
        check_number(self, "lr", group["lr"], 0, None, "must be >= 0")
        check_number(self, "weight_decay", group.get("weight_decay", 0.0), 0, None, "must be >= 0")

    def zero_grad(self) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                param.grad = None

    def _params_with_grad(self, group):
        for param in group["params"]:
            if param.grad is not None:
                yield param, param.grad.data, self.state.setdefault(id(param), {})

    def step(self) -> None:
        for group in self.param_groups:
            for param, grad, state in self._params_with_grad(group):
                self._update(param.data, grad, state, group)
                param._version += 1  # an in-place change, as for any tensor (see Tensor._in_place)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Per-parameter state keyed by position in the groups (as in PyTorch), plus the hyper-parameters."""
        order = [p for group in self.param_groups for p in group["params"]]
        state = {i: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.state[id(p)].items()}
                 for i, p in enumerate(order) if id(p) in self.state}
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        order = [p for group in self.param_groups for p in group["params"]]
        if len(state_dict["param_groups"]) != len(self.param_groups):
            raise ValueError("optimizer state has a different number of parameter groups")
        for index, values in state_dict["state"].items():  # checked before anything is loaded
            if not 0 <= int(index) < len(order):
                raise ValueError(f"{type(self).__name__}: state for parameter {index}, but the optimizer has "
                                 f"{len(order)} parameters")
            for key, value in values.items():
                if isinstance(value, np.ndarray) and value.shape != order[int(index)].shape:
                    raise ValueError(f"{type(self).__name__}: state {key!r} of parameter {index} has shape "
                                     f"{value.shape}, the parameter has {order[int(index)].shape}")
        for group, saved in zip(self.param_groups, state_dict["param_groups"], strict=True):
            group.update(saved)
            self.check_group(group)
        self.state = {}
        for index, values in state_dict["state"].items():
            param = order[int(index)]
            self.state[id(param)] = {k: (np.array(v, dtype=param.dtype) if isinstance(v, np.ndarray) else v)
                                     for k, v in values.items()}


def check_number(optimizer: Optimizer, name: str, value, low: float, high: float | None, expected: str,
                 high_inclusive: bool = False) -> None:
    """`value` must be a finite real number with low <= value < high (<= high when `high_inclusive`)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and value >= low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        raise ValueError(f"{type(optimizer).__name__}: {name} {expected} and finite, got {value!r}")


class SGD(Optimizer):
    """SGD with optional momentum (dampening 0), Nesterov momentum and L2 weight decay, as torch.optim.SGD."""

    def __init__(self, params, lr: float = 1e-2, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay})

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        check_number(self, "momentum", group["momentum"], 0, 1, "must be in [0, 1)")
        if group["nesterov"] and group["momentum"] <= 0:
            raise ValueError(f"SGD: nesterov momentum needs momentum > 0, got {group['momentum']!r}")

    def _update(self, param, grad, state, group):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        if group["momentum"]:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.copy()
            else:
                state["momentum_buffer"] *= group["momentum"]
                state["momentum_buffer"] += grad
            buffer = state["momentum_buffer"]
            grad = grad + group["momentum"] * buffer if group["nesterov"] else buffer
        param -= group["lr"] * grad


class Adam(Optimizer):
    """Adam with bias correction; `weight_decay` is L2 added to the gradient (coupled), as torch.optim.Adam."""

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay})

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), got {betas!r}")
        for index, beta in enumerate(betas):
            check_number(self, f"betas[{index}]", beta, 0, 1, "must be in [0, 1)")
        check_number(self, "eps", group["eps"], 0, None, "must be >= 0")

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        if "step" not in state:
            state["step"], state["exp_avg"], state["exp_avg_sq"] = 0, np.zeros_like(param), np.zeros_like(param)
        state["step"] += 1
        if group["weight_decay"]:
            if self.decoupled:
                param *= 1 - group["lr"] * group["weight_decay"]
            else:
                grad = grad + group["weight_decay"] * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (grad * grad)
        bias_correction1 = 1 - beta1 ** state["step"]
        bias_correction2 = 1 - beta2 ** state["step"]
        denominator = np.sqrt(exp_avg_sq) / math.sqrt(bias_correction2)
        denominator += group["eps"]
        param -= (group["lr"] / bias_correction1) * (exp_avg / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay: param *= 1 - lr * weight_decay before the Adam step."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


MUON_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # the quintic's a, b, c from Keller Jordan's Muon, as torch.optim.Muon


def newton_schulz(matrix: np.ndarray, coefficients=MUON_COEFFICIENTS, steps: int = 5,
                  eps: float = 1e-7) -> np.ndarray:
    """Approximately the nearest orthogonal matrix to `matrix` (U V^T of its SVD U S V^T), by `steps` iterations of
    X <- a X + (b X X^T + c (X X^T)^2) X after scaling X to Frobenius norm 1 (so every singular value is <= 1).
    Each iteration maps a singular value s to a s + b s^3 + c s^5, which these coefficients push towards 1 fast
    (to somewhere in about [0.7, 1.2], not exactly 1, which trains as well). The wide orientation keeps X X^T small."""
    a, b, c = coefficients
    wide = matrix.T if matrix.shape[0] > matrix.shape[1] else matrix
    x = wide / max(float(np.linalg.norm(wide)), eps)
    diagonal = np.arange(x.shape[0])
    for _ in range(steps):
        gram = x @ x.T  # (m, m), m the smaller side
        poly = c * (gram @ gram)
        poly += b * gram
        poly[diagonal, diagonal] += a  # a X + (b G + c G^2) X as one product (a I + b G + c G^2) X: no pass over X
        x = poly @ x
    return x.T if matrix.shape[0] > matrix.shape[1] else x


class Muon(Optimizer):
    """Muon, as torch.optim.Muon: SGD momentum whose update is orthogonalised before it is applied, for the 2-D weight
    matrices of hidden layers (give embeddings, the output head, biases and norms to AdamW: `muon_split`).

        buffer <- momentum * buffer + (1 - momentum) * grad
        update <- (1 - momentum) * grad + momentum * buffer     (nesterov; else the buffer itself)
        param  <- param * (1 - lr * weight_decay) - lr * scale * newton_schulz(update)

    Orthogonalising gives every direction of the update the same size, so directions that gradients rarely push
    still learn. `scale` evens out rectangular shapes: sqrt(max(1, rows / cols)) ("original", the default) or
    0.2 * sqrt(max(rows, cols)) ("match_rms_adamw", which lets Muon reuse AdamW's learning rate). PyTorch runs the
    iteration in bfloat16; this runs it in float32.
    """

    ADJUSTMENTS = (None, "original", "match_rms_adamw")

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple[float, float, float] = MUON_COEFFICIENTS,
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None):
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov,
                                  "ns_coefficients": tuple(ns_coefficients), "eps": eps, "ns_steps": ns_steps,
                                  "adjust_lr_fn": adjust_lr_fn})
        for group in self.param_groups:
            for param in group["params"]:
                if param.ndim != 2:
                    raise ValueError(f"Muon: only 2-D weight matrices, got a parameter of shape {param.shape} "
                                     "(give embeddings, biases and norms to AdamW: tinytorch.optim.muon_split)")

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        check_number(self, "momentum", group["momentum"], 0, 1, "must be in [0, 1)")
        check_number(self, "eps", group["eps"], 0, None, "must be >= 0")
        steps = group["ns_steps"]
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 < steps < 100:
            raise ValueError(f"Muon: ns_steps must be a whole number in [1, 99], got {steps!r}")
        coefficients = group["ns_coefficients"]
        if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
            raise ValueError(f"Muon: ns_coefficients must be three numbers (a, b, c), got {coefficients!r}")
        for index, value in enumerate(coefficients):
            check_number(self, f"ns_coefficients[{index}]", value, -math.inf, None, "must be a number")
        if group["adjust_lr_fn"] not in self.ADJUSTMENTS:
            raise ValueError(f"Muon: adjust_lr_fn must be one of {self.ADJUSTMENTS}, got {group['adjust_lr_fn']!r}")

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(param)
        buffer = state["momentum_buffer"]
        buffer += (1 - momentum) * (grad - buffer)
        update = grad + momentum * (buffer - grad) if group["nesterov"] else buffer
        update = newton_schulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
        rows, cols = param.shape
        scale = 0.2 * math.sqrt(max(rows, cols)) if group["adjust_lr_fn"] == "match_rms_adamw" \
            else math.sqrt(max(1.0, rows / cols))
        param *= 1 - group["lr"] * group["weight_decay"]
        param -= (group["lr"] * scale) * update


class Combined:
    """Several optimizers stepping one model as one, e.g. Muon for the hidden matrices and AdamW for the rest:
    `param_groups` are theirs in order (a schedule sets them all), `step` and `zero_grad` run each, and one
    `state_dict` numbers the parameters across all of them, as a single optimizer over all the groups would."""

    def __init__(self, *optimizers: Optimizer):
        if not optimizers:
            raise ValueError("Combined: give at least one optimizer")
        self.optimizers = optimizers

    @property
    def param_groups(self) -> list[dict]:
        return [group for optimizer in self.optimizers for group in optimizer.param_groups]

    def zero_grad(self) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad()

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()

    def _sizes(self) -> list[tuple[int, int]]:
        """(groups, parameters) of each optimizer."""
        return [(len(o.param_groups), sum(len(g["params"]) for g in o.param_groups)) for o in self.optimizers]

    def state_dict(self) -> dict:
        state, groups, offset = {}, [], 0
        for optimizer, (_, count) in zip(self.optimizers, self._sizes(), strict=True):
            own = optimizer.state_dict()
            state.update({offset + int(index): values for index, values in own["state"].items()})
            groups += own["param_groups"]
            offset += count
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        sizes = self._sizes()
        if len(state_dict["param_groups"]) != sum(groups for groups, _ in sizes):
            raise ValueError("optimizer state has a different number of parameter groups")
        group_start = offset = 0
        for optimizer, (groups, count) in zip(self.optimizers, sizes, strict=True):
            optimizer.load_state_dict({
                "state": {int(index) - offset: values for index, values in state_dict["state"].items()
                          if offset <= int(index) < offset + count},
                "param_groups": state_dict["param_groups"][group_start:group_start + groups]})
            group_start, offset = group_start + groups, offset + count


def muon_split(model, head_names: tuple[str, ...] = ("lm_head",)) -> tuple[list, list]:
    """(for Muon, for AdamW): Muon takes the weight matrix of every Linear layer inside the model; AdamW takes the
    rest, i.e. embeddings, biases, norm gains, and the output head (a Linear named in `head_names`, or one whose
    weight is tied to an embedding), which map between tokens and features rather than features to features."""
    embedded = {id(module.weight) for _, module in model.named_modules() if isinstance(module, Embedding)}
    hidden = {id(module.weight) for name, module in model.named_modules()
              if isinstance(module, Linear) and name.rsplit(".", 1)[-1] not in head_names
              and id(module.weight) not in embedded}
    params = list(model.parameters())
    return [p for p in params if id(p) in hidden], [p for p in params if id(p) not in hidden]


def clip_grad_norm_(parameters, max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most `max_norm`; returns the norm before."""
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float, np.integer, np.floating)) \
            or not 0 < max_norm < math.inf:
        raise ValueError(f"clip_grad_norm_: max_norm must be a finite number > 0, got {max_norm!r}")
    grads = [p.grad.data for p in parameters if isinstance(p, Tensor) and p.grad is not None]
    total = math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total


class LRScheduler:
    """Sets each group's lr to base_lr * factor(step) on every `step()` (like torch's LambdaLR)."""

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_step = 0
        self._apply()

    def factor(self, step: int) -> float:
        raise NotImplementedError

    def _apply(self) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * self.factor(self.last_step)

    def step(self) -> None:
        self.last_step += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"last_step": self.last_step, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict) -> None:
        self.last_step, self.base_lrs = state["last_step"], list(state["base_lrs"])
        self._apply()


class StepLR(LRScheduler):
    """Multiply the learning rate by `gamma` every `step_size` steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def factor(self, step: int) -> float:
        return self.gamma ** (step // self.step_size)


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.1) -> float:
    """Linear warmup from 0 to 1 over `warmup_steps`, then cosine decay to `min_ratio` at `total_steps`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if step >= total_steps:
        return min_ratio
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class WarmupCosineLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, warmup_steps: int, total_steps: int, min_ratio: float = 0.1):
        self.warmup_steps, self.total_steps, self.min_ratio = warmup_steps, total_steps, min_ratio
        super().__init__(optimizer)

    def factor(self, step: int) -> float:
        return warmup_cosine(step, self.warmup_steps, self.total_steps, self.min_ratio)
