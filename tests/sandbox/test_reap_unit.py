"""``notebook_process.reap_children``, run after every cell: it collects the copies a
cell forked that have ended, and does not wait for those that live on (a fork bomb's
sleepers cost every later cell its whole patience: 17 s of one hostile notebook). Each
case runs in a process of its own, the parent of its copies (``waitpid(-1)`` would
collect any child of the test's process)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CASE = r'''
import json, os, signal, sys, time
from pathlib import Path
from autograder.sandbox.notebook_process import reap_children
from tests.sandbox.test_zygote_warmth import forked as fork

def state(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"

ended, sleeper = [fork(0) for _ in range(5)], fork(60)
deadline = time.monotonic() + 60
while any(state(pid) != "Z" for pid in ended) and time.monotonic() < deadline:
    time.sleep(0.01)
reap_children(patience=600)  # ten minutes: the sleeper must not be waited for
after = {"ended": [state(pid) for pid in ended], "sleeper": state(sleeper)}
os.kill(sleeper, signal.SIGKILL)
print(json.dumps(after))
'''


def test_ended_copies_are_collected_and_one_that_lives_on_is_not_waited_for():
    result = subprocess.run([sys.executable, "-c", CASE], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    after = json.loads(result.stdout)
    assert after["ended"] == ["gone"] * 5, after  # collected, not left as zombies
    assert after["sleeper"] in ("S", "R"), after  # returned while it still sleeps
