# %% [markdown]
# # 5 · A full MLP on MNIST
#
# MNIST: 70 000 handwritten digits, 28 × 28 grey pixels, labels 0–9. An MLP sees each
# image as a vector of 784 numbers and outputs 10 *logits*; the prediction is their
# argmax. **Part A** trains one built from your own numpy layers (target: ≥ 97 % test
# accuracy). **Part B** makes a network overfit on purpose and tries three remedies:
# weight decay, dropout (yours) and early stopping; it also builds batch normalisation.
# **Part C** builds the same pipeline the way practitioners do, in PyTorch (target:
# ≥ 98 %). The grader measures both accuracies itself on the 10 000 test images.

# %%
import matplotlib.pyplot as plt
import numpy as np

from autograder.student import experiments
from autograder.student.components import (check_adam, check_batchnorm, check_dropout,
                                           check_initial_loss, check_mnist_accuracy,
                                           check_mnist_dataset, check_mnist_model,
                                           check_overfits_small_batch, check_predict_loader,
                                           check_sgd, check_train_one_epoch, required_accuracy)
from autograder.student.data import MEAN, STD, is_withheld, load_mnist
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

Module = notebook("04_backprop").Module
Linear = notebook("04_backprop").Linear
Sequential = notebook("04_backprop").Sequential
MLP = notebook("04_backprop").MLP
ReLU = notebook("02_activations").ReLU
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
#    softmax is near uniform over the $C$ classes, and the cross-entropy is near
#    $-\ln(1/C) = \ln C$ ($\ln 10 \approx 2.303$ for digits). Far from it: the loss or the
#    initialisation is off. The test builds your `MLP` for $C$ = 10, 3 and 40 and
#    measures its loss on random inputs of the data's scale (within 15 % of $\ln C$).
# 2. **Overfit a tiny set.** A network with far more weights than examples must learn
#    them by heart: training accuracy 100 %, loss near 0. If it cannot, the backward pass
#    or the update is wrong, whatever the accuracy on the full set would have said. The
#    test trains an `MLP([20, 64, 5])` on 20 random points with random labels, with your
#    `train` and your `Adam` (100 steps, η = 0.01).

# %% hidden_seed=true id="test_initial_loss" points=1 tags=["tests"]
check_initial_loss(MLP, CrossEntropyLoss).assert_passed()

# %% hidden_seed=true id="test_overfits_small_batch" points=1 tags=["tests"]
check_overfits_small_batch(MLP, CrossEntropyLoss, Adam, train).assert_passed()


# %% [markdown]
# ## Train, watching a validation set
#
# The test set is for the end only: choosing epochs or learning rates by its accuracy
# would make that accuracy an optimistic estimate. So hold out the last twelfth of the
# training images as a **validation set**, train on the rest, and measure the
# validation accuracy after every epoch (the figure: training loss, validation
# accuracy). With 55 000 images and 6 epochs there is little room to overfit; Part B
# makes it happen on purpose, and shows what it looks like.

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
if trained and is_withheld(data.y_test):
    print("test accuracy: measured by the grader (the test labels are withheld while graded)")
elif trained:
    print(f"test accuracy: {100 * accuracy(numpy_model, data.X_test, data.y_test):.2f} %")
    epochs = [r["epoch"] for r in trained[1]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(epochs, [r["loss"] for r in trained[1]], "o-")
    left.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Training loss")
    right.plot(epochs, [100 * r["validation"] for r in trained[1]], "o-", color="tab:green")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="Validation accuracy")
    plt.show()

# %% id="test_numpy_accuracy" points=5 tags=["tests"]
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
# The same MLP ([784, 128, 10]), the same initial weights and the same mini-batches:
# one epoch of 6 000 images (94 steps of 64) per run, with your optimizers.
#
# - **Left, the same learning rate** η = 0.03 for plain SGD and SGD with momentum 0.9:
#   momentum adds up steps that keep their direction (up to $1/(1-\mu) = 10$ times one
#   step), so its loss is lower at step 25 and at the end.
# - **Right, each rule at its best learning rate** (the lowest loss over the last 20
#   steps, of three rates a factor 3 apart, the same budget for each): early on the order
#   is the one often quoted — at step 25 Adam is lowest, then momentum, then plain SGD —
#   but at the end the three are within a quarter of each other. On a small, shallow
#   problem a well-chosen learning rate matters more than the rule; what Adam buys is
#   a fast start.

