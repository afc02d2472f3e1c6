# %% [markdown]
# # 5 · A full MLP on MNIST
#
# MNIST: 70 000 handwritten digits, 28 × 28 grey pixels, labels 0–9. An MLP sees each
# image as a vector of 784 numbers and outputs 10 *logits*; the prediction is their
# argmax. **Part A** trains one built from your own numpy layers (target: ≥ 97 % test
# accuracy). **Part B** builds the same pipeline the way practitioners do, in PyTorch
# (target: ≥ 98 %). The grader measures both accuracies itself on the 10 000 test images.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from autograder.student.components import (check_adam, check_mnist_accuracy, check_mnist_dataset,
                                           check_mnist_model, check_predict_loader, check_sgd,
                                           check_train_one_epoch, required_accuracy)
from autograder.student.data import MEAN, STD, load_mnist
from autograder.student.plots import attempt, plot_confusion_matrix, plot_loss_curves, plot_predictions

data = load_mnist()
print(f"{data.source}: {len(data.X_train)} training and {len(data.X_test)} test images")
required = required_accuracy(len(data.X_train))
images = data.X_train[:12] * STD + MEAN
plot_predictions(images, data.y_train[:12], data.y_train[:12], rows=2, cols=6)
plt.show()

# %% [markdown]
# ## Part A · your numpy MLP
#
# The network is yours already: notebook 4's `MLP`, built from your `Linear`, your
# `Sequential` and notebook 2's `ReLU`, and notebook 3's `CrossEntropyLoss` — imported
# from those notebooks as you last saved them (when graded: as you hand them in).
# They were graded there; here they train. If one is wrong, fix it in its own notebook,
# save, run this cell again, and hand that notebook in too. New here: two optimizers
# and the training loop.
#
# The optimizers are judged as everything before: by their numbers, against
# `torch.optim` in float64 (a numpy warning on the way to right numbers is advice, never
# a failure). They update the float64 arrays they are given in place, so keep their
# buffers in float64 too: float32 moments drift from torch's within a few steps, and the
# test says when your numbers look like float32 rounding.

# %%
from autograder.student.earlier import notebook

MLP = notebook("04_backprop").MLP
CrossEntropyLoss = notebook("03_loss_and_gradient_descent").CrossEntropyLoss

# %% [markdown]
# ## SGD with momentum
#
# Plain SGD steps against the gradient, $\theta \leftarrow \theta - \eta g$. Momentum keeps a
# running *velocity* $b$ so that steps along a consistent direction build up and
# zig-zags across a narrow valley cancel out. As `torch.optim.SGD` does it (no
# dampening), with weight decay $\lambda$ and momentum $\mu$:
#
# $$g \leftarrow g + \lambda\theta,\qquad b \leftarrow \begin{cases} g & \text{first step}\\
#   \mu b + g & \text{later steps}\end{cases},\qquad \theta \leftarrow \theta - \eta b$$
#
# (without momentum, $b = g$). Keep one buffer per parameter, in float64, and update the
# parameter arrays *in place* (`p -= ...`). The test runs six steps on three settings
# (plain, momentum 0.9, momentum with weight decay) against `torch.optim.SGD`; when your
# parameters drift it says which known variant (a dampened buffer started at 0, decay
# missing or added after the momentum) your numbers match.

# %% id="sgd" tags=["solution"]
# @solution solutions.optim:SGD

# %% hidden_seed=true id="test_sgd" points=2 tags=["tests"]
check_sgd(SGD).assert_passed()

# %% [markdown]
# ## Adam
#
# Adam keeps running averages of the gradient and of its square, corrects their bias
# towards 0 in early steps, and scales each weight's step by them:
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
#   \theta \leftarrow \theta - \eta\,\frac{m/(1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} + \epsilon}$$
#
# (with weight decay $\lambda$, first $g \leftarrow g + \lambda\theta$, as `torch.optim.Adam`
# does — not AdamW's decoupled decay). $t$ counts the steps from 1, $\epsilon$ sits outside
# the square root, and $m$, $v$ start at 0 in float64. Update the parameter arrays
# *in place* (`p -= ...`): the optimizer holds the same arrays as the layers. The test runs
# six steps on three settings against `torch.optim.Adam`; when your parameters drift, it
# says which known variant (bias correction one step late, $\epsilon$ inside the root,
# decay missing) your numbers match.

# %% id="adam" tags=["solution"]
# @solution solutions.optim:Adam

# %% hidden_seed=true id="test_adam" points=2 tags=["tests"]
check_adam(Adam).assert_passed()

# %% [markdown]
# ## The training loop
#
# For each epoch: shuffle (seeded), then for each mini-batch run forward, the loss,
# backward and an optimizer step. `minibatches` and a step-decay learning-rate schedule
# are given.

