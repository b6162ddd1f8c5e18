"""Optimizers track PyTorch step for step (same initial weights, same data); schedules, state round trips,
gradient clipping and gradient accumulation."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import functional as F
from tinytorch import nn, optim

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny tensors: extra threads only contend with each other
STEPS = 20
DATA_RNG = np.random.default_rng(0)
INPUTS = DATA_RNG.standard_normal((16, 4)).astype(np.float32)
TARGETS = DATA_RNG.integers(0, 3, 16)


def make_models():
    """The same tiny MLP in both frameworks, with identical weights."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def our_loss(model, batch=slice(None)):
    return F.cross_entropy(model(tt.tensor(INPUTS[batch])), TARGETS[batch])


def torch_loss(model, batch=slice(None)):
    return torch.nn.functional.cross_entropy(model(torch.tensor(INPUTS[batch])), torch.tensor(TARGETS[batch]))


def assert_same_parameters(ours, theirs, atol=1e-5):
    for (name, p), (torch_name, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert name == torch_name
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), atol=atol, rtol=1e-5, err_msg=name)


OPTIMIZERS = {
    "sgd": (lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_weight_decay": (lambda p: optim.SGD(p, lr=0.1, weight_decay=0.05),
                         lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05)),
    "momentum": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "nesterov": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "momentum_weight_decay": (lambda p: optim.SGD(p, lr=0.1, momentum=0.8, weight_decay=0.05),
                              lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, weight_decay=0.05)),
    "adam": (lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_weight_decay": (lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
                          lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    "adam_betas_eps": (lambda p: optim.Adam(p, lr=0.02, betas=(0.8, 0.95), eps=1e-6),
                       lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.95), eps=1e-6)),
    "adamw_no_decay": (lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.0),
                       lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.0)),
    "adamw": (lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    "adamw_default_decay": (lambda p: optim.AdamW(p), lambda p: torch.optim.AdamW(p)),
}


@pytest.mark.parametrize("clip", [None, 0.1])  # the gradient norm starts near 0.4
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_tracks_pytorch(name, clip):
    make_ours, make_theirs = OPTIMIZERS[name]
    ours, theirs = make_models()
    opt, torch_opt = make_ours(ours.parameters()), make_theirs(theirs.parameters())
    for _ in range(STEPS):
        opt.zero_grad()
        torch_opt.zero_grad()
        our_loss(ours).backward()
        torch_loss(theirs).backward()
        if clip is not None:
            norm = optim.clip_grad_norm_(ours.parameters(), clip)
            torch_norm = torch.nn.utils.clip_grad_norm_(theirs.parameters(), clip)
            assert norm == pytest.approx(torch_norm.item(), rel=1e-5)
        opt.step()
        torch_opt.step()
    assert_same_parameters(ours, theirs)
    assert not np.allclose(ours[0].weight.numpy(), make_models()[0][0].weight.numpy(), atol=1e-3)  # it did move


def test_parameter_groups_track_pytorch():
    """GPT-style groups: weight decay on matrices only, and a different learning rate per group."""
    ours, theirs = make_models()

    def groups(model):
        params = list(model.parameters())
        return [{"params": [p for p in params if p.ndim == 2], "weight_decay": 0.1},
                {"params": [p for p in params if p.ndim == 1], "weight_decay": 0.0, "lr": 0.003}]

    opt, torch_opt = optim.AdamW(groups(ours), lr=0.01), torch.optim.AdamW(groups(theirs), lr=0.01)
    for _ in range(STEPS):
        for model, optimizer, loss in ((ours, opt, our_loss), (theirs, torch_opt, torch_loss)):
            optimizer.zero_grad()
            loss(model).backward()
            optimizer.step()
    assert_same_parameters(ours, theirs)


def test_clip_grad_norm_scales_to_max_norm():
    ours, _ = make_models()
    our_loss(ours).backward()
    before = [p.grad.numpy().copy() for p in ours.parameters()]
    norm = optim.clip_grad_norm_(ours.parameters(), 0.1)
    after = [p.grad.numpy() for p in ours.parameters()]
    assert norm > 0.2
    assert np.sqrt(sum((g ** 2).sum() for g in after)) == pytest.approx(0.1, rel=1e-4)
    for g, g0 in zip(after, before, strict=True):  # one common factor: directions kept
        np.testing.assert_allclose(g, g0 * (0.1 / norm), rtol=1e-4)