# %%
def compare_update_rules():
    same_lr, tuned = experiments.compare_update_rules(MLP, CrossEntropyLoss, SGD, Adam,
                                                      data.X_train[:6000], data.y_train[:6000])
    for name, run in tuned.items():
        tried = ", ".join(f"η = {lr:g}: {loss:.3f}" for lr, loss in run["tried"].items())
        print(f"{name}: loss over the last 20 steps at {tried}")
    experiments.plot_update_rules(same_lr, tuned)
    plt.show()


attempt(compare_update_rules, "comparing the update rules")

# %% [markdown]
# ## Part B · Generalisation
#
# A network that scores 100 % on its training images has not necessarily learned
# digits: it may have learned *those images*. The validation set tells the two apart.
# Three remedies are standard: **weight decay** (the optimizers' `weight_decay`, which
# pulls every weight towards 0), **dropout** (below) and **early stopping** (keep the
# epoch whose validation loss was lowest). Dropout and batch normalisation are layers:
# they follow notebook 4's `Module` interface, and behave differently in training and at
# test time, so `Module` has `train()` and `eval()` (as `torch.nn.Module`): they set
# `self.training`, and a `Sequential` passes it on to its layers.
#
# ## Dropout
#
# In training, `Dropout(p)` zeroes each input element with probability $p$ (a new random
# mask $m$ on every forward, from any random generator, e.g. `self.rng`) and scales the survivors by
# $1/(1-p)$, so that the expected output equals the input: $y = x \odot m/(1-p)$. The
# backward pass uses the same mask: $\partial L/\partial x = \partial L/\partial y \odot m/(1-p)$.
# In eval mode it is the identity. The test reads your mask back from your output (each
# element 0 or $x/(1-p)$), checks the share dropped, and compares the backward pass and
# eval mode with `torch.nn.Dropout`.

# %% id="dropout" tags=["solution"]
# @solution solutions.regularization:Dropout

# %% hidden_seed=true id="test_dropout" points=2 tags=["tests"]
check_dropout(Dropout).assert_passed()

# %% [markdown]
# ## Batch normalisation
#
# `BatchNorm1d(F)` normalises each of the $F$ features over the batch, then rescales:
#
# $$\hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}},\qquad y = \gamma \hat x + \beta,$$
#
# with the batch mean $\mu_B$ and the *biased* batch variance $\sigma_B^2$, learnable
# $\gamma$ (ones) and $\beta$ (zeros). In training it also keeps running statistics,
# $r \leftarrow (1-\text{momentum})\,r + \text{momentum}\cdot\text{batch}$, with the *unbiased*
# variance for `running_var` (torch's rule); in eval mode it normalises with them. Its
# backward pass goes through $\mu_B$ and $\sigma_B^2$ too, as both depend on every $x$:
#
# $$\frac{\partial L}{\partial x} = \frac{\gamma}{N\sqrt{\sigma_B^2+\epsilon}}\Big(N\,dy - \sum dy
#   - \hat x \sum dy\,\hat x\Big),\quad \frac{\partial L}{\partial \gamma} = \sum dy\,\hat x,\quad
#   \frac{\partial L}{\partial \beta} = \sum dy$$
#
# (sums over the batch). The test compares forward, backward, the running statistics
# and eval mode with `torch.nn.BatchNorm1d`.

# %% id="batchnorm" tags=["solution"]
# @solution solutions.regularization:BatchNorm1d

# %% hidden_seed=true id="test_batchnorm" points=3 tags=["tests"]
check_batchnorm(BatchNorm1d).assert_passed()


