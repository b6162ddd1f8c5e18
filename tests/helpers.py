"""Test helpers: `check_op` (an op in tinytorch and in PyTorch on the same seeded inputs, compared value by value
and gradient by gradient) and `check_grad` (float64 central differences along random directions, no PyTorch).

PyTorch is imported inside `check_op` only, so the finite-difference tests run where it is not installed.

For the tests of training runs: `stdlib_source` (a folder of copied standard-library modules), `TINY_RUN_FLAGS`
and `run_flags` (a one-layer model that checkpoints every 5 steps), `train_config` (the config `python train.py`
makes of a command line), `trained` (a Trainer after a few steps, saved) and `error_line` (the one line a failed
command printed); `rewrite_safetensors_header` (a checkpoint whose header claims what its data cannot hold).

For the playground's tests: `serve` (a test client of the app), `parse_events`, `run_events` and `read_until` (its
server-sent events), and `scripted_generate` (a stand-in for `tinygpt.generate.generate` that chooses tokens given
in advance, each step traced, so a test can stream exactly the tokens it needs).
"""

from __future__ import annotations

import json
import sysconfig
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import tinytorch as tt

REPO = Path(__file__).resolve().parents[1]  # the checkout: its configs, models, tools and benchmarks

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tinygpt.train.config import TrainConfig


def _as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _torch_dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def _assert_close(name: str, ours: np.ndarray, theirs: np.ndarray, atol: float, rtol: float) -> None:
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} != torch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, atol=atol, rtol=rtol, err_msg=name)


def check_op(shapes: Sequence[tuple[int, ...]], torch_fn: Callable, tt_fn: Callable | None = None, *,
             low: float = -2.0, high: float = 2.0, atol: float = 1e-5, rtol: float = 1e-4,
             grad_atol: float = 1e-4, grad_rtol: float = 1e-4, forward_only: bool = False, seed: int = 0) -> None:
    """Run `tt_fn` (default: `torch_fn`, when the syntax is the same) and `torch_fn` on float32 inputs of `shapes`
    drawn uniformly from [low, high); compare shape, dtype and values of every output, then backpropagate the same
    random upstream gradient through both and compare the gradient of every input."""
    import torch

    tt_fn = torch_fn if tt_fn is None else tt_fn
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(low, high, size=shape).astype(np.float32) for shape in shapes]
    torch_inputs = [torch.tensor(a, requires_grad=not forward_only) for a in arrays]
    tt_inputs = [tt.Tensor(a.copy(), requires_grad=not forward_only) for a in arrays]

    torch_outs, tt_outs = _as_tuple(torch_fn(*torch_inputs)), _as_tuple(tt_fn(*tt_inputs))
    assert len(tt_outs) == len(torch_outs), f"{len(tt_outs)} outputs, torch gives {len(torch_outs)}"
    for i, (ours, theirs) in enumerate(zip(tt_outs, torch_outs, strict=True)):
        assert isinstance(ours, tt.Tensor), f"output {i} is {type(ours).__name__}, not a Tensor"
        assert ours.shape == tuple(theirs.shape), f"output {i}: shape {ours.shape} != torch {tuple(theirs.shape)}"
        assert ours.dtype.name == _torch_dtype_name(theirs), f"output {i}: dtype {ours.dtype} != torch {theirs.dtype}"
        _assert_close(f"forward output {i}", ours.numpy(), theirs.detach().numpy(), atol, rtol)
    if forward_only:
        return

    upstream = [rng.standard_normal(out.shape).astype(np.float32) for out in tt_outs]
    if len(tt_outs) == 1:
        tt_outs[0].backward(upstream[0])
    else:  # several outputs: backpropagate sum_i <out_i, upstream_i>
        sum(((out * g).sum() for out, g in zip(tt_outs, upstream, strict=True)), tt.tensor(0.0)).backward()
    torch.autograd.backward(torch_outs, [torch.tensor(g) for g in upstream])

    for i, (ours, theirs) in enumerate(zip(tt_inputs, torch_inputs, strict=True)):
        if theirs.grad is None:
            assert ours.grad is None or not np.any(ours.grad.numpy()), f"input {i}: gradient where torch has none"
            continue
        assert ours.grad is not None, f"input {i}: no gradient, torch has one"
        assert ours.grad.dtype == np.float32, f"input {i}: gradient dtype {ours.grad.dtype}"
        _assert_close(f"gradient of input {i}", ours.grad.numpy(), theirs.grad.numpy(), grad_atol, grad_rtol)