def test_clip_grad_norm_leaves_small_gradients_alone():
    ours, _ = make_models()
    our_loss(ours).backward()
    before = [p.grad.numpy().copy() for p in ours.parameters()]
    norm = optim.clip_grad_norm_(ours.parameters(), 1e6)
    assert norm == pytest.approx(np.sqrt(sum((g ** 2).sum() for g in before)), rel=1e-5)
    for p, g in zip(ours.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_step_skips_parameters_without_gradient():
    layer = nn.Linear(2, 2)
    frozen = layer.bias.numpy().copy()
    opt = optim.AdamW(layer.parameters(), lr=0.1)
    F.linear(tt.randn(3, 2), layer.weight).sum().backward()  # bias unused: no gradient
    opt.step()
    np.testing.assert_array_equal(layer.bias.numpy(), frozen)


def test_zero_grad_clears_gradients():
    ours, _ = make_models()
    opt = optim.SGD(ours.parameters(), lr=0.1)
    our_loss(ours).backward()
    opt.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


@pytest.mark.parametrize("make", [lambda: optim.SGD([], lr=0.1), lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=-1),
                                  lambda: optim.SGD(nn.Linear(2, 2).parameters(), nesterov=True)])
def test_optimizer_argument_errors(make):
    with pytest.raises(ValueError):
        make()


# ---- schedules -------------------------------------------------------------------------------------------------
def test_step_lr_matches_pytorch():
    ours, theirs = make_models()
    opt, torch_opt = optim.SGD(ours.parameters(), lr=0.5), torch.optim.SGD(theirs.parameters(), lr=0.5)
    schedule = optim.StepLR(opt, step_size=3, gamma=0.5)
    torch_schedule = torch.optim.lr_scheduler.StepLR(torch_opt, step_size=3, gamma=0.5)
    for _ in range(10):
        assert schedule.get_last_lr() == pytest.approx(torch_schedule.get_last_lr())
        opt.step()
        torch_opt.step()
        schedule.step()
        torch_schedule.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * 0.5 ** 3)


def test_warmup_cosine_shape():
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    schedule = optim.WarmupCosineLR(opt, warmup_steps=4, total_steps=24, min_ratio=0.1)
    lrs = [schedule.get_last_lr()[0]]
    for _ in range(30):
        schedule.step()
        lrs.append(schedule.get_last_lr()[0])
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])  # linear warmup
    assert lrs[4] == pytest.approx(1.0)  # cosine starts at the peak
    assert lrs[14] == pytest.approx(0.1 + 0.9 * 0.5)  # half way through the decay
    assert all(a >= b for a, b in zip(lrs[4:24], lrs[5:25], strict=True))  # non-increasing after warmup
    assert lrs[24:] == pytest.approx([0.1] * 7)  # floor after total_steps


def test_scheduler_state_round_trip():
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    schedule = optim.WarmupCosineLR(opt, warmup_steps=2, total_steps=10)
    for _ in range(5):
        schedule.step()
    fresh_opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    fresh = optim.WarmupCosineLR(fresh_opt, warmup_steps=2, total_steps=10)
    fresh.load_state_dict(schedule.state_dict())
    assert fresh.get_last_lr() == schedule.get_last_lr()
    schedule.step()
    fresh.step()
    assert fresh.get_last_lr() == schedule.get_last_lr()


# ---- optimizer state round trip --------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.AdamW(p, lr=0.01)])
def test_optimizer_state_round_trip_equals_uninterrupted_training(make):
    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            our_loss(model).backward()
            opt.step()

    uninterrupted, _ = make_models()
    train(uninterrupted, make(uninterrupted.parameters()), 2 * 10)

    first, _ = make_models()
    first_opt = make(first.parameters())
    train(first, first_opt, 10)
    model_state = {k: v.copy() for k, v in first.state_dict().items()}
    opt_state = first_opt.state_dict()
    train(first, first_opt, 3)  # later training must not leak into the saved state

    resumed, _ = make_models()
    resumed.load_state_dict(model_state)
    resumed_opt = make(resumed.parameters())
    resumed_opt.load_state_dict(opt_state)
    train(resumed, resumed_opt, 10)
    for p, q in zip(resumed.parameters(), uninterrupted.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_optimizer_state_restores_hyper_parameters():
    opt = optim.AdamW(nn.Linear(2, 2).parameters(), lr=0.1, weight_decay=0.1)
    optim.StepLR(opt, step_size=1, gamma=0.3).step()  # lr is now 0.03
    fresh = optim.AdamW(nn.Linear(2, 2).parameters(), lr=0.1, weight_decay=0.1)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.param_groups[0]["lr"] == pytest.approx(0.03)


# ---- gradient accumulation -------------------------------------------------------------------------------------
def test_gradient_accumulation_equals_full_batch():
    model, _ = make_models()
    our_loss(model).backward()
    full_batch = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    for micro in range(4):
        (our_loss(model, slice(4 * micro, 4 * micro + 4)) / 4).backward()
    for p, g in zip(model.parameters(), full_batch, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-7)
