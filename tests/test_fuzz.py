"""The libFuzzer targets, built with ASan and UBSan: the option parser
(tests/fuzz_cli.c) and the exporter's request path (tests/fuzz_http.c, on a
loopback socket of its own). For each, a bounded run from a copy of its seed
corpus, and a replay of every input that ever crashed it
(tests/fuzz/crashes/TARGET/, kept as tests). The longer run is `make fuzz`.
Nothing is written into the tree."""
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT

FUZZ = ROOT / "tests" / "fuzz"
# At the usual speed here, 60k runs/s for cli (about 5 s) and 5k for http (a
# TCP connection per input: about 10 s).
RUNS = {"cli": 300000, "http": 50000}
# fuzz_cli's stderr is closed: argp prints a usage error for most inputs.
FLAGS = {"cli": ["-close_fd_mask=2"], "http": []}


def fuzz(target, tmp_path, *args):
    binary = BUILD / f"fuzz_{target}"
    assert binary.exists(), f"{binary} not built (make check builds it)"
    # -artifact_prefix: a crash input is written there, not into the cwd.
    return subprocess.run([str(binary), f"-artifact_prefix={tmp_path}/", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("target", RUNS)
def test_fuzz_bounded(tmp_path, target):
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / target, corpus)
    proc = fuzz(target, tmp_path, f"-runs={RUNS[target]}", "-seed=1", "-timeout=10",
                *FLAGS[target], f"-dict={FUZZ / target}.dict", str(corpus))
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert f"Done {RUNS[target]} runs" in proc.stderr, proc.stderr[-5000:]


# The inputs kept in tests/fuzz/crashes/TARGET/, each a crash once fixed:
# pinned, so that one deleted (or a folder emptied) fails here instead of
# leaving nothing to replay.
KEPT = {
    "cli": ["format-none-with-detach"],
    "http": ["incomplete-request-then-fin-held-until-idle-timeout"],
}


@pytest.mark.parametrize("target", RUNS)
def test_fuzz_crashes_replayed(tmp_path, target):
    crashes = sorted((FUZZ / "crashes" / target).glob("*"))
    assert set(KEPT[target]) <= {p.name for p in crashes}, (KEPT[target], crashes)
    proc = fuzz(target, tmp_path, *map(str, crashes))
    assert proc.returncode == 0, proc.stderr[-5000:]
    executed = re.findall(r"^Executed (.+) in \d+ ms$", proc.stderr, re.M)
    assert executed == [str(p) for p in crashes], proc.stderr[-5000:]