def torch_self_attention(qkv, n_head: int, causal: bool = True, mask: np.ndarray | None = None):
    """Reference multi-head self-attention in plain (unfused) PyTorch ops, from a fused (B, T, 3C) projection
    whose last dim holds q, k, v in that order; `mask` is boolean, True where attention is allowed."""
    import torch

    batch, time, three_c = qkv.shape
    n_embd = three_c // 3
    q, k, v = (t.view(batch, time, n_head, n_embd // n_head).transpose(1, 2) for t in qkv.split(n_embd, dim=2))
    scores = q @ k.transpose(-2, -1) / (n_embd // n_head) ** 0.5  # (B, nh, T, T)
    if causal:
        scores = scores.masked_fill(~torch.tril(torch.ones(time, time, dtype=torch.bool)), float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~torch.tensor(mask), float("-inf"))
    return (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, time, n_embd)


def numerical_directional_derivative(fn: Callable, arrays: list[np.ndarray], index: int, direction: np.ndarray,
                                     upstream: np.ndarray, eps: float) -> float:
    """d/dt <fn(..., x_index + t * direction, ...), upstream> at t = 0, by central differences."""
    def scalar(t: float) -> float:
        shifted = [a + t * direction if i == index else a for i, a in enumerate(arrays)]
        return float(np.sum(fn(*(tt.Tensor(a) for a in shifted)).numpy() * upstream))

    return (scalar(eps) - scalar(-eps)) / (2 * eps)


def check_grad(fn: Callable, *arrays: np.ndarray, n_directions: int = 2, eps: float = 1e-6, rtol: float = 1e-6,
               atol: float = 1e-8, seed: int = 0) -> None:
    """Float64 gradient check in the style of HIPS autograd: for each input and a few random directions v, the
    analytic directional derivative <grad, v> (from one backward pass with a random upstream gradient) must equal
    the central difference of <fn(x + eps v), upstream>."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    inputs = [tt.Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*inputs)
    assert out.dtype == np.float64, f"gradient check needs a float64 output, got {out.dtype}"
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    for index, tensor in enumerate(inputs):
        assert tensor.grad is not None, f"input {index}: no gradient"
        assert tensor.grad.shape == tensor.shape, f"input {index}: gradient shape {tensor.grad.shape} != {tensor.shape}"
        for _ in range(n_directions):
            direction = rng.standard_normal(arrays[index].shape)
            analytic = float(np.sum(tensor.grad.numpy() * direction))
            numeric = numerical_directional_derivative(fn, arrays, index, direction, upstream, eps)
            assert abs(analytic - numeric) <= atol + rtol * abs(numeric), (
                f"input {index}: analytic directional derivative {analytic!r} != numerical {numeric!r}"
            )


# ---- training runs on tiny data ------------------------------------------------------------------------------------

TINY_RUN_FLAGS = ["--n_layer=1", "--n_head=2", "--n_embd=16", "--block_size=16", "--batch_size=2", "--warmup_steps=2",
                  "--eval_interval=5", "--eval_batches=1", "--checkpoint_interval=5", "--progress=false"]


STDLIB_MODULES = ["bisect.py", "heapq.py", "textwrap.py", "shlex.py", "string.py", "abc.py", "colorsys.py",
                  "keyword.py", "glob.py", "fnmatch.py", "copy.py", "numbers.py"]  # conftest: `stdlib_modules`


def stdlib_source(directory: Path, names: Sequence[str] = STDLIB_MODULES) -> Path:
    """`directory` holding copies of these standard-library modules: a small source of real code."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text((stdlib / name).read_text(encoding="utf-8"), encoding="utf-8")
    return directory


def run_flags(data_dir: Path, out_dir: Path, *extra: str) -> list[str]:
    return [f"--data_dir={data_dir}", f"--out_dir={out_dir}", *TINY_RUN_FLAGS, *extra]


def train_config(argv: list[str]) -> TrainConfig:
    """The config a new run of `python train.py ARGV` trains with, read by the command's own `config_from_command_line`
    (flags over a config file over the defaults, each value checked)."""
    from tinygpt.cli.train import config_from_command_line

    config, resume_from, _ = config_from_command_line(argv)
    assert resume_from is None, "train_config reads a new run's command line; --resume reads a checkpoint"
    return config


def trained(data_dir: Path, out_dir: Path, *extra: str, steps: int = 5):
    """A Trainer of the tiny run after `steps` steps, its checkpoint saved."""
    from tinygpt.train.trainer import Trainer

    trainer = Trainer(train_config(run_flags(data_dir, out_dir, *extra)))
    for _ in range(steps):
        trainer.train_step()
    trainer.save()
    return trainer


def rewrite_safetensors_header(path: Path, change: Callable[[dict], object]) -> None:
    """Apply `change` to the safetensors header of `path` in place (it mutates the header); the tensor data stays as
    it was, so the header may claim what the data cannot hold."""
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    change(header)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + size:])


def error_line(capsys) -> str:
    """The one line a failed command printed on stderr (asserting it is one line without a traceback)."""
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


# ---- the playground --------------------------------------------------------------------------------------------------

def serve(loaded, **limits) -> TestClient:
    """A client of the app for `loaded` (model, tokenizer) under `limits`, addressing it as a browser on this
    machine does (Host: 127.0.0.1)."""
    from fastapi.testclient import TestClient

    from tinygpt.serve import Limits, create_app

    model, tokenizer = loaded
    return TestClient(create_app(model, tokenizer, Limits(**limits), model_name="tiny"), base_url="http://127.0.0.1")


def parse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def run_events(client: TestClient, body: dict, path: str = "/api/generate") -> dict[str, list[dict]]:
    """POST /api/generate (or another streamed endpoint), read to the end; events by name, in order."""
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(response.text)
    assert events[0][0] == "start" and events[-1][0] == "done", [name for name, _ in events]
    by_name: dict[str, list[dict]] = {}
    for name, data in events:
        by_name.setdefault(name, []).append(data)
    return by_name


def read_until(lines, wanted: str) -> list[tuple[str, dict]]:
    """Events from a streamed response's lines, up to and including the first `wanted` one. Keep `lines` alive
    while the response should stay open: closing the line iterator closes the response."""
    events, fields = [], {}
    for line in lines:
        if line:
            key, value = line.split(": ", 1)
            fields[key] = value
            continue
        events.append((fields["event"], json.loads(fields["data"])))
        fields = {}
        if events[-1][0] == wanted:
            return events
    raise AssertionError(f"the stream ended without a {wanted!r} event: {[name for name, _ in events]}")


def scripted_generate(tokens: Sequence[int]) -> Callable:
    """A stand-in for `tinygpt.generate.generate` (one prompt, one sequence) that "chooses" `tokens` in order: each
    step is traced with the chosen token as the model's only candidate, `on_token` hears each as it comes, and the
    completion is built as `generate` builds it (stop strings, end-of-text, the completed function)."""
    from tinygpt.code_completion import prepare_prompt
    from tinygpt.generate import encode_prompt, end_of_text_id, make_completion
    from tinytorch.generation import Candidates, StepTrace

    def generate(model, tokenizer, prompt, config, *, stop_strings=(), complete_function=False, use_cache=True,
                 trace=None, on_token=None):
        for step, token in enumerate(tokens):
            if trace is not None:
                trace.steps.append(StepTrace(step, [Candidates("model", [token], [1.0], 1)], token, [1.0]))
            if on_token is not None:
                on_token(token)
        encoded = encode_prompt(tokenizer, prepare_prompt(prompt))
        return [make_completion(encoded.text, list(tokens), tokenizer, end_of_text_id(tokenizer), stop_strings,
                                complete_function, None)]

    return generate
