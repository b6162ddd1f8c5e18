"""The decoder's BLAS-thread policy: the free cores, capped by the BLAS library's own setting."""

import os
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from tinytorch import threads


def test_free_cores_is_between_one_and_the_core_count():
    assert 1 <= threads.free_cores() <= (os.cpu_count() or 1)


def test_a_busy_neighbour_takes_a_core_away():
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert threads.free_cores(samples=20) <= max(1, (os.cpu_count() or 1) - 1)
    finally:
        neighbour.kill()
        neighbour.wait()


def test_the_users_blas_limit_is_a_ceiling():
    with threadpool_limits(1, user_api="blas"):
        assert threads.usable_blas_threads() == 1


def test_blas_threads_sets_and_restores_the_count():
    before = threads._blas().lib_controllers[0].num_threads
    with threads.blas_threads(1):
        assert threads._blas().lib_controllers[0].num_threads == 1
    assert threads._blas().lib_controllers[0].num_threads == before


def test_fixed_blas_threads_answers_its_count_whatever_the_free_cores(monkeypatch):
    monkeypatch.setattr(threads, "free_cores", lambda samples=5: 64)
    with threadpool_limits(2, user_api="blas"):
        with threads.fixed_blas_threads(1):
            assert threads.usable_blas_threads() == 1
            assert threads._blas().lib_controllers[0].num_threads == 1
        assert threads.usable_blas_threads() == 2


def test_element_wise_kernels_give_the_same_bits_on_any_thread_count():
    import tinytorch as tt
    from tinytorch import functional as F

    x = np.random.default_rng(0).standard_normal((512, 1024)).astype(np.float32)  # 8 blocks of rows
    weight = np.random.default_rng(1).standard_normal(1024).astype(np.float32)

    def run() -> list[np.ndarray]:
        inputs, gain = tt.tensor(x, requires_grad=True), tt.tensor(weight, requires_grad=True)
        out = F.layer_norm(F.gelu(inputs, "tanh"), (1024,), gain)
        (out * out).sum().backward()
        return [out.data.copy(), inputs.grad.data.copy(), gain.grad.data.copy()]

    with threads.fixed_blas_threads(2):
        assert threads.elementwise_threads() == 2
        shared = run()
    with threads.fixed_blas_threads(1):
        alone = run()
    for a, b in zip(shared, alone, strict=True):
        np.testing.assert_array_equal(a, b)
