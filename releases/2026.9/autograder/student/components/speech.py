"""Notebook 6's checks: the context-window dataset, the frame model, frame accuracy."""

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.student import probes
from autograder.student.components.mnist import measured_accuracy, withheld
from autograder.student.components.registry import declares, probe
from autograder.student.data import LabelsWithheld
from autograder.student.oracle import StudentCodeError, Verdict, call_student, compare, resolve_device

NOTEBOOK = "06_speech_frames"


# ---- notebook 6: speech frames -------------------------------------------------------

FRAME_CLASSES = 40
FRAME_ACCURACY = 0.70  # on the test speakers of the default corpus; chance is about 0.1


def context_windows(mfccs, context):
    """torch's answer: each utterance minus its mean frame, zero-padded by k frames,
    cut into windows of 2k+1 frames by ``Tensor.unfold``, flattened frame-major:
    ((ΣTᵢ), (2k+1)·d) float64."""
    windows = []
    for x in mfccs:
        x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
        padded = F.pad(x - x.mean(dim=0), (0, 0, context, context))
        windows.append(padded.unfold(0, 2 * context + 1, 1).transpose(1, 2).reshape(len(x), -1))
    return torch.cat(windows)


def speech_case(rng, lengths, d=28):
    """Utterances of the given lengths: MFCC-like frames with an offset per utterance
    (so a missing mean normalisation shows) and labels in 0..39."""
    mfccs = [(rng.normal(0, 3, d) + rng.normal(0, 1, (t, d))).astype(np.float32) for t in lengths]
    return mfccs, [rng.integers(0, FRAME_CLASSES, size=t) for t in lengths]


@declares(component="ContextFrames", notebook=NOTEBOOK, torch="F.pad + Tensor.unfold", framework="torch",
          probes={"held": probe("held_bytes")})
def check_context_frames(ContextFrames, seed=0, device="auto", held=None):
    """ContextFrames(mfccs, labels, k): len = all frames; item i = (float32 window of
    (2k+1)·28, int64 label) equal to torch's unfold of the mean-normalised, zero-padded
    utterance; -1 labels without transcripts; batches through a DataLoader; and it holds
    one copy of the features, not one per window (``held`` measures that remotely)."""
    rng = np.random.default_rng(seed)
    failures, comparisons = [], 0
    cases = [(0, [int(rng.integers(3, 12)), 1]), (2, [int(rng.integers(4, 15)), 2, 1]),
             (5, [3, int(rng.integers(10, 25)), int(rng.integers(6, 12))])]
    try:
        for context, lengths in cases:
            mfccs, labels = speech_case(rng, lengths)
            expected, flat = context_windows(mfccs, context), np.concatenate(labels)
            dataset = call_student("ContextFrames", ContextFrames, mfccs, labels, context)
            length = call_student("__len__", len, dataset)
            if length != len(flat):
                failures.append(f"k={context}: len(dataset) is {length}, expected {len(flat)}")
                continue
            for i in range(len(flat)):
                x_i, y_i = call_student("__getitem__", dataset.__getitem__, i)
                comparisons += 1
                if not (isinstance(x_i, torch.Tensor) and x_i.dtype == torch.float32):
                    failures.append(f"k={context}: dataset[{i}][0] must be a float32 tensor, got "
                                    f"{getattr(x_i, 'dtype', type(x_i).__name__)}")
                    break
                problem = compare(f"k={context}: window of frame {i} (utterances of {lengths} frames)",
                                  x_i, expected[i], rtol=1e-5, atol=1e-5)
                if problem:
                    failures.append(problem)
                    break
                if not (isinstance(y_i, torch.Tensor) and y_i.dtype == torch.int64 and int(y_i) == flat[i]):
                    failures.append(f"k={context}: dataset[{i}][1] must be the int64 tensor label "
                                    f"{flat[i]}, got {y_i!r}")
                    break
        mfccs, _ = speech_case(rng, [4, 3])
        unlabelled = call_student("ContextFrames", ContextFrames, mfccs, None, 1)
        label = call_student("__getitem__", unlabelled.__getitem__, 5)[1]
        if not (isinstance(label, torch.Tensor) and int(label) == -1):
            failures.append(f"without labels (labels=None) every label must be -1, got {label!r}")
        mfccs, labels = speech_case(rng, [int(rng.integers(400, 600)) for _ in range(4)])
        dataset = call_student("ContextFrames", ContextFrames, mfccs, labels, 5)
        xb, yb = next(iter(torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False)))
        problem = compare("a DataLoader batch of 16 windows (k=5)", xb, context_windows(mfccs, 5)[:16],
                          rtol=1e-5, atol=1e-5)
        if problem:
            failures.append(problem)
        features = sum(len(x) + 10 for x in mfccs) * 28 * 4
        budget = 4 * features + 3 * 8 * sum(len(x) for x in mfccs) + 16384
        used = call_student("memory", held or probes.held_bytes, dataset)
        if used > budget:
            failures.append(f"the dataset holds {used / 1e6:.1f} MB for {features / 1e6:.2f} MB of "
                            f"padded features: keep one copy of the frames and cut each window "
                            f"in __getitem__, not a copy of every window")
    except StudentCodeError as error:
        failures.append(str(error))
    return Verdict("ContextFrames", failures, comparisons + 3, against=None)


