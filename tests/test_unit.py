"""The BPF unit tests (tests/bpf_unit.c, cmocka) of each build variant: the
binary sits next to xdptop. Every test must have run and passed, by name:
the list is read from bpf_unit.c's own array (its cmocka_unit_test*()
entries), which must name every test function the file defines, once. So a
test dropped from the array, listed twice in another's place, skipped, or
left out of the run some other way fails here; no count is kept by hand."""
import re
import subprocess
from pathlib import Path

from conftest import sanitizer_env

SOURCE = Path(__file__).resolve().parent / "bpf_unit.c"


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def listed_tests():
    """The names in main()'s CMUnitTest array, in order; checked against
    the test functions the file defines."""
    src = strip_comments(SOURCE.read_text())
    arrays = re.findall(r"const struct CMUnitTest \w+\[\] = \{(.*?)\};", src, re.S)
    assert len(arrays) == 1, f"{SOURCE}: want one CMUnitTest array, found {len(arrays)}"
    body = arrays[0]
    entries = [e.strip() for e in body.split("),") if e.strip()]
    names = []
    for entry in entries:
        m = re.fullmatch(r"cmocka_unit_test(?:_setup|_teardown|_setup_teardown)?\(\s*(\w+)\s*"
                         r"(?:,\s*\w+\s*)*\)?", entry)
        assert m, f"{SOURCE}: an entry this test cannot read: {entry!r}"
        names.append(m.group(1))
    assert names, SOURCE
    assert len(set(names)) == len(names), [n for n in names if names.count(n) > 1]
    defined = re.findall(r"^static void (\w+)\(void \*\*\s*\w*\)\s*\{", src, re.M)
    defined = [d for d in defined if d.startswith("test_")]
    assert sorted(names) == sorted(defined), (
        "defined but not in the array", sorted(set(defined) - set(names)),
        "in the array but not defined", sorted(set(names) - set(defined)))
    return names


def test_bpf_unit(xdptop):
    names = listed_tests()
    binary = Path(xdptop).parent / "bpf_unit"
    assert binary.exists(), f"{binary} not built (make check builds it)"
    env = sanitizer_env()
    env["CMOCKA_MESSAGE_OUTPUT"] = "STDOUT"  # the plain format (not TAP, XML, subunit)
    proc = subprocess.run([str(binary)], capture_output=True, text=True, env=env, timeout=120)
    log = proc.stdout + proc.stderr  # cmocka writes the summary to stderr
    assert proc.returncode == 0, log
    # Each test, in the array's order: started, then passed, nothing between.
    steps = re.findall(r"^\[ (RUN     |      OK) \] (\w+)$", log, re.M)
    want = [s for name in names for s in (("RUN     ", name), ("      OK", name))]
    assert steps == want, log
    assert re.search(rf"^\[==========\] Running {len(names)} test\(s\)\.$", log, re.M), log
    assert re.search(rf"^\[==========\] {len(names)} test\(s\) run\.$", log, re.M), log
    assert re.search(rf"^\[  PASSED  \] {len(names)} test\(s\)\.$", log, re.M), log
    for word in ("FAILED", "SKIPPED", "ERROR"):
        assert f"[  {word}" not in log and f"[ {word}" not in log, log
