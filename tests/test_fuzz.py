"""The option parser under libFuzzer (tests/fuzz_cli.c, built with ASan and
UBSan): a bounded run from a copy of the seed corpus, and a replay of every
input that ever crashed it (tests/fuzz/crashes/, kept as tests). The longer
run is `make fuzz`. Nothing is written into the tree."""
import shutil
import subprocess

from conftest import BUILD, ROOT

FUZZ = ROOT / "tests" / "fuzz"
RUNS = 300000  # about 5 s at the usual 60k runs/s


def fuzz_cli(tmp_path, *args):
    binary = BUILD / "fuzz_cli"
    assert binary.exists(), f"{binary} not built (make check builds it)"
    # -artifact_prefix: a crash input is written there, not into the cwd.
    return subprocess.run([str(binary), f"-artifact_prefix={tmp_path}/", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)


def test_fuzz_bounded(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / "cli", corpus)
    proc = fuzz_cli(tmp_path, f"-runs={RUNS}", "-seed=1", "-timeout=10", "-close_fd_mask=2",
                    f"-dict={FUZZ / 'cli.dict'}", str(corpus))
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert f"Done {RUNS} runs" in proc.stderr, proc.stderr[-5000:]


def test_fuzz_crashes_replayed(tmp_path):
    crashes = sorted(str(p) for p in (FUZZ / "crashes").glob("*"))
    if crashes:  # no argument at all would start fuzzing
        proc = fuzz_cli(tmp_path, *crashes)
        assert proc.returncode == 0, proc.stderr[-5000:]
        assert proc.stderr.count("Executed ") == len(crashes), proc.stderr[-5000:]
