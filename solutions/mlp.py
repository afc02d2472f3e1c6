"""A multilayer perceptron: layers in sequence, trained by mini-batch descent."""

import time

import numpy as np

from solutions.activations import ReLU
from solutions.linear import Linear
from solutions.module import Module


class Sequential(Module):
    """y = f_L(… f_2(f_1(x))); backward applies the chain rule in reverse:
    dL/dx = J_1ᵀ(J_2ᵀ(… J_Lᵀ dL/dy))."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    @property
    def param_names(self):
        return tuple(f"{i}.{name}" for i, layer in enumerate(self.layers)
                     for name in layer.param_names)

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        return [g for layer in self.layers for g in layer.gradients()]


class MLP(Sequential):
    """Linear → activation → … → Linear, for layer sizes [in, h1, …, out]; the
    output layer gives logits (no activation). ``input_grad=False`` for training on
    data: backward then skips dL/dx of the first layer and returns None."""

    def __init__(self, sizes, activation=ReLU, rng=None, dtype=np.float64, input_grad=True):
        if len(sizes) < 2:
            raise ValueError(f"an MLP needs at least [in, out] sizes, got {sizes}")
        rng = np.random.default_rng(rng)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, rng=rng, dtype=dtype,
                                 input_grad=input_grad or i > 0))
            if i < len(sizes) - 2:
                layers.append(activation())
        super().__init__(*layers)


def minibatches(n, batch_size, rng):
    """Index arrays of a seeded random permutation of range(n), batch_size at a time."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def step_decay(lr, factor=0.3, every=4):
    """A schedule: η_e = lr · factor^⌊(e - 1) / every⌋ for epoch e = 1, 2, …"""
    return lambda epoch: lr * factor ** ((epoch - 1) // every)


def train(model, loss_fn, optimizer, X, y, epochs, batch_size=128, seed=0, lr_schedule=None,
          on_epoch=None):
    """Mini-batch training: per batch, forward, loss, backward, optimizer step.

    Shuffling is seeded, so the same seed gives the same run. ``lr_schedule(epoch)``,
    if given, sets ``optimizer.lr`` before each epoch. Returns one dict per epoch
    (epoch, lr, mean loss, seconds); ``on_epoch(record)`` is called after each.
    """
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(1, epochs + 1):
        if lr_schedule is not None:
            optimizer.lr = lr_schedule(epoch)
        start, total, count = time.perf_counter(), 0.0, 0
        for idx in minibatches(len(X), batch_size, rng):
            loss = loss_fn.forward(model.forward(X[idx]), y[idx])
            model.backward(loss_fn.backward())
            optimizer.step(model.gradients())
            total, count = total + float(loss) * len(idx), count + len(idx)
        record = {"epoch": epoch, "lr": optimizer.lr, "loss": total / count,
                  "seconds": time.perf_counter() - start}
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history


def predict(model, X, batch_size=1000):
    """Class predictions: argmax of the logits, computed batch by batch."""
    return np.concatenate([model.forward(X[i:i + batch_size]).argmax(axis=1)
                           for i in range(0, len(X), batch_size)])


def accuracy(model, X, y, batch_size=1000):
    """The fraction of samples whose predicted class equals the label."""
    return float(np.mean(predict(model, X, batch_size) == y))
