"""autograder/student/probes.py on its own: a probe builds the same problem from a seed
each time, runs the student's function on it and returns plain numbers — what torch's
own run of the same problem gives for a correct function — and says what a wrong kind of
answer is instead of failing on it."""

import numpy as np
import torch

from autograder.student import probes


def torch_epoch(model, loader, optimizer, loss_fn, device):
    model.train()
    losses = []
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(X.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def test_the_problem_is_the_same_for_a_seed_and_another_for_another_seed():
    (a, loader_a), (b, _), (c, _) = (probes.tiny_classification(s, "cpu") for s in (5, 5, 6))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(next(a.parameters()), next(c.parameters()))
    before = torch.random.get_rng_state()
    probes.tiny_classification(7, "cpu")
    assert torch.equal(before, torch.random.get_rng_state())  # the caller's generator untouched


def test_an_epoch_returns_the_loss_and_parameters_a_torch_loop_gives():
    loss, parameters = probes.run_train_one_epoch(torch_epoch, 3, "cpu")
    model, loader = probes.tiny_classification(3, "cpu")
    expected = torch_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.1),
                           torch.nn.CrossEntropyLoss(), "cpu")
    assert loss == expected
    assert all(np.array_equal(p, q.detach().numpy())
               for p, q in zip(parameters, model.parameters(), strict=True))
    assert isinstance(probes.run_train_one_epoch(lambda *a: torch.tensor(1.5), 3, "cpu")[0], np.ndarray)


def test_predictions_come_back_as_an_array():
    predict = lambda model, loader, device: torch.cat([model(X).argmax(1) for X, _ in loader])  # noqa: E731
    predictions = probes.run_predict_loader(predict, 4, "cpu")
    model, loader = probes.tiny_classification(4, "cpu")
    assert isinstance(predictions, np.ndarray)
    assert np.array_equal(predictions, predict(model, loader, "cpu").numpy())


def test_a_model_that_is_not_a_module_is_said_not_raised():
    assert probes.run_build_model(lambda: "a string", 0, "cpu") == {"module": False, "type": "str"}
    facts = probes.run_build_model(lambda: torch.nn.Sequential(torch.nn.Linear(784, 10)), 0, "cpu")
    assert (facts["module"], facts["linears"], facts["output"].shape) == (True, 1, (3, 10))
    frames = probes.run_build_frame_model(lambda k: torch.nn.Linear((2 * k + 1) * 28, 40), 0, "cpu")
    assert [(f["context"], f["output"].shape) for f in frames] == [(0, (5, 40)), (4, (5, 40))]


def test_logits_of_a_module_a_forward_object_or_a_function():
    X = np.ones((2, 3), dtype=np.float32)
    layer = torch.nn.Linear(3, 2)
    layer.train()
    assert np.allclose(probes.logits(layer, X), layer(torch.as_tensor(X)).detach().numpy())
    assert not layer.training  # judged in eval mode
    assert np.array_equal(probes.logits(lambda x: x * 2, X), X * 2)


def test_held_bytes_counts_each_buffer_once():
    a = np.zeros(1000)
    t = torch.zeros(10)
    holder = type("Holder", (), {})()
    holder.a, holder.view, holder.items = a, a[10:], {"t": t, "again": [t, a]}
    assert probes.held_bytes(holder) == a.nbytes + t.untyped_storage().nbytes()
