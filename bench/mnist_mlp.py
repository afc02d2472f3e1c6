"""Benchmark: the numpy reference MLP against an identical torch MLP on full MNIST.

Same architecture, initial weights (copied from numpy), batches (one shared seeded
permutation per epoch), Adam and learning-rate schedule, float32, CPU. Epochs of the
two alternate so that machine noise hits both. Prints per-epoch seconds, the
numpy/torch time ratio and test accuracy. Targets: numpy >= 98.0 % test accuracy
within 120 s of training on 2 cores; numpy epoch time <= 1.25 x torch.

    MNIST_ROOT=../shared/data/mnist .venv/bin/python bench/mnist_mlp.py [--epochs N]
"""

import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import solutions as S
from autograder.student.components import torch_mlp
from autograder.student.data import load_mnist
from autograder.student.table import format_table
from solutions.recipe import BATCH_SIZE, EPOCHS, LR, SIZES, lr_schedule


def numpy_epoch(model, loss_fn, optimizer, X, y, batches):
    start = time.perf_counter()
    for idx in batches:
        loss_fn.forward(model.forward(X[idx]), y[idx])
        model.backward(loss_fn.backward())
        optimizer.step(model.gradients())
    return time.perf_counter() - start


def torch_epoch(module, optimizer, X, y, batches):
    start = time.perf_counter()
    for idx in batches:
        optimizer.zero_grad()
        F.cross_entropy(module(X[idx]), y[idx]).backward()
        optimizer.step()
    return time.perf_counter() - start


def torch_accuracy(module, X, y):
    with torch.no_grad():
        return float((module(X).argmax(dim=1) == y).double().mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    data = load_mnist()
    model = S.MLP(SIZES, rng=args.seed, dtype=np.float32, input_grad=False)
    module = torch_mlp(SIZES)
    with torch.no_grad():
        for p, t in zip(model.parameters(), module.parameters(), strict=False):
            t.copy_(torch.from_numpy(p))
    optimizer = S.Adam(model.parameters(), lr=LR)
    torch_optimizer = torch.optim.Adam(module.parameters(), lr=LR)
    loss_fn, schedule = S.CrossEntropyLoss(), lr_schedule()
    X_t, y_t = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    Xte_t, yte_t = torch.from_numpy(data.X_test), torch.from_numpy(data.y_test)
    rng = np.random.default_rng(args.seed)
    print(f"MNIST MLP {SIZES}, batch {BATCH_SIZE}, Adam, float32, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, torch {torch.__version__}; data: {data.source}")
    rows, numpy_total, torch_total = [], 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        optimizer.lr = schedule(epoch)
        for group in torch_optimizer.param_groups:
            group["lr"] = schedule(epoch)
        batches = S.mlp.minibatches(len(data.X_train), BATCH_SIZE, rng)
        numpy_s = numpy_epoch(model, loss_fn, optimizer, data.X_train, data.y_train, batches)
        torch_s = torch_epoch(module, torch_optimizer, X_t, y_t,
                              [torch.from_numpy(b) for b in batches])
        numpy_total, torch_total = numpy_total + numpy_s, torch_total + torch_s
        rows.append([epoch, f"{numpy_s:.2f}", f"{torch_s:.2f}", f"{numpy_s / torch_s:.2f}",
                     f"{100 * S.accuracy(model, data.X_test, data.y_test):.2f}",
                     f"{100 * torch_accuracy(module, Xte_t, yte_t):.2f}"])
        print(format_table(["epoch", "numpy s", "torch s", "ratio", "numpy acc %", "torch acc %"],
                           rows).splitlines()[-1], flush=True)
    print(format_table(["epoch", "numpy s", "torch s", "ratio", "numpy acc %", "torch acc %"], rows))
    final = S.accuracy(model, data.X_test, data.y_test)
    print(f"\nnumpy reference: {100 * final:.2f} % test accuracy in {numpy_total:.1f} s "
          f"(target >= 98.0 % within 120 s: {'met' if final >= 0.98 and numpy_total <= 120 else 'NOT met'})")
    print(f"torch:           {100 * torch_accuracy(module, Xte_t, yte_t):.2f} % in {torch_total:.1f} s")
    ratio = numpy_total / torch_total
    verdict = "met" if ratio <= 1.25 else "NOT met"
    print(f"numpy/torch epoch time ratio: {ratio:.2f} (target <= 1.25: {verdict})")


if __name__ == "__main__":
    main()
