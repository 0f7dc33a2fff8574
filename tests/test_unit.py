"""The BPF unit tests (tests/bpf_unit.c, cmocka) of each build variant: the
binary sits next to xdptop. All must pass, and all must have run: a test
dropped from the list would otherwise go unnoticed."""
import re
import subprocess
from pathlib import Path

from conftest import sanitizer_env

# cmocka_unit_test entries in tests/bpf_unit.c's main().
EXPECTED_TESTS = 46


def test_bpf_unit(xdptop):
    binary = Path(xdptop).parent / "bpf_unit"
    assert binary.exists(), f"{binary} not built (make check builds it)"
    env = sanitizer_env()
    env["CMOCKA_MESSAGE_OUTPUT"] = "STDOUT"  # the plain format (not TAP, XML, subunit)
    proc = subprocess.run([str(binary)], capture_output=True, text=True, env=env, timeout=120)
    log = proc.stdout + proc.stderr  # cmocka writes the summary to stderr
    assert proc.returncode == 0, log
    assert re.search(rf"^\[==========\] Running {EXPECTED_TESTS} test\(s\)\.$", log, re.M), log
    assert re.search(rf"^\[  PASSED  \] {EXPECTED_TESTS} test\(s\)\.$", log, re.M), log
    assert len(re.findall(r"^\[       OK \] test_", log, re.M)) == EXPECTED_TESTS, log
    assert "FAILED" not in log, log
