"""Phone labels for real recordings: pocketsphinx forced alignment.

Given audio and what was said, pocketsphinx (PyPI; it bundles a US English acoustic
model and CMUdict) finds the most likely path through the transcript's phones, in
two passes — a word alignment, then phones and states — at 100 frames per second,
the MFCC hop. Its phones are CMUdict's, so a real recording gets the same 40 labels
as Festival's speech, and ``align_folder`` writes the same HW1P2 layout.
"""

import json
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

from autograder.student.speech.mfcc import RATE, frame_labels, mfcc
from autograder.student.speech.phones import SILENCE, label_of

FRAMES_PER_SECOND = 100


def words_of(transcript):
    """Lower-case words, punctuation other than apostrophes dropped."""
    cleaned = "".join(c if c.isalpha() or c == "'" else " " for c in transcript.lower())
    return cleaned.split()


def decoder():
    from pocketsphinx import Decoder

    return Decoder(lm=None, samprate=RATE, loglevel="FATAL")


def align(wave, transcript, rate=RATE, with_decoder=None):
    """Phones of a mono recording, as (label, start s, end s), silence included,
    covering the audio from 0; ValueError when a word is not in pocketsphinx's
    CMUdict or the audio cannot be aligned to the transcript."""
    pcm = (np.clip(at_rate(wave, rate), -1, 1) * 32767).astype("<i2").tobytes()
    words = words_of(transcript)
    d = with_decoder or decoder()
    unknown = [w for w in words if d.lookup_word(w) is None]
    if unknown:
        raise ValueError(f"not in pocketsphinx's dictionary: {', '.join(unknown)}")
    d.set_align_text(" ".join(words))
    decode(d, pcm)  # words first ...
    if d.hyp() is None:
        raise ValueError("pocketsphinx could not align the audio to the transcript")
    d.set_alignment()
    decode(d, pcm)  # ... then phones within them
    phones = [(label_of(p.name), p.start / FRAMES_PER_SECOND,
               (p.start + p.duration) / FRAMES_PER_SECOND)
              for word in d.get_alignment() for p in word]
    return merge_silence(phones)


def at_rate(wave, rate):
    """A mono waveform as float32 at the MFCC rate, 16 kHz (resampled when needed)."""
    import librosa

    wave = np.asarray(wave, dtype=np.float32)
    return wave if rate == RATE else librosa.resample(wave, orig_sr=rate, target_sr=RATE,
                                                      res_type="soxr_hq")


def decode(d, pcm):
    d.start_utt()
    d.process_raw(pcm, no_search=False, full_utt=True)
    d.end_utt()


def merge_silence(phones):
    """Neighbouring silences become one segment (pocketsphinx splits leading silence
    into <s> and <sil>)."""
    merged = []
    for label, start, end in phones:
        if merged and merged[-1][0] == label == SILENCE:
            merged[-1] = (label, merged[-1][1], end)
        else:
            merged.append((label, start, end))
    return merged


def align_folder(audio_dir, out_dir, progress=True):
    """For each ``<id>.wav`` with a ``<id>.txt`` transcript in ``audio_dir``, write
    ``mfcc/<id>.npy``, ``transcript/<id>.npy`` and ``utterances.jsonl`` to ``out_dir``
    (one HW1P2 split). Returns {id: reason} for the recordings it had to skip."""
    import soundfile
    from tqdm.auto import tqdm

    audio_dir, out_dir = Path(audio_dir), Path(out_dir)
    for sub in ("mfcc", "transcript"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    d, skipped, records = decoder(), {}, []
    for wav in tqdm(sorted(audio_dir.glob("*.wav")), desc="aligning", disable=not progress):
        text_file = wav.with_suffix(".txt")
        if not text_file.exists():
            skipped[wav.stem] = "no transcript (.txt) beside it"
            continue
        wave, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
        wave, text = at_rate(wave.mean(axis=1), rate), text_file.read_text()
        try:
            phones = align(wave, text, RATE, d)
        except ValueError as error:
            skipped[wav.stem] = str(error)
            continue
        features = mfcc(wave)
        labels = frame_labels([end for _, _, end in phones], [p for p, _, _ in phones], len(features))
        np.save(out_dir / "mfcc" / f"{wav.stem}.npy", features)
        np.save(out_dir / "transcript" / f"{wav.stem}.npy", labels.astype("<U5"))
        records.append(dict(id=wav.stem, text=text.strip(), frames=len(features),
                            phones=[[p, s, e] for p, s, e in phones]))
    with open(out_dir / "utterances.jsonl", "w") as out:
        out.writelines(json.dumps(r) + "\n" for r in records)
    return skipped


def shared_phones(ours, theirs):
    """Pairs (a, b) of segments, from two alignments of one utterance, whose labels
    (item 0) the two phone sequences share, matched in order by difflib: what two
    aligners can be compared on when their dictionaries differ in a few words."""
    blocks = SequenceMatcher(None, [s[0] for s in ours], [s[0] for s in theirs],
                             autojunk=False).get_matching_blocks()
    return [(ours[b.a + i], theirs[b.b + i]) for b in blocks for i in range(b.size)]
