"""Student code run on a seeded problem, answers returned as plain arrays.

The torch exercises of notebooks 5 and 6 hand the student's function torch objects (a model,
a DataLoader, an optimizer), which cannot travel between processes. So the grader asks
the notebook's process to run one of these probes; it builds the problem from the
seed, calls the student's code and returns only numbers, which ``components`` then
judges against torch's own run of the same problem. Student-safe: no answers here.
"""

import numpy as np
import torch


def tiny_classification(seed, device):
    """40 points in 6-d, 3 classes, a 6-5-3 MLP: the same for every seed user."""
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(40, 6, generator=g), torch.randint(0, 3, (40,), generator=g)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=8)
    return model.to(device), loader


def run_train_one_epoch(train_one_epoch, seed, device):
    """One epoch of SGD(lr=0.1) by the student's loop: (mean loss, parameters after)."""
    model, loader = tiny_classification(seed, device)
    mean_loss = train_one_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.1),
                                torch.nn.CrossEntropyLoss(), device)
    if isinstance(mean_loss, torch.Tensor):
        mean_loss = mean_loss.detach().cpu().numpy()
    return mean_loss, [p.detach().cpu().numpy() for p in model.parameters()]


def run_overfit_small_batch(MLP, seed, device, CrossEntropyLoss, Adam, train):
    """Notebook 5's second sanity check, all in the notebook's process (the optimizer
    must hold the model's own arrays): a seeded batch of 20 points with random labels,
    ``MLP([20, 64, 5])`` trained by the student's ``train`` with their ``Adam`` (100 steps,
    η = 0.01). Returns the batch and the logits before and after. (The seed and device
    come second and third, as in every probe.)"""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((20, 20)), rng.integers(0, 5, size=20)
    model = MLP([20, 64, 5], rng=seed)
    before = np.array(model.forward(X), dtype=np.float64)
    train(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-2), X, y, epochs=50,
          batch_size=10, seed=seed)
    return {"X": X, "y": y, "before": before, "after": np.asarray(model.forward(X))}


def run_predict_loader(predict_loader, seed, device):
    model, loader = tiny_classification(seed, device)
    predictions = predict_loader(model, loader, device)
    return predictions.detach().cpu().numpy() if isinstance(predictions, torch.Tensor) else predictions


def run_build_model(build_model, seed, device):
    """What the grader needs to know of the model: its kind, its nn.Linear count, and
    its output on a seeded batch of 3 images."""
    model = build_model()
    if not isinstance(model, torch.nn.Module):
        return {"module": False, "type": type(model).__name__}
    x = torch.randn(3, 784, generator=torch.Generator().manual_seed(seed)).to(device)
    out = model.to(device)(x)
    return {"module": True, "type": type(model).__name__,
            "linears": sum(isinstance(m, torch.nn.Linear) for m in model.modules()),
            "output": out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else None}


def logits(model, X, device=None):
    """Logits of a batch: an nn.Module (on its own device, without gradients), an
    object with ``forward``, or a function."""
    if isinstance(model, torch.nn.Module):
        model.eval()
        parameter = next(model.parameters(), None)
        where = parameter.device if parameter is not None else torch.device("cpu")
        with torch.no_grad():
            return model(torch.as_tensor(np.asarray(X), device=where)).cpu().numpy()
    out = model.forward(X) if hasattr(model, "forward") else model(X)
    return out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else out


def run_build_frame_model(build_frame_model, seed, device, contexts=(0, 4)):
    """For each context k: the model's kind, its nn.Linear count and its output (in
    eval mode) on a seeded batch of 5 windows of (2k+1)·28 numbers."""
    facts = []
    for k in contexts:
        model = build_frame_model(k)
        if not isinstance(model, torch.nn.Module):
            return [{"module": False, "type": type(model).__name__}]
        x = torch.randn(5, (2 * k + 1) * 28, generator=torch.Generator().manual_seed(seed))
        model = model.to(device).eval()
        with torch.no_grad():
            out = model(x.to(device))
        facts.append({"module": True, "type": type(model).__name__, "context": k,
                      "linears": sum(isinstance(m, torch.nn.Linear) for m in model.modules()),
                      "output": out.cpu().numpy() if isinstance(out, torch.Tensor) else None})
    return facts


def held_bytes(obj, depth=3):
    """Bytes of the numpy arrays and torch tensors an object holds in its attributes
    (and in lists, tuples and dicts of them), each buffer counted once."""
    seen, total = set(), 0

    def visit(value, level):
        nonlocal total
        if isinstance(value, np.ndarray):
            root = value
            while isinstance(root.base, np.ndarray):
                root = root.base
            key, size = root.__array_interface__["data"][0], root.nbytes
        elif isinstance(value, torch.Tensor):
            storage = value.untyped_storage()
            key, size = storage.data_ptr(), storage.nbytes()
        else:
            if level < depth:
                children = (value.values() if isinstance(value, dict)
                            else value if isinstance(value, (list, tuple))
                            else vars(value).values() if hasattr(value, "__dict__") else ())
                for child in children:
                    visit(child, level + 1)
            return
        if key not in seen:
            seen.add(key)
            total += size

    visit(obj, 0)
    return total
