"""HW1P2's frame classifier: MFCC frames with ±k frames of context → 40 phone labels."""

import numpy as np
import torch
from torch import nn


class ContextFrames(torch.utils.data.Dataset):
    """Item i is frame i of the concatenated utterances with k frames either side:
    a float32 tensor of shape ((2k+1)·28,) — frames t-k … t+k of the same utterance,
    zeros beyond its edges — and the frame's label as an int64 tensor (-1 without labels).

    Each utterance is normalised first (cepstral mean normalisation: its mean frame
    subtracted), then padded with k zero frames at both ends, and all are kept as one
    (Σ(Tᵢ+2k), 28) array; an index maps i to its centre row. Memory: one copy of the
    features, never one per window."""

    def __init__(self, mfccs, labels, context):
        self.context = int(context)
        self.features, self.centres = self.pad_and_index(mfccs)
        self.labels = (torch.as_tensor(np.concatenate(labels), dtype=torch.int64) if labels is not None
                       else torch.full((len(self.centres),), -1, dtype=torch.int64))

    def pad_and_index(self, mfccs):
        """(features, centres): features, a float32 tensor (Σ(Tᵢ+2k), d), holds each
        utterance minus its mean frame between k zero rows before and after it;
        centres, an int64 tensor (ΣTᵢ,), the row of features holding frame i."""
        k = self.context
        pad = np.zeros((k, mfccs[0].shape[1]), dtype=np.float32)
        pieces, centres, offset = [], [], 0
        for x in mfccs:
            x = np.asarray(x, dtype=np.float32)
            pieces += [pad, x - x.mean(axis=0, keepdims=True), pad]
            centres.append(offset + k + np.arange(len(x)))
            offset += len(x) + 2 * k
        return torch.from_numpy(np.concatenate(pieces)), torch.from_numpy(np.concatenate(centres))

    def __len__(self):
        return len(self.centres)

    def __getitem__(self, i):
        """(window, label): rows centre-k … centre+k of features, flattened."""
        c = int(self.centres[i])
        return self.features[c - self.context:c + self.context + 1].reshape(-1), self.labels[i]


def build_frame_model(context, hidden=(512, 256), classes=40):
    """(2k+1)·28 → hidden sizes → 40 logits; each hidden layer Linear, BatchNorm, GELU,
    dropout 0.1."""
    layers, width = [], (2 * context + 1) * 28
    for size in hidden:
        layers += [nn.Linear(width, size), nn.BatchNorm1d(size), nn.GELU(), nn.Dropout(0.1)]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, classes))
