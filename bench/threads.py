"""Benchmark: one OpenMP/BLAS thread or two, for the course's sized work, alone and
beside another process doing the same.

A training loop of notebook 5's shape (784-256-10, batch 128, 3 epochs of 15 000
examples), once in torch, once in numpy, each a fresh process with OMP_NUM_THREADS (and
OpenBLAS's and MKL's) set to 1 or 2, one copy alone or two at once. Prints each copy's
wall and CPU seconds of the loop (imports not counted). On a 2-core machine two copies
of two threads each are four threads on two cores: an OpenMP or OpenBLAS thread then
spins at every barrier for a partner another process keeps off the cores, which is why
the test suite runs with one thread (``tests/conftest.py``) and each grading worker
with its share of the cores (``pool.threads_per_worker``).

Usage: python bench/threads.py
"""

import os
import subprocess
import sys
import time

ROWS, EPOCHS, BATCH = 15_000, 3, 128


def torch_loop() -> None:
    import torch
    torch.manual_seed(0)
    x, y = torch.randn(ROWS, 784), torch.randint(0, 10, (ROWS,))
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(EPOCHS):
        for i in range(0, ROWS, BATCH):
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(model(x[i:i + BATCH]), y[i:i + BATCH]).backward()
            optimiser.step()


def numpy_loop() -> None:
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, 784))
    w1, w2 = rng.standard_normal((784, 256)) * 0.05, rng.standard_normal((256, 10)) * 0.05
    for _ in range(EPOCHS):
        for i in range(0, ROWS, BATCH):
            batch = x[i:i + BATCH]
            hidden = np.maximum(batch @ w1, 0)
            out = (hidden @ w2) / len(batch)
            d_hidden = (out @ w2.T) * (hidden > 0)
            w2 -= 1e-3 * hidden.T @ out
            w1 -= 1e-3 * batch.T @ d_hidden


def child(library: str) -> None:
    loop = {"torch": torch_loop, "numpy": numpy_loop}[library]
    __import__(library)  # imported before the clock starts
    wall, cpu = time.perf_counter(), time.process_time()
    loop()
    print(f"{time.perf_counter() - wall:.2f} {time.process_time() - cpu:.2f}")


def main() -> None:
    print(f"{os.cpu_count()} cores; seconds of each copy's loop, wall / CPU")
    print(f"{'library':8} {'threads':>7} {'alone':>13} {'two at once (each)':>30}")
    for library in ("torch", "numpy"):
        for threads in ("2", "1"):
            env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                       MKL_NUM_THREADS=threads)
            figures = []
            for copies in (1, 2):
                processes = [subprocess.Popen([sys.executable, __file__, "--child", library],
                                              env=env, stdout=subprocess.PIPE, text=True)
                             for _ in range(copies)]
                figures.append("  ".join(" / ".join(p.communicate()[0].split())
                                         for p in processes))
            print(f"{library:8} {threads:>7} {figures[0]:>13} {figures[1]:>30}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
