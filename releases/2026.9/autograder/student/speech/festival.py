"""Speech from text with the Festival speech synthesizer, and when each phone ends.

Festival (Debian's ``festival`` with ``festlex-cmu`` and the voices below) speaks a
sentence and keeps the segments it generated: ``utt.save.segs`` writes each phone's
end time in seconds, so every sample of the waveform has a known phone — labels that
need no aligner. One Festival process speaks a whole batch (its start-up is the slow
part); ``Duration_Stretch`` slows (> 1) or speeds up (< 1) the speech.
"""

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
DEBIAN_PACKAGES = ("festival", "festlex-cmu", "festvox-kallpc16k", "festvox-kdlpc16k",
                   "festvox-us-slt-hts")


@dataclass
class Spoken:
    """A waveform (float32 in [-1, 1]) at ``rate`` Hz and its phones, each
    (Festival phone, end time in seconds), in order, covering the whole waveform."""

    wave: np.ndarray
    rate: int
    phones: list


def missing():
    """Why Festival cannot speak here, or None when it can."""
    if shutil.which("festival") is None:
        return ("Festival is not installed (Debian: apt-get install " + " ".join(DEBIAN_PACKAGES)
                + "; `scripts/setup-speech` does it)")
    absent = [v for v in VOICES if not list(Path("/usr/share/festival/voices").glob(f"*/{v}"))]
    if absent:
        return f"Festival voices missing: {', '.join(absent)} (scripts/setup-speech installs them)"
    return None


def scheme_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def speak(sentences, voice, stretch=1.0, timeout=600):
    """[Spoken] for each sentence, by one Festival process with one voice.
    ``stretch``: a number, or one per sentence."""
    stretches = np.broadcast_to(np.asarray(stretch, dtype=float), (len(sentences),))
    with tempfile.TemporaryDirectory(prefix="festival-") as work:
        work = Path(work)
        lines = [f"(voice_{voice})"]
        for i, (text, s) in enumerate(zip(sentences, stretches, strict=False)):
            lines += [f"(Parameter.set 'Duration_Stretch {s:.4f})",
                      f"(set! utt (utt.synth (Utterance Text {scheme_string(text)})))",
                      f'(utt.save.wave utt "{work}/{i}.wav" \'riff)',
                      f'(utt.save.segs utt "{work}/{i}.segs")']
        (work / "batch.scm").write_text("\n".join(lines) + "\n")
        run = subprocess.run(["festival", "--pipe", str(work / "batch.scm")], cwd=work,
                             capture_output=True, text=True, timeout=timeout)
        if run.returncode != 0 or not (work / f"{len(sentences) - 1}.segs").exists():
            raise RuntimeError(f"Festival ({voice}) failed: {(run.stderr or run.stdout).strip()[-500:]}")
        return [read_spoken(work / f"{i}.wav", work / f"{i}.segs") for i in range(len(sentences))]


def read_spoken(wav_path, segs_path):
    import soundfile

    wave, rate = soundfile.read(str(wav_path), dtype="float32")
    return Spoken(wave, int(rate), read_segments(segs_path))


def read_segments(path):
    """[(phone, end seconds)] from Festival's segment file (a header ending in '#',
    then one 'end-time 100 phone' line per segment)."""
    lines = Path(path).read_text().splitlines()
    body = lines[lines.index("#") + 1:]
    return [(fields[2], float(fields[0])) for fields in (line.split() for line in body) if fields]
