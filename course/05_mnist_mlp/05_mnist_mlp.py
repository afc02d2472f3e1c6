# %% [markdown]
# # 5 · A full MLP on MNIST
#
# MNIST: 70 000 handwritten digits, 28 × 28 grey pixels, labels 0–9. An MLP sees each
# image as a vector of 784 numbers and outputs 10 *logits*; the prediction is their
# argmax. **Part A** trains one built from your own numpy layers (target: ≥ 97 % test
# accuracy). **Part B** builds the same pipeline the way practitioners do, in PyTorch
# (target: ≥ 98 %). The grader measures both accuracies itself on the 10 000 test images.

# %% [code]
import math

import matplotlib.pyplot as plt
import numpy as np

from autograder.components import (check_adam, check_cross_entropy, check_linear,
                                   check_mlp, check_mnist_accuracy, check_mnist_dataset,
                                   check_mnist_model, check_predict_loader, check_relu,
                                   check_train_one_epoch, required_accuracy)
from autograder.data import MEAN, STD, load_mnist
from autograder.plots import attempt, plot_confusion_matrix, plot_loss_curves, plot_predictions

data = load_mnist()
print(f"{data.source}: {len(data.X_train)} training and {len(data.X_test)} test images")
required = required_accuracy(len(data.X_train))
images = data.X_train[:12] * STD + MEAN
plot_predictions(images, data.y_train[:12], data.y_train[:12], rows=2, cols=6)
plt.show()

# %% [markdown]
# ## Part A · your numpy MLP
#
# Paste your layers from notebooks 2–4 into the cells below (each is re-checked), then
# write the training loop. The base class, initialisation and a few helpers are given.

# %% [code]
# @include solutions.module:Module
# @include solutions.linear:torch_default_uniform
# @include solutions.losses:as_target_distribution

# %% [solution] id=linear
# @solution solutions.linear:Linear

# %% [tests] id=test_linear points=1
check_linear(Linear).assert_passed()

# %% [solution] id=relu
# @solution solutions.activations:ReLU

# %% [tests] id=test_relu points=1
check_relu(ReLU).assert_passed()

# %% [solution] id=cross_entropy
# @solution solutions.losses:log_softmax
# @solution solutions.losses:CrossEntropyLoss

# %% [tests] id=test_cross_entropy points=1
check_cross_entropy(CrossEntropyLoss).assert_passed()

# %% [solution] id=sequential
# @solution solutions.mlp:Sequential

# %% [code]
# @include solutions.mlp:MLP

# %% [tests] id=test_mlp points=2
check_mlp(MLP).assert_passed()

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

# %% [solution] id=adam
# @solution solutions.optim:Adam

# %% [tests] id=test_adam points=2
check_adam(Adam).assert_passed()
### BEGIN HIDDEN TESTS
check_adam(Adam, seed=7103).assert_passed()
### END HIDDEN TESTS

# %% [markdown]
# ## The training loop
#
# For each epoch: shuffle (seeded), then for each mini-batch run forward, the loss,
# backward and an optimizer step. `minibatches` and a step-decay learning-rate schedule
# are given.

# %% [code]
# @include solutions.mlp:minibatches
# @include solutions.mlp:step_decay
# @include solutions.mlp:predict
# @include solutions.mlp:accuracy
import time

# %% [solution] id=train
# @solution solutions.mlp:train

# %% [code]
def train_numpy_mlp():
    model = MLP([784, 512, 256, 10], rng=0, dtype=np.float32, input_grad=False)
    optimizer = Adam(model.parameters(), lr=1e-3)
    report = lambda r: print(f"epoch {r['epoch']}: loss {r['loss']:.4f} ({r['seconds']:.1f} s)")
    history = train(model, CrossEntropyLoss(), optimizer, data.X_train, data.y_train, epochs=6,
                    batch_size=128, seed=0, lr_schedule=step_decay(1e-3), on_epoch=report)
    return model, history


trained = attempt(train_numpy_mlp, "training the numpy MLP")
numpy_model = trained[0] if trained else None
if trained:
    print(f"test accuracy: {100 * accuracy(numpy_model, data.X_test, data.y_test):.2f} %")
    plot_loss_curves({"numpy MLP": [r["loss"] for r in trained[1]]}, title="Training loss per epoch")
    plt.show()

# %% [tests] id=test_numpy_accuracy points=5
assert numpy_model is not None, "train the numpy MLP first (the cells above)"
check_mnist_accuracy(numpy_model, data.X_test, data.y_test, required["numpy"]).assert_passed()

# %% [markdown]
# ## Part B · the same in PyTorch
#
# The pipeline of the course's Colab notebook: a `Dataset` that serves one (image,
# label) pair at a time, a `DataLoader` that batches and shuffles, an `nn.Sequential`
# model on the GPU when there is one, `CrossEntropyLoss`, Adam, tqdm progress bars, a
# model summary, and an evaluation with scikit-learn.

# %% [code]
import torch
from sklearn.metrics import accuracy_score, confusion_matrix
from torch import nn
from torch.utils.data import DataLoader
from torchinfo import summary
from tqdm.auto import tqdm, trange

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"device: {device}")

# %% [solution] id=mnist_dataset
# @solution solutions.torch_mnist:MNISTDataset

# %% [tests] id=test_mnist_dataset points=2
check_mnist_dataset(MNISTDataset).assert_passed()
### BEGIN HIDDEN TESTS
check_mnist_dataset(MNISTDataset, seed=7103).assert_passed()
### END HIDDEN TESTS

# %% [solution] id=build_model
# @solution solutions.torch_mnist:build_model

# %% [tests] id=test_build_model points=1
check_mnist_model(build_model).assert_passed()

# %% [solution] id=train_one_epoch
# @solution solutions.torch_mnist:train_one_epoch

# %% [tests] id=test_train_one_epoch points=3
check_train_one_epoch(train_one_epoch).assert_passed()
### BEGIN HIDDEN TESTS
check_train_one_epoch(train_one_epoch, seed=7103).assert_passed()
### END HIDDEN TESTS

# %% [solution] id=predict_loader
# @solution solutions.torch_mnist:predict_loader

# %% [tests] id=test_predict_loader points=1
check_predict_loader(predict_loader).assert_passed()

# %% [code]
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

# %% [code]
if torch_model is not None:
    test_loader = DataLoader(MNISTDataset(data.X_test, data.y_test), batch_size=1000)
    predictions = predict_loader(torch_model, test_loader, device)
    print(f"test accuracy (sklearn): {100 * accuracy_score(data.y_test, predictions):.2f} %")
    plot_confusion_matrix(confusion_matrix(data.y_test, predictions), title="MNIST test set")
    plt.show()
    plot_predictions(data.X_test[:18] * STD + MEAN, data.y_test[:18], predictions[:18])
    plt.show()


# %% [tests] id=test_torch_accuracy points=5
assert torch_model is not None, "train the torch MLP first (the cells above)"
check_mnist_accuracy(torch_model, data.X_test, data.y_test, required["torch"]).assert_passed()

# %% [markdown]
# ## Summary
#
# You trained the same network twice: once from parts you wrote and proved against
# PyTorch, once with PyTorch's own parts. Both read 784 pixels and pick the largest of
# 10 logits; both learn by backpropagation and Adam. Everything a deep-learning
# framework adds — autograd, GPU kernels, data loaders — is convenience around the ideas
# of notebooks 1–4.
