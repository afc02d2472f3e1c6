# %% [markdown]
# # 6 · From sound to phonemes: an MLP on speech frames
#
# Speech recognisers start by cutting sound into *frames*: every 10 ms, a 25 ms window of
# the waveform is summarised by 28 *mel-frequency cepstral coefficients* (MFCCs), a
# compact description of the spectrum's shape. This notebook trains an MLP that reads a
# frame, with a few frames of context either side, and names the phoneme being spoken:
# one of CMUdict's 39 phones or silence, 40 labels in all — CMU 11-785's HW1P2.
#
# HW1P2 uses LibriSpeech; here the speech is made on your machine by the Festival
# synthesizer, which also says exactly when each phone starts and ends, so every frame
# has a label. Three voices, each heard as several speakers (a longer or shorter vocal
# tract), at random speaking rates and with noise; the dev and test speakers are never
# heard in training. The grader measures your model's frame accuracy on the test speakers.

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import soundfile
import torch
from torch import nn
from tqdm.auto import tqdm

from autograder.student.components import (FRAME_ACCURACY, check_context_frames, check_frame_accuracy,
                                           check_frame_model)
from autograder.student.speech.phones import LABELS
from autograder.student.plots import attempt, plot_phone_confusion, plot_utterance
from autograder.student.speech.corpus import ensure_corpus, read_split

root = ensure_corpus()  # made on first use (about a minute), then read from disk
train_split, dev_split = read_split(root / "train"), read_split(root / "dev")
for name, (mfccs, labels) in (("train", train_split), ("dev", dev_split)):
    frames = sum(len(x) for x in mfccs)
    print(f"{name}: {len(mfccs)} utterances, {frames} frames ({frames / 6000:.1f} minutes)")
counts = np.bincount(np.concatenate(dev_split[1]), minlength=len(LABELS))
chance = counts.max() / counts.sum()
print(f"chance level (always '{LABELS[counts.argmax()]}'): {100 * chance:.1f} % of dev frames; "
      f"the grader asks for {100 * FRAME_ACCURACY:.0f} % of the test speakers' frames")

# %% [markdown]
# ## Looking at one utterance
#
# Top: the waveform, 16 000 samples per second. Middle: its MFCCs, one column per 10 ms
# frame, each coefficient standardised over the utterance so that all 28 show (low
# coefficients at the bottom describe the spectrum's overall tilt and loudness, higher
# ones its finer shape). Bottom: the phone label of each frame — see how the columns
# change where the label does.

# %%
first = sorted((root / "dev" / "mfcc").glob("*.npy"))[0].stem
wav, notes = root / "dev" / "wav" / f"{first}.wav", root / "dev" / "utterances.jsonl"
wave, rate = soundfile.read(str(wav)) if wav.exists() else (np.zeros(160), 16000)
texts = ({r["id"]: r["text"] for r in map(json.loads, notes.read_text().splitlines())}
         if notes.exists() else {})
plot_utterance(wave, rate, dev_split[0][0], dev_split[1][0], LABELS,
               title=f"{first}: “{texts.get(first, '')}”")
plt.show()

# %% [markdown]
# ## A dataset of frames with context
#
# One frame (10 ms) rarely tells a phone apart; the frames around it do. Item `i` of
# the dataset is frame `i` of all utterances put one after another, together with the
# `k` frames before and after it *in the same utterance* — a window of `2k + 1` frames,
# flattened to `(2k+1)·28` numbers (frame by frame) — and its label. For frame $t$ of an
# utterance $x_1, \dots, x_T$:
#
# $$\tilde x_s = x_s - \frac{1}{T}\sum_{r=1}^{T} x_r, \qquad
#   w_t = \big[\tilde x_{t-k};\ \dots;\ \tilde x_t;\ \dots;\ \tilde x_{t+k}\big]
#   \in \mathbb{R}^{(2k+1)\cdot 28}, \qquad \tilde x_s = 0 \text{ for } s < 1 \text{ or } s > T.$$
#
# - **Normalise** each utterance first: subtract its mean frame (cepstral mean
#   normalisation removes the microphone's and the voice's constant colouring).
# - **Pad** each utterance with `k` frames of zeros before and after it, so windows at
#   its edges see zeros, never the neighbouring utterance.
# - **Memory**: HW1P2 has 36 million frames; a copy of every window would take `2k+1`
#   times the data. Keep one padded copy of all frames and an index of where each
#   frame sits; cut the window in `__getitem__`.
#
# `labels=None` (a test set without transcripts) gives every frame the label `-1`.