# %%
# @include solutions.mlp:minibatches
# @include solutions.mlp:step_decay
# @include solutions.mlp:predict
# @include solutions.mlp:accuracy
import time


# %% id="train" tags=["solution"]
# @solution solutions.mlp:train

# %% [markdown]
# ## Two sanity checks before a long run
#
# Minutes of training can hide a bug that two seconds would show (CS231n's advice):
#
# 1. **The loss at the start.** With small random weights the logits are near 0, the
#    softmax is near uniform over the 10 classes, and the cross-entropy is near
#    $-\ln(1/10) = \ln 10 \approx 2.303$. Far from it: the loss or the initialisation is off.
# 2. **Overfit a tiny set.** A network with 300 000 weights must learn 50 images by heart:
#    training accuracy 100 %, loss near 0. If it cannot, the backward pass or the update
#    is wrong, whatever the accuracy on the full set would have said.

# %%
def sanity_checks():
    model = MLP([784, 512, 256, 10], rng=0)
    start = float(CrossEntropyLoss().forward(model.forward(data.X_train[:1000]), data.y_train[:1000]))
    print(f"loss at the start: {start:.3f} (ln 10 = {math.log(10):.3f})"
          f"{'  ✓' if abs(start - math.log(10)) < 0.2 else '  ✗ far from ln 10: check the loss'}")
    small_X, small_y = data.X_train[:50], data.y_train[:50]
    history = train(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3), small_X, small_y,
                    epochs=40, batch_size=10, seed=0)
    fit = accuracy(model, small_X, small_y)
    print(f"50 images after 40 epochs: loss {history[-1]['loss']:.4f}, training accuracy "
          f"{100 * fit:.0f} %{'  ✓' if fit == 1 else '  ✗ cannot overfit: check backward and step'}")


attempt(sanity_checks, "the sanity checks")


# %% [markdown]
# ## Train, watching a validation set
#
# The test set is for the end only: choosing epochs or learning rates by its accuracy
# would make that accuracy an optimistic estimate. So hold out the last twelfth of the
# training images as a **validation set**, train on the rest, and watch both curves:
# training loss falling while validation accuracy stalls or drops is overfitting.

# %%
def train_numpy_mlp():
    n_val = len(data.X_train) // 12
    X_fit, y_fit = data.X_train[:-n_val], data.y_train[:-n_val]
    X_val, y_val = data.X_train[-n_val:], data.y_train[-n_val:]
    model = MLP([784, 512, 256, 10], rng=0, dtype=np.float32, input_grad=False)
    optimizer = Adam(model.parameters(), lr=1e-3)

    def report(record):
        record["validation"] = accuracy(model, X_val, y_val)
        print(f"epoch {record['epoch']}: loss {record['loss']:.4f}, validation accuracy "
              f"{100 * record['validation']:.2f} % ({record['seconds']:.1f} s)")

    history = train(model, CrossEntropyLoss(), optimizer, X_fit, y_fit, epochs=6,
                    batch_size=128, seed=0, lr_schedule=step_decay(1e-3), on_epoch=report)
    return model, history


trained = attempt(train_numpy_mlp, "training the numpy MLP")
numpy_model = trained[0] if trained else None
if trained:
    print(f"test accuracy: {100 * accuracy(numpy_model, data.X_test, data.y_test):.2f} %")
    epochs = [r["epoch"] for r in trained[1]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(epochs, [r["loss"] for r in trained[1]], "o-")
    left.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Training loss")
    right.plot(epochs, [100 * r["validation"] for r in trained[1]], "o-", color="tab:green")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="Validation accuracy")
    plt.show()

# %% id="test_numpy_accuracy" points=5 tags=["tests"]
assert numpy_model is not None, "train the numpy MLP first (the cells above)"
check_mnist_accuracy(numpy_model, data.X_test, data.y_test, required["numpy"]).assert_passed()


# %% [markdown]
# **Question (1 point, graded by hand).** Why choose the number of epochs (or the
# learning rate) by the validation accuracy and not by the test accuracy? Answer in two
# or three sentences in the cell below.

# %% [markdown] id="q_validation" points=1 tags=["written"]
# @answer solutions.written:VALIDATION

# %% [markdown]
# ## Update rules compared
#
# The same small MLP, the same initial weights and the same mini-batches, trained for
# two epochs on 6 000 images by each of your optimizers. Plain SGD needs a larger step
# and still moves slowly along shallow directions; momentum accumulates them; Adam
# rescales each weight's step by the size of its recent gradients, so one learning rate
# suits every layer.

