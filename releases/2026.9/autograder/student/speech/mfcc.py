"""MFCC frames as in HW1P2, and the phone label of each frame.

A frame is a 25 ms Hann window every 10 ms (400 and 160 samples at 16 kHz), centred
on ``t · 10 ms`` (librosa's ``center=True``): T = 1 + ⌊samples / 160⌋ frames. Each gets
28 mel-frequency cepstral coefficients: the DCT-II of the log power of 40 mel bands
(librosa). A frame's label is the phone whose interval holds the frame's centre.
"""

import numpy as np

RATE = 16000
WINDOW, HOP = 400, 160  # 25 ms, 10 ms
N_MFCC, N_MELS = 28, 40


def mfcc(wave, rate=RATE):
    """(T, 28) float32 MFCCs of a mono waveform sampled at ``rate`` = 16 kHz.

    Computed in float64 and rounded to ``DECIMALS`` decimals before the float32 cast:
    the last bits of a float32 FFT or matrix product can change with BLAS threads or
    memory alignment, and "same seed, same bytes" must not depend on them."""
    import librosa

    if rate != RATE:
        raise ValueError(f"MFCCs are computed at {RATE} Hz; resample first (got {rate} Hz)")
    features = librosa.feature.mfcc(y=np.asarray(wave, dtype=np.float64), sr=RATE,
                                    n_mfcc=N_MFCC, n_fft=WINDOW, hop_length=HOP,
                                    win_length=WINDOW, n_mels=N_MELS, center=True)
    return np.ascontiguousarray(np.round(features.T, DECIMALS), dtype=np.float32)


DECIMALS = 4  # MFCCs are O(1)–O(100): 1e-4 is far below what a model can use


def frame_centres(frames):
    """Centre of each frame in seconds: t · 10 ms."""
    return np.arange(frames) * (HOP / RATE)


def frame_labels(ends, labels, frames):
    """Label of each of ``frames`` frames, given phones as their end times (seconds,
    increasing) and labels; frames past the last end take the last label."""
    ends = np.asarray(ends, dtype=float)
    which = np.searchsorted(ends, frame_centres(frames), side="right")
    return np.asarray(labels)[np.minimum(which, len(ends) - 1)]