# %% id="context_frames" tags=["solution"]
# @solution solutions.speech:ContextFrames

# %% hidden_seed=true id="test_context_frames" points=4 tags=["tests"]
check_context_frames(ContextFrames).assert_passed()

# %% [markdown]
# ## The training loop, again
#
# The same loop as for MNIST: your `train_one_epoch` and `predict_loader`, imported from
# notebook 5 as you last saved it (when graded: as you hand it in; they were graded
# there).

# %%
from autograder.student.earlier import notebook

train_one_epoch = notebook("05_mnist_mlp").train_one_epoch
predict_loader = notebook("05_mnist_mlp").predict_loader

# %% [markdown]
# ## The frame MLP
#
# `build_frame_model(k)` returns an `nn.Module` that maps a batch of windows,
# `(N, (2k+1)·28)`, to 40 logits. The architecture is yours; what works well here are a
# few wide hidden layers, each `Linear → BatchNorm1d → GELU (or ReLU) → Dropout`.

# %% id="frame_model" tags=["solution"]
# @solution solutions.speech:build_frame_model

# %% id="test_frame_model" points=1 tags=["tests"]
check_frame_model(build_frame_model).assert_passed()

# %% [markdown]
# ## Training: Adam, cross-entropy, argmax
#
# `CONTEXT` frames either side; Adam with a cosine learning-rate schedule; the dev
# accuracy after each epoch. The loss is the cross-entropy of the 40 logits $z$ with the
# frame's label $y$, $\ell = -\log \operatorname{softmax}(z)_y$, and the prediction is
# $\hat y = \arg\max_c z_c$.

# %%
from sklearn.metrics import accuracy_score, confusion_matrix
from torch.utils.data import DataLoader
from torchinfo import summary
from tqdm.auto import trange

CONTEXT = 10
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"device: {device}")


def train_frame_mlp(epochs=4):
    train_loader = DataLoader(ContextFrames(*train_split, CONTEXT), batch_size=1024, shuffle=True)
    dev_set = ContextFrames(*dev_split, CONTEXT)
    dev_loader = DataLoader(dev_set, batch_size=4096)
    model = build_frame_model(CONTEXT).to(device)
    print(summary(model, input_size=(1024, (2 * CONTEXT + 1) * 28), device=str(device), verbose=0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    criterion = nn.CrossEntropyLoss()
    for epoch in trange(epochs, desc="epochs"):
        loss = train_one_epoch(model, train_loader, optimizer, criterion, device)
        scheduler.step()
        dev_accuracy = accuracy_score(dev_set.labels, predict_loader(model, dev_loader, device))
        tqdm.write(f"epoch {epoch + 1}: loss {loss:.3f}, dev accuracy {100 * dev_accuracy:.2f} %")
    return model, dev_set, dev_loader


trained = attempt(train_frame_mlp, "training the frame MLP")
frame_model = trained[0] if trained else None

# %%
if frame_model is not None:
    _, dev_set, dev_loader = trained
    predictions = predict_loader(frame_model, dev_loader, device)
    truth = dev_set.labels.numpy()
    print(f"dev frame accuracy {100 * accuracy_score(truth, predictions):.2f} % "
          f"(chance {100 * chance:.1f} %)")
    plot_phone_confusion(confusion_matrix(truth, predictions, labels=range(len(LABELS))), LABELS)
    plt.show()

# %% [markdown]
# Which phones does the model confuse? Look along the rows: vowels that sound alike
# (`AH`/`IH`/`EH`), voiced and voiceless twins (`S`/`Z`, `T`/`D`) and short phones that
# live between two others are the usual suspects.
#
# The grader cuts the windows of the test speakers itself (with your `CONTEXT`) and
# measures the accuracy of your model's argmax; it must reach the target printed at the
# top (`FRAME_ACCURACY`).

# %% id="test_frame_accuracy" points=5 tags=["tests"]
assert frame_model is not None, "train the frame MLP first (the cells above)"
check_frame_accuracy(frame_model, CONTEXT).assert_passed()

# %% [markdown]
# ## Summary
#
# A frame MLP with 21 frames of context labels most 10 ms frames of unseen speakers
# correctly, against a chance level near 10 %. Everything a phone recogniser adds —
# sequence models, a pronunciation dictionary, a language model — starts from frame
# scores like these. To try the same pipeline on your own recordings, align them with
# `autograder.student.speech.alignment.align_folder` (pocketsphinx) and point `read_split` at
# the folder it writes; a real HW1P2 download reads the same way.
