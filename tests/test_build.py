"""The build's contract: build/xdptop.bpf.o loads on its own with bpftool
(working default map sizes) and holds both programs; make install honours
PREFIX and DESTDIR."""
import os
import subprocess
import tempfile
from pathlib import Path

from conftest import BUILD, ROOT, sh


def test_object_loads_with_bpftool():
    pin = Path("/sys/fs/bpf") / f"xdptop-test-{os.getpid()}"
    try:
        sh("bpftool", "prog", "loadall", str(BUILD / "xdptop.bpf.o"), str(pin))
        assert sorted(p.name for p in pin.iterdir()) == ["xdptop", "xdptop_frags"]
        shown = sh("bpftool", "prog", "show", "pinned", str(pin / "xdptop_frags")).stdout
        assert " xdp " in shown and "name xdptop_frags" in shown, shown
    finally:
        subprocess.run(["rm", "-rf", str(pin)], check=True)
    assert not pin.exists()


def test_object_sections():
    out = sh("llvm-objdump", "-h", str(BUILD / "xdptop.bpf.o")).stdout
    sections = {line.split()[1] for line in out.splitlines()[5:] if len(line.split()) > 2}
    assert {"xdp", "xdp.frags", ".maps", ".bss", ".rodata"} <= sections, sections


def test_install_prefix_destdir():
    with tempfile.TemporaryDirectory() as dest:
        sh("make", "-C", str(ROOT), "--no-print-directory", f"BUILD={BUILD}", "install",
           f"DESTDIR={dest}", "PREFIX=/usr")
        binary = Path(dest, "usr/sbin/xdptop")
        assert binary.is_file() and os.access(binary, os.X_OK)
        assert Path(dest, "usr/share/man/man8/xdptop.8").is_file()
        assert sh(str(binary), "--version").stdout.strip() == "xdptop 0.1.0"
