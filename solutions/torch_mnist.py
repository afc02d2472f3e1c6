"""The seed's Colab pipeline in torch: Dataset, DataLoader, nn.Sequential, Adam."""

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm


class MNISTDataset(torch.utils.data.Dataset):
    """Pairs (x, y) from flattened images X: (N, 784) and labels y: (N,), as a
    float32 tensor of shape (784,) and an int64 scalar tensor."""

    def __init__(self, X, y):
        self.X = torch.as_tensor(X, dtype=torch.float32)
        self.y = torch.as_tensor(y, dtype=torch.int64)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.X[index], self.y[index]


def build_model():
    """784 → 512 → 256 → 10 with ReLU between the layers; the output is logits."""
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(),
        nn.Linear(512, 256), nn.ReLU(),
        nn.Linear(256, 10),
    )


def train_one_epoch(model, loader, optimizer, criterion, device):
    """One pass over the loader: per batch, zero the gradients, forward, loss,
    backward, optimizer step. Returns the mean loss over the samples."""
    model.train()
    total, count = 0.0, 0
    for x, y in tqdm(loader, desc="train", leave=False):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(y), count + len(y)
    return total / count


def predict_loader(model, loader, device):
    """Predicted classes (argmax of the logits) for every sample, as a numpy array."""
    model.eval()
    predictions = []
    with torch.no_grad():
        for x, _ in loader:
            predictions.append(model(x.to(device)).argmax(dim=1).cpu().numpy())
    return np.concatenate(predictions)