@declares(component="build_frame_model", notebook=NOTEBOOK,
          torch="(N, (2k+1)·28) -> (N, 40) logits", framework="torch",
          probes={"run": probe("run_build_frame_model")})
def check_frame_model(build_frame_model, seed=0, device="auto", run=None):
    """build_frame_model(k) is an nn.Module MLP taking (N, (2k+1)·28) windows to
    (N, 40) logits, with a hidden layer, for k = 0 and k = 4."""
    device = resolve_device(device)
    try:
        facts = call_student("build_frame_model", run or probes.run_build_frame_model,
                             build_frame_model, seed, device)
    except StudentCodeError as error:
        return Verdict("build_frame_model", [str(error)], 2, against=None)
    failures = []
    for fact in facts if isinstance(facts, list) else [{"module": False, "type": type(facts).__name__}]:
        if not fact.get("module"):
            return Verdict("build_frame_model",
                           [f"build_frame_model must return an nn.Module, got {fact.get('type')}"], 1,
                           against=None)
        k = fact["context"]
        if fact.get("linears", 0) < 2:
            failures.append(f"an MLP needs a hidden layer: found {fact.get('linears')} nn.Linear (k={k})")
        shape = tuple(np.shape(fact.get("output")))
        if shape != (5, FRAME_CLASSES):
            failures.append(f"build_frame_model({k})(x) for x of shape (5, {(2 * k + 1) * 28}) has "
                            f"shape {shape}, expected (5, {FRAME_CLASSES})")
    return Verdict("build_frame_model", failures, 2, against=None)


def frame_test_set(context, root=None):
    """Windows and labels of the corpus's test speakers, built by ``context_windows``."""
    from autograder.student.speech.corpus import ensure_corpus, read_split

    mfccs, labels = read_split(Path(root or ensure_corpus()) / "test")
    return context_windows(mfccs, context).float().numpy(), np.concatenate(labels)


@declares(component="frame accuracy", notebook=NOTEBOOK,
          torch="argmax of the logits on the test speakers' frames", framework="torch", data=("corpus",),
          measured_here_only=True, judge="autograder.grading.judge:judge_frame_accuracy")
def check_frame_accuracy(model: Any, context: int, minimum: float = FRAME_ACCURACY,
                         root: str | Path | None = None, logits: Any = None) -> Verdict:
    """Frame accuracy on the test speakers, measured here from the model's logits on
    windows built here (a printed number earns nothing)."""
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or not 0 <= context <= 50:
        return Verdict("frame accuracy", [f"the context must be a whole number of frames from 0 "
                                          f"to 50, got {context!r}"], 1, against=None)
    try:
        X, y = frame_test_set(int(context), root)
    except LabelsWithheld:
        return withheld("frame accuracy")
    try:
        accuracy = call_student("model", measured_accuracy, model, X, y, 4096, logits, FRAME_CLASSES)
    except StudentCodeError as error:
        return Verdict("frame accuracy", [str(error)], 1, against=None)
    if accuracy < minimum:
        return Verdict("frame accuracy", [
            f"frame accuracy measured by the grader {100 * accuracy:.2f} % < required "
            f"{100 * minimum:.0f} % on the {len(y)} frames of the test speakers"], 1, against=None)
    return Verdict("frame accuracy", [], 1, against=None)
