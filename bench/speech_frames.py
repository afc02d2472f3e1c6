"""Benchmark for notebook 6: corpus generation seconds per minute of audio, dataset
throughput (frames/s with context, through a shuffling DataLoader), training seconds
per epoch of the reference frame MLP, dev/test accuracy beside the chance level, and
how closely pocketsphinx's alignment of the corpus's audio follows Festival's.

    .venv/bin/python bench/speech_frames.py [--size 30] [--epochs 4] [--context 10]
                                            [--held-out-voice ked_diphone]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch
from torch import nn
from torch.utils.data import DataLoader

from autograder.student.speech.alignment import align, decoder, shared_phones
from autograder.student.speech.corpus import make_corpus, read_split
from autograder.student.speech.phones import LABELS, SILENCE
from autograder.student.table import format_table
from solutions.speech import ContextFrames, build_frame_model
from solutions.torch_mnist import predict_loader, train_one_epoch


def loader_throughput(dataset, batch_size=1024, frames=200_000):
    start, seen = time.perf_counter(), 0
    for x, _ in DataLoader(dataset, batch_size=batch_size, shuffle=True):
        seen += len(x)
        if seen >= frames:
            break
    return seen / (time.perf_counter() - start)


def alignment_agreement(root, count=9):
    """Share of Festival's phones pocketsphinx finds (in order) and the median / 90th
    percentile of their end-time differences, in frames."""
    records = [json.loads(line) for line in open(root / "test" / "utterances.jsonl")][:count]
    d, matched, total, offsets = decoder(), 0, 0, []
    for record in records:
        wave, rate = soundfile.read(str(root / "test" / "wav" / f"{record['id']}.wav"), dtype="float32")
        ours = [s for s in align(wave, record["text"], rate, d) if s[0] != SILENCE]
        theirs = [(p, e) for p, e in record["phones"] if p != SILENCE]
        pairs = shared_phones(ours, theirs)
        matched, total = matched + len(pairs), total + len(theirs)
        offsets += [abs(a[2] - b[1]) * 100 for a, b in pairs]
    return matched / total, float(np.median(offsets)), float(np.percentile(offsets, 90))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=float, default=30)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--context", type=int, default=10)
    parser.add_argument("--held-out-voice", default=None, help="e.g. ked_diphone: dev/test only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "corpus"
        start = time.perf_counter()
        manifest = make_corpus(root, args.size, seed=0, progress=False,
                               held_out_voice=args.held_out_voice)
        seconds = time.perf_counter() - start
        audio_minutes = sum(s["seconds"] for s in manifest["splits"].values()) / 60
        print(f"corpus: {audio_minutes:.1f} min of audio in {seconds:.1f} s = "
              f"{seconds / audio_minutes:.2f} s per audio minute (incl. librosa's first-call JIT)")
        share, median, p90 = alignment_agreement(root)
        print(f"pocketsphinx vs Festival: {100 * share:.1f} % of phones matched, end times "
              f"differ by {median:.1f} frames (median), {p90:.1f} (90th percentile)")

        splits = {name: read_split(root / name) for name in ("train", "dev", "test")}
        start = time.perf_counter()
        sets = {name: ContextFrames(*split, args.context) for name, split in splits.items()}
        print(f"datasets built in {time.perf_counter() - start:.2f} s; "
              f"{loader_throughput(sets['train']):,.0f} frames/s through a shuffling DataLoader "
              f"(k={args.context}, batch 1024)")
        torch.manual_seed(0)
        model = build_frame_model(args.context)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
        loader = DataLoader(sets["train"], batch_size=1024, shuffle=True)
        rows = []
        for epoch in range(args.epochs):
            start = time.perf_counter()
            loss = train_one_epoch(model, loader, optimizer, nn.CrossEntropyLoss(), "cpu")
            scheduler.step()
            seconds = time.perf_counter() - start
            accuracy = {name: float(np.mean(predict_loader(model, DataLoader(sets[name], batch_size=4096),
                                                           "cpu") == sets[name].labels.numpy()))
                        for name in ("dev", "test")}
            rows.append([epoch + 1, f"{loss:.3f}", f"{seconds:.1f}", f"{100 * accuracy['dev']:.2f}",
                         f"{100 * accuracy['test']:.2f}"])
        print(format_table(["epoch", "loss", "s", "dev %", "test %"], rows))
        counts = np.bincount(sets["test"].labels.numpy(), minlength=len(LABELS))
        print(f"chance (always '{LABELS[counts.argmax()]}'): {100 * counts.max() / counts.sum():.1f} % "
              f"of test frames; train {len(sets['train'])} frames, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