# %% [markdown]
# ## Overfitting, and three remedies
#
# Few images and many weights: 1 000 training images, an MLP [784, 256, 256, 10] (270 000
# weights), 40 epochs of Adam (η = 0.001, batches of 100); validation on 2 000 held-out
# images. Three runs from the same initial weights and the same mini-batches: no
# regulariser, weight decay λ = 0.01 (`Adam(..., weight_decay=0.01)`), and dropout
# p = 0.5 after each ReLU. After every epoch both sets are measured in eval mode. In the
# figure (training dashed, validation solid):
#
# - Without a regulariser the training loss goes to nearly 0 (every training image right,
#   ever more confidently) while the validation loss, after its minimum within the
#   first ten epochs, **rises** again: overfitting.
# - With weight decay and with dropout the gap between the validation and the training
#   loss over the last five epochs is smaller than without.
# - Early stopping (patience 5) watches the validation loss of the unregularised run:
#   it stops five epochs after the validation loss was lowest and keeps that epoch (the
#   dotted line).

# %%
def overfitting_experiment():
    n_val = len(data.X_train) // 12
    runs = experiments.regularisation_runs(
        train, Linear, ReLU, Sequential, Dropout, Adam, CrossEntropyLoss,
        data.X_train[:1000], data.y_train[:1000], data.X_train[-n_val:][:2000],
        data.y_train[-n_val:][:2000], attempt=attempt)
    if not runs:
        return None
    early = experiments.early_stopping(runs["no regulariser"]["val_loss"])
    for name, curves in runs.items():
        print(f"{name}: validation loss {curves['val_loss'][-1]:.3f}, training loss "
              f"{curves['train_loss'][-1]:.4f}, validation accuracy "
              f"{100 * curves['val_accuracy'][-1]:.1f} % after 40 epochs")
    print(f"early stopping: stops at epoch {early[1]}, keeps epoch {early[0]}")
    experiments.plot_regularisation(runs, early)
    plt.show()
    return runs


overfitting = overfitting_experiment()

# %% [markdown]
# **Question (1 point, graded by hand).** In the unregularised run, the validation loss
# rises for 30 epochs while the validation accuracy hardly changes. How can both be
# true? And which of the two would you give early stopping to watch, and why? Answer in
# three or four sentences in the cell below.

# %% [markdown] id="q_overfitting" points=1 tags=["written"]
# @answer solutions.written:OVERFITTING

# %% [markdown]
# ## Part C · the same in PyTorch
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
if torch_model is not None and is_withheld(data.y_test):
    print("test accuracy: measured by the grader (the test labels are withheld while graded)")
elif torch_model is not None:
    test_loader = DataLoader(MNISTDataset(data.X_test, data.y_test), batch_size=1000)
    predictions = predict_loader(torch_model, test_loader, device)
    print(f"test accuracy (sklearn): {100 * accuracy_score(data.y_test, predictions):.2f} %")
    plot_confusion_matrix(confusion_matrix(data.y_test, predictions), title="MNIST test set")
    plt.show()
    plot_predictions(data.X_test[:18] * STD + MEAN, data.y_test[:18], predictions[:18])
    plt.show()

# %% id="test_torch_accuracy" points=5 tags=["tests"]
check_mnist_accuracy(torch_model, data.X_test, data.y_test, required["torch"]).assert_passed()

# %% [markdown]
# ## Summary
#
# - Before a long run: the loss at the start should be near $\ln 10$, and the network must
#   be able to overfit 50 images. Choose settings on a validation set; keep the test set
#   for the end.
# - SGD steps against the gradient; momentum accumulates consistent directions; Adam
#   also rescales each weight's step by its recent gradients. Tuned, on a small network,
#   they end close; Adam starts fastest.
# - A network can learn its training set by heart: watch the validation loss. Weight
#   decay and dropout narrow the gap between training and validation; early stopping
#   keeps the epoch the validation set liked best.
#
# You trained the same network twice: once from parts you wrote and proved against
# PyTorch, once with PyTorch's own parts. Both read 784 pixels and pick the largest of
# 10 logits; both learn by backpropagation and Adam. Everything a deep-learning
# framework adds — autograd, GPU kernels, data loaders — is convenience around the ideas
# of notebooks 1–4.