# %%
def compare_update_rules(steps_X=data.X_train[:6000], steps_y=data.y_train[:6000]):
    rules = {"SGD, η = 0.1": lambda p: SGD(p, lr=0.1),
             "SGD + momentum 0.9, η = 0.01": lambda p: SGD(p, lr=0.01, momentum=0.9),
             "Adam, η = 0.001": lambda p: Adam(p, lr=1e-3)}
    curves = {}
    for name, make in rules.items():
        model, loss_fn, rng = MLP([784, 128, 10], rng=0), CrossEntropyLoss(), np.random.default_rng(0)
        optimizer, losses = make(model.parameters()), []
        for _ in range(2):
            for idx in minibatches(len(steps_X), 64, rng):
                losses.append(float(loss_fn.forward(model.forward(steps_X[idx]), steps_y[idx])))
                model.backward(loss_fn.backward())
                optimizer.step(model.gradients())
        curves[name] = np.convolve(losses, np.ones(10) / 10, mode="valid")  # smoothed
    plot_loss_curves(curves, title="Training loss per mini-batch (mean of 10)")
    plt.show()


attempt(compare_update_rules, "comparing the update rules")

# %% [markdown]
# ## Part B · the same in PyTorch
#
# The pipeline of the course's Colab notebook: a `Dataset` that serves one (image,
# label) pair at a time, a `DataLoader` that batches and shuffles, an `nn.Sequential`
# model on the GPU when there is one, `CrossEntropyLoss`, Adam, tqdm progress bars, a
# model summary, and an evaluation with scikit-learn.

# %%
import torch
from sklearn.metrics import accuracy_score, confusion_matrix
from torch import nn
from torch.utils.data import DataLoader
from torchinfo import summary
from tqdm.auto import tqdm, trange

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"device: {device}")

# %% id="mnist_dataset" tags=["solution"]
# @solution solutions.torch_mnist:MNISTDataset

# %% hidden_seed=true id="test_mnist_dataset" points=2 tags=["tests"]
check_mnist_dataset(MNISTDataset).assert_passed()

# %% id="build_model" tags=["solution"]
# @solution solutions.torch_mnist:build_model

# %% id="test_build_model" points=1 tags=["tests"]
check_mnist_model(build_model).assert_passed()

# %% id="train_one_epoch" tags=["solution"]
# @solution solutions.torch_mnist:train_one_epoch

# %% hidden_seed=true id="test_train_one_epoch" points=3 tags=["tests"]
check_train_one_epoch(train_one_epoch).assert_passed()

# %% id="predict_loader" tags=["solution"]
# @solution solutions.torch_mnist:predict_loader

# %% id="test_predict_loader" points=1 tags=["tests"]
check_predict_loader(predict_loader).assert_passed()


# %%
def train_torch_mlp(epochs=8):
    train_loader = DataLoader(MNISTDataset(data.X_train, data.y_train), batch_size=128, shuffle=True)
    model = build_model().to(device)
    print(summary(model, input_size=(128, 784), device=str(device), verbose=0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.3)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for epoch in trange(epochs, desc="epochs"):
        losses.append(train_one_epoch(model, train_loader, optimizer, criterion, device))
        scheduler.step()
        tqdm.write(f"epoch {epoch + 1}: loss {losses[-1]:.4f}")
    return model, losses


trained = attempt(train_torch_mlp, "training the torch MLP")
torch_model = trained[0] if trained else None

# %%
if torch_model is not None:
    test_loader = DataLoader(MNISTDataset(data.X_test, data.y_test), batch_size=1000)
    predictions = predict_loader(torch_model, test_loader, device)
    print(f"test accuracy (sklearn): {100 * accuracy_score(data.y_test, predictions):.2f} %")
    plot_confusion_matrix(confusion_matrix(data.y_test, predictions), title="MNIST test set")
    plt.show()
    plot_predictions(data.X_test[:18] * STD + MEAN, data.y_test[:18], predictions[:18])
    plt.show()

# %% id="test_torch_accuracy" points=5 tags=["tests"]
assert torch_model is not None, "train the torch MLP first (the cells above)"
check_mnist_accuracy(torch_model, data.X_test, data.y_test, required["torch"]).assert_passed()

# %% [markdown]
# ## Summary
#
# - Before a long run: the loss at the start should be near $\ln 10$, and the network must
#   be able to overfit 50 images. Choose settings on a validation set; keep the test set
#   for the end.
# - SGD steps against the gradient; momentum accumulates consistent directions; Adam
#   also rescales each weight's step by its recent gradients.
#
# You trained the same network twice: once from parts you wrote and proved against
# PyTorch, once with PyTorch's own parts. Both read 784 pixels and pick the largest of
# 10 logits; both learn by backpropagation and Adam. Everything a deep-learning
# framework adds — autograd, GPU kernels, data loaders — is convenience around the ideas
# of notebooks 1–4.
