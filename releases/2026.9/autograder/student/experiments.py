"""The experiments behind the notebooks' figures (student-safe: numpy, matplotlib for the figures).

Each function returns the numbers a figure draws, so that a test can run it with the
reference and assert what the notebook's text says about the figure.
"""

import matplotlib.pyplot as plt
import numpy as np

ACTIVATIONS = {  # name: (f, f' as a function of f's input z and output h)
    "tanh": (np.tanh, lambda z, h: 1 - h**2),
    "relu": (lambda z: np.maximum(z, 0), lambda z, h: (z > 0).astype(z.dtype)),
}


def activation_statistics(init, activation, depth=20, width=256, batch=256, seed=0):
    """A deep net's signals, layer by layer, at initialisation.

    ``depth`` layers h_l = f(h_{l-1} W_lᵀ) of ``width`` units (no biases), W_l =
    ``init((width, width), seed_l)`` (an integer seed per layer), f = ``activation``
    ("tanh" or "relu"); the input is a standard normal batch. Backward, the gradient
    sent down from the top is standard normal, as a loss's would be, of size 1.
    Returns a dict of arrays with one entry per layer l = 1..depth:
    ``activation_std``: the std of h_l, the layer's output; ``gradient_std``: the std of
    ∂L/∂h_{l-1}, the gradient that reaches the layer's input; ``saturated``: the share
    of h_l with |h_l| > 0.99 (a tanh unit there passes on less than 2 % of its gradient).
    """
    f, df = ACTIVATIONS[activation]
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((batch, width))
    weights, cache = [], []
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for layer in range(depth):
            W = np.asarray(init((width, width), seed * 1000 + layer), dtype=np.float64)
            z = h @ W.T
            h = f(z)
            weights.append(W)
            cache.append((z, h))
        grad, gradient_std = rng.standard_normal((batch, width)), []
        for W, (z, h) in zip(reversed(weights), reversed(cache), strict=False):
            grad = (grad * df(z, h)) @ W
            gradient_std.append(grad.std())
    return {"activation_std": np.array([h.std() for _, h in cache]),
            "gradient_std": np.array(gradient_std[::-1]),
            "saturated": np.array([np.mean(np.abs(h) > 0.99) for _, h in cache])}


def naive_normal(scale):
    """W ~ N(0, scale²) whatever the layer's size: the naive initialisation."""
    return lambda shape, seed: scale * np.random.default_rng(seed).standard_normal(shape)


def initialisation_experiment(xavier_uniform, kaiming_normal, depth=20, width=256, seed=0):
    """``activation_statistics`` of a tanh net and a ReLU net under the naive N(0, 0.01²)
    and N(0, 1), Xavier uniform (its default gain, 1) and, on the ReLU net it is made
    for, Kaiming normal (its default gain, √2): {"tanh": {label: statistics}, "relu": …}.
    The initialisers are called as ``init(shape, rng=seed)``."""
    inits = {"N(0, 0.01²)": naive_normal(0.01), "N(0, 1)": naive_normal(1.0),
             "Xavier uniform": lambda shape, s: xavier_uniform(shape, rng=s),
             "Kaiming normal": lambda shape, s: kaiming_normal(shape, rng=s)}
    runs = {"tanh": ["N(0, 0.01²)", "N(0, 1)", "Xavier uniform"],
            "relu": ["N(0, 0.01²)", "N(0, 1)", "Xavier uniform", "Kaiming normal"]}
    return {activation: {label: activation_statistics(inits[label], activation, depth, width,
                                                      seed=seed)
                         for label in labels}
            for activation, labels in runs.items()}


# ---- notebook 5: update rules compared, overfitting and its remedies ----------------------

def per_step_losses(MLP, CrossEntropyLoss, make_optimizer, X, y, sizes=(784, 128, 10), epochs=2,
                    batch_size=64, seed=0):
    """Training losses, one per mini-batch, of ``MLP(sizes, rng=seed)`` trained by
    ``make_optimizer(parameters)``: every call starts from the same weights and sees the
    same mini-batches (a permutation seeded by ``seed``), so runs differ only in the rule."""
    model = MLP(list(sizes), rng=seed, dtype=np.float32, input_grad=False)
    loss_fn, optimizer = CrossEntropyLoss(), make_optimizer(model.parameters())
    rng, losses = np.random.default_rng(seed), []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            losses.append(float(loss_fn.forward(model.forward(X[idx]), y[idx])))
            model.backward(loss_fn.backward())
            optimizer.step(model.gradients())
    return np.array(losses)


