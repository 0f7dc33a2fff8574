"""What xdptop does on a kernel without a feature its program uses: it
probes the kernel (src/kernel.c), never reads its version. Here
tests/fault.c makes bpf() answer as such a kernel does; make check-kernels
runs the same under Debian's own kernels, and there 5.10 (bullseye) is
refused for its lack of BPF atomics.

Traffic only between the test's own namespaces (conftest's lab)."""
import json
import subprocess

from conftest import ASAN_ENV, BUILD, DATA, as_expected, pace
from test_cli import attached_prog

# fault.so is preloaded into either build: ASan must not insist on being first.
ASAN = ASAN_ENV["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
NO_FRAGS = ("xdptop: this kernel has no multi-buffer XDP (xdp.frags): counting with the "
            "single-buffer program (as --single-buffer), which needs CAP_PERFMON too and a "
            "native link's MTU to fit in one page")


def as_kernel_without(fault):
    return ["env", f"LD_PRELOAD={BUILD / 'fault.so'}", f"XDPTOP_FAULT={fault}",
            f"ASAN_OPTIONS={ASAN}"]


def test_without_frags_the_single_buffer_program_counts(lab, xdptop):
    sender, receiver = lab.pair(mtu=1500)
    agent = lab.start(receiver, *as_kernel_without("no_frags"), xdptop, "-f", "json",
                      "-i", "60", "v1")
    agent.wait_attached()
    assert attached_prog(receiver, "v1")[1:] == ("xdptop", 1), "single-buffer, native"
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(DATA / "dcb_ets.pcap"))
    assert agent.stop() == 0, agent.stderr()
    assert agent.stderr().splitlines().count(NO_FRAGS) == 1, agent.stderr()
    expected = json.loads((DATA / "dcb_ets.expected.json").read_text())
    assert [as_expected(r) for r in agent.reports()] == [expected]
    assert receiver.xdp_attached() == []


def test_without_atomics_it_is_refused_naming_them(lab, xdptop):
    _, receiver = lab.pair(mtu=1500)
    res = receiver.run(*as_kernel_without("no_atomics"), xdptop, "-c", "1", "v1", check=False,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert (res.returncode, res.stdout, res.stderr) == (5, "", (
        "xdptop: this kernel has no BPF atomic operations (fetch-and-add, exchange, "
        "compare-and-exchange, Linux 5.12), which counting needs: use a kernel that has it "
        "(every one from Linux 5.15 on does)\n")), res
    assert receiver.xdp_attached() == []


def test_without_load_bytes_l4_keys_are_refused(lab, xdptop):
    """Before Linux 5.18 (no bpf_xdp_load_bytes): a key of L4 fields is
    refused before anything is loaded. (An address key loads there: the
    call is dead code for it, which the verifier removes before it looks
    helpers up; this shim refuses any program that calls it, so it cannot
    show that.)"""
    _, receiver = lab.pair(mtu=1500)
    res = receiver.run(*as_kernel_without("no_load_bytes"), xdptop, "--key", "src,dport", "-c",
                       "1", "v1", check=False, stdin=subprocess.DEVNULL, timeout=60)
    assert (res.returncode, res.stdout, res.stderr) == (5, "", (
        "xdptop: this kernel has no bpf_xdp_load_bytes() (Linux 5.18), which keys of proto, "
        "sport, dport or tcpflags need: count by address here (--key src or dst), or use a "
        "newer kernel\n")), res
    assert receiver.xdp_attached() == []


def test_where_the_kernel_refuses_freplace_multiprog_says_so(lab, xdptop):
    """This machine's kernel refuses freplace by itself; Debian's do not, and
    there tests/fault.c refuses it as this one does."""
    _, receiver = lab.pair(mtu=1500)
    res = receiver.run(*as_kernel_without("no_freplace"), xdptop, "--multiprog", "-c", "1",
                       "v1", check=False, stdin=subprocess.DEVNULL, timeout=60)
    assert (res.returncode, res.stdout, res.stderr) == (4, "", (
        "xdptop: this kernel refuses libxdp's dispatcher (it does not let a BPF program "
        "replace another's function, freplace: Operation not permitted): xdptop can count "
        "only an interface it holds alone, without --multiprog\n")), res
    assert receiver.xdp_attached() == []