def smoothed(losses, window=10):
    """The mean of each ``window`` consecutive losses (entry i: steps i … i + window − 1)."""
    return np.convolve(losses, np.ones(window) / window, mode="valid")


TAIL = 20  # a run's loss at the end: the mean of its last TAIL mini-batch losses


def tuned_runs(MLP, CrossEntropyLoss, rules, X, y, **run):
    """Each rule at its best learning rate: ``rules`` is {name: (make(params, lr), lrs)};
    every learning rate is run on the same budget (``per_step_losses``) and the one whose
    loss at the end (mean of the last TAIL steps) is lowest is kept.
    Returns {name: {"lr": best, "losses": its losses, "tried": {lr: end loss}}}."""
    tuned = {}
    for name, (make, lrs) in rules.items():
        runs = {lr: per_step_losses(MLP, CrossEntropyLoss, lambda p, lr=lr, make=make: make(p, lr),
                                    X, y, **run)
                for lr in lrs}
        tried = {lr: float(losses[-TAIL:].mean()) for lr, losses in runs.items()}
        tried = {lr: end if np.isfinite(end) else np.inf for lr, end in tried.items()}
        best = min(tried, key=tried.get)
        tuned[name] = {"lr": best, "losses": runs[best], "tried": tried}
    return tuned


SAME_LR = 0.03  # the left panel: plain SGD and momentum with one learning rate
LEARNING_RATES = {"SGD": (0.1, 0.3, 1.0), "SGD + momentum 0.9": (0.01, 0.03, 0.1),
                  "Adam": (1e-3, 3e-3, 1e-2)}  # grids around each rule's best, a factor 3 apart


def compare_update_rules(MLP, CrossEntropyLoss, SGD, Adam, X, y, epochs=1, **run):
    """Notebook 5's comparison, one epoch of mini-batches each: (same_lr, tuned).
    ``same_lr``: {label: losses} of plain SGD and SGD with momentum 0.9 at η = SAME_LR;
    ``tuned``: ``tuned_runs`` of the three rules over LEARNING_RATES."""
    makers = {"SGD": lambda p, lr: SGD(p, lr=lr),
              "SGD + momentum 0.9": lambda p, lr: SGD(p, lr=lr, momentum=0.9),
              "Adam": lambda p, lr: Adam(p, lr=lr)}
    same_lr = {f"{name}, η = {SAME_LR:g}": per_step_losses(
        MLP, CrossEntropyLoss, lambda p, make=makers[name]: make(p, SAME_LR), X, y, epochs=epochs, **run)
        for name in ("SGD", "SGD + momentum 0.9")}
    tuned = tuned_runs(MLP, CrossEntropyLoss, {name: (make, LEARNING_RATES[name])
                                               for name, make in makers.items()},
                       X, y, epochs=epochs, **run)
    return same_lr, tuned


def evaluate(model, loss_fn, X, y):
    """(mean loss, accuracy) of ``model`` on (X, y) in eval mode (dropout off), the
    model left in training mode."""
    if hasattr(model, "eval"):
        model.eval()
    try:
        logits = model.forward(X)
        return float(loss_fn.forward(logits, y)), float(np.mean(np.argmax(logits, axis=1) == y))
    finally:
        if hasattr(model, "train"):
            model.train()


def learning_curves(train, model, loss_fn, optimizer, X, y, X_val, y_val, epochs, batch_size=100,
                    seed=0):
    """Train with ``train`` (notebook 5's loop) and measure, after every epoch, the loss
    and accuracy on the training set and on the validation set, both in eval mode.
    Returns {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}: arrays with one
    entry per epoch (epoch e at index e − 1)."""
    curves = {key: [] for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}

    def measure(record):
        for split, (X_s, y_s) in (("train", (X, y)), ("val", (X_val, y_val))):
            loss, accuracy = evaluate(model, loss_fn, X_s, y_s)
            curves[f"{split}_loss"].append(loss)
            curves[f"{split}_accuracy"].append(accuracy)

    train(model, loss_fn, optimizer, X, y, epochs=epochs, batch_size=batch_size, seed=seed,
          on_epoch=measure)
    return {key: np.array(values) for key, values in curves.items()}


REGULARISERS = {"no regulariser": {}, "weight decay": {"weight_decay": 1e-2},
                "dropout": {"p": 0.5}}


def regularised_mlp(Linear, ReLU, Sequential, Dropout, sizes, p=0.0, seed=0):
    """Linear → ReLU (→ Dropout(p)) → … → Linear in float32, the first layer without dL/dx."""
    rng, layers = np.random.default_rng(seed), []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(Linear(n_in, n_out, rng=rng, dtype=np.float32, input_grad=i > 0))
        if i < len(sizes) - 2:
            layers.append(ReLU())
            if p:
                layers.append(Dropout(p, rng=rng))
    return Sequential(*layers)


OPTIMIZER = {"lr": 1e-3}  # Adam's


def regularisation_runs(train, Linear, ReLU, Sequential, Dropout, Optimizer, CrossEntropyLoss, X, y,
                        X_val, y_val, sizes=(784, 256, 256, 10), epochs=40, options=OPTIMIZER,
                        regularisers=REGULARISERS, seed=0, attempt=None):
    """The same MLP trained the same way (``Optimizer(parameters, **options)``, same
    initial weights, same mini-batches) once per regulariser: {name: learning_curves}. ``attempt(step, what)``
    (the notebook's) runs each, and a run it gives back None for is left out; when the
    first (unregularised) run fails, nothing more is tried."""
    attempt, settings = attempt or (lambda step, what: step()), options
    runs = {}
    for name, options in regularisers.items():
        def run(options=options):
            model = regularised_mlp(Linear, ReLU, Sequential, Dropout, list(sizes),
                                    p=options.get("p", 0.0), seed=seed)
            optimizer = Optimizer(model.parameters(), **settings,
                                  weight_decay=options.get("weight_decay", 0.0))
            return learning_curves(train, model, CrossEntropyLoss(), optimizer, X, y, X_val, y_val,
                                   epochs, seed=seed)
        curves = attempt(run, f"the run with {name}")
        if curves is None and not runs:
            return runs
        if curves is not None:
            runs[name] = curves
    return runs


def early_stopping(val_loss, patience=5):
    """Early stopping on the validation loss: (best epoch, stop epoch), 1-based. Training
    stops at the first epoch that is ``patience`` epochs past the best so far without a
    lower validation loss (or at the last epoch), and keeps the weights of the best epoch."""
    best = 0
    for epoch in range(len(val_loss)):
        if val_loss[epoch] < val_loss[best]:
            best = epoch
        if epoch - best >= patience:
            return best + 1, epoch + 1
    return best + 1, len(val_loss)


def plot_regularisation(runs, early=None):
    """Loss (left) and accuracy (right) per epoch, training dashed and validation solid,
    one colour per run; ``early`` = (best epoch, stop epoch) of early stopping, drawn on
    the unregularised run."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, curves), colour in zip(runs.items(), ("tab:red", "tab:blue", "tab:green"), strict=False):
        epochs = np.arange(1, len(curves["train_loss"]) + 1)
        for ax, metric, scale in ((left, "loss", 1), (right, "accuracy", 100)):
            ax.plot(epochs, scale * curves[f"train_{metric}"], "--", color=colour, lw=1,
                    label=f"{name}: training")
            ax.plot(epochs, scale * curves[f"val_{metric}"], "-", color=colour,
                    label=f"{name}: validation")
    if early is not None:
        best, stop = early
        for ax in (left, right):
            ax.axvline(best, color="k", lw=0.8, ls=":")
        left.annotate(f"early stopping: stops at epoch {stop},\nkeeps epoch {best}", (best, 0.02),
                      xytext=(best + 1.5, 0.02), fontsize=8)
    left.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="Loss")
    right.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(80, 100.5), title="Accuracy")
    right.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_update_rules(same_lr, tuned):
    """Left: ``same_lr`` ({label: losses}); right: ``tuned`` (``tuned_runs``), each curve
    the mean of 10 mini-batch losses."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for label, losses in same_lr.items():
        left.plot(smoothed(losses), label=label)
    for name, run in tuned.items():
        right.plot(smoothed(run["losses"]), label=f"{name}, best η = {run['lr']:g}")
    left.set(xlabel="step", ylabel="training loss (mean of 10 steps)", yscale="log",
             title="The same learning rate")
    right.set(xlabel="step", title="Each rule at its best learning rate")
    for ax in (left, right):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
