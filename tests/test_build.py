"""The build's contract: build/xdptop.bpf.o loads on its own with bpftool
(working default map sizes) and holds its four programs; make install honours
PREFIX and DESTDIR; the agent builds with gcc and clang, with the user's
CFLAGS or EXTRA_CFLAGS winning over the project's flags and -Werror on;
WERROR=0 turns -Werror off; make clean removes the BUILD it is given.

Each build goes to a BUILD of the test's own (tmp_path): nothing here writes
into build/, so these run beside anything else."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, sh


@pytest.fixture
def bpffs_dir(tmp_path):
    """A directory on a bpffs of the test's own (bpftool would otherwise
    mount one on the host's /sys/fs/bpf); unmounted after, with what was
    pinned there."""
    root = tmp_path / "bpffs"
    root.mkdir()
    sh("mount", "-t", "bpf", "bpf", str(root))
    try:
        yield root / "progs"
    finally:
        sh("umount", "-l", str(root), check=False)


def test_object_loads_with_bpftool(bpffs_dir):
    pin = bpffs_dir
    sh("bpftool", "prog", "loadall", str(BUILD / "xdptop.bpf.o"), str(pin))
    assert sorted(p.name for p in pin.iterdir()) == \
        ["xdptop", "xdptop_frags", "xdptop_wfrags", "xdptop_wide"]
    shown = sh("bpftool", "prog", "show", "pinned", str(pin / "xdptop_frags")).stdout
    assert " xdp " in shown and "name xdptop_frags" in shown, shown


def test_object_sections(bpffs_dir):
    """What the agent needs of build/xdptop.bpf.o, read from the object
    itself (ELF symbols and its BTF, as libbpf reads them) and from the
    kernel once loaded: exactly the four programs, xdptop and xdptop_wide
    in section xdp, xdptop_frags and xdptop_wfrags in xdp.frags (libbpf
    loads those multi-buffer), global
    functions with BTF; the GPL-compatible license; the three maps, each an
    array of BPF_F_MMAPABLE with u32 keys and its value type; the .bss and
    .rodata variables the agent sets."""
    import json
    obj = BUILD / "xdptop.bpf.o"

    # ELF: sections and symbols.
    elf = json.loads(sh("llvm-readelf", "--elf-output-style=JSON", "-S", "-s",
                        str(obj)).stdout)[0][str(obj)]
    sections = {sec["Section"]["Name"]["Value"]: sec["Section"] for sec in elf["Sections"]}
    for name in (".BTF", ".BTF.ext", ".maps", ".bss", ".rodata", "license"):
        assert name in sections, (name, sorted(sections))
    symbols = [sym["Symbol"] for sym in elf["Symbols"]]
    funcs = {sym["Name"]["Value"]: sym["Section"]["Value"] for sym in symbols
             if sym["Type"]["Value"] == "Function"}
    assert funcs == {"xdptop": "xdp", "xdptop_frags": "xdp.frags", "xdptop_wide": "xdp",
                     "xdptop_wfrags": "xdp.frags"}, funcs
    for sym in symbols:
        if sym["Type"]["Value"] == "Function":
            assert sym["Binding"]["Value"] == "Global" and sym["Size"] > 0, sym
    for sec in ("xdp", "xdp.frags"):
        flags = {f["Name"] for f in sections[sec]["Flags"]["Flags"]}
        assert {"SHF_ALLOC", "SHF_EXECINSTR"} <= flags and sections[sec]["Size"] > 0, sec
    with tempfile.TemporaryDirectory() as tmp:
        sh("llvm-objcopy", "-O", "binary", "--only-section=license", str(obj), f"{tmp}/license")
        license = Path(tmp, "license").read_bytes()
    assert license == b"Dual BSD/GPL\0", license

    # BTF: the programs and the maps' definitions, decoded as libbpf does.
    btf = json.loads(sh("bpftool", "-j", "btf", "dump", "file", str(obj)).stdout)["types"]
    by_id = {t["id"]: t for t in btf}
    assert {t["name"]: t.get("linkage") for t in btf if t["kind"] == "FUNC"} == \
        {"xdptop": "global", "xdptop_frags": "global", "xdptop_wide": "global",
         "xdptop_wfrags": "global"}

    def resolve(type_id):
        t = by_id[type_id]
        while t["kind"] in ("TYPEDEF", "CONST", "VOLATILE"):
            t = by_id[t["type_id"]]
        return t

    def datasec(name):
        (sec,) = [t for t in btf if t["kind"] == "DATASEC" and t["name"] == name]
        return {by_id[v["type_id"]]["name"]: by_id[v["type_id"]] for v in sec["vars"]}

    def map_def(var):
        """{field: value} of a BTF map definition: __uint(f, n) is a pointer
        to an array of n elements; __type(f, T) a pointer to T."""
        out = {}
        for m in resolve(var["type_id"])["members"]:
            target = by_id[by_id[m["type_id"]]["type_id"]]
            if m["name"] in ("key", "value"):
                t = resolve(target["id"])
                out[m["name"]] = (t["name"], t["size"])
            else:
                assert target["kind"] == "ARRAY", m
                out[m["name"]] = target["nr_elems"]
        return out

    BPF_MAP_TYPE_ARRAY, BPF_F_MMAPABLE = 2, 1 << 10
    maps = {name: map_def(var) for name, var in datasec(".maps").items()}
    values = {"slots": "xdptop_slot", "claims": "unsigned long long",
              "cpu_stats": "xdptop_cpu_stats"}
    assert set(maps) == set(values), maps
    for name, d in maps.items():
        assert set(d) == {"type", "map_flags", "max_entries", "key", "value"}, (name, d)
        assert d["type"] == BPF_MAP_TYPE_ARRAY, (name, d)
        assert d["map_flags"] == BPF_F_MMAPABLE, (name, d)
        assert d["max_entries"] > 0, (name, d)
        assert d["key"] == ("unsigned int", 4), (name, d)
        assert d["value"][0] == values[name], (name, d)
    assert maps["claims"]["value"] == ("unsigned long long", 8)
    assert maps["slots"]["value"] == ("xdptop_slot", 32)     # a wide slot takes two
    assert set(datasec(".bss")) == {"epoch"}
    assert {"key_mask4", "key_mask6", "key_fields", "key_vlan", "nr_cpus", "nr_ifaces",
            "iface_slot", "region_slots", "shared_slots", "region_log_len",
            "shared_log_len"} <= set(datasec(".rodata"))
    assert set(datasec("license")) == {"LICENSE"}

    # The kernel's view: the four XDP programs (two frame kinds, two key
    # widths), GPL-compatible, with BTF, using those maps as mmapable arrays
    # of those sizes.
    pin = bpffs_dir
    sh("bpftool", "prog", "loadall", str(obj), str(pin))
    for prog in ("xdptop", "xdptop_frags", "xdptop_wide", "xdptop_wfrags"):
        shown = json.loads(sh("bpftool", "-j", "prog", "show", "pinned",
                              str(pin / prog)).stdout)
        assert (shown["type"], shown["name"], shown["gpl_compatible"]) == \
            ("xdp", prog, True), shown
        assert shown.get("btf_id"), shown
        loaded = {}
        for map_id in shown["map_ids"]:
            m = json.loads(sh("bpftool", "-j", "map", "show", "id", str(map_id)).stdout)
            loaded[m["name"]] = m
        for name, d in maps.items():
            m = loaded[name]
            assert (m["type"], m["flags"], m["bytes_key"], m["max_entries"]) == \
                ("array", BPF_F_MMAPABLE, 4, d["max_entries"]), m
            assert m["bytes_value"] == d["value"][1], (m, d)


def test_install_prefix_destdir():
    with tempfile.TemporaryDirectory() as dest:
        sh("make", "-C", str(ROOT), "--no-print-directory", f"BUILD={BUILD}", "install",
           f"DESTDIR={dest}", "PREFIX=/usr")
        binary = Path(dest, "usr/sbin/xdptop")
        assert binary.is_file() and os.access(binary, os.X_OK)
        assert Path(dest, "usr/share/man/man8/xdptop.8").is_file()
        assert sh(str(binary), "--version").stdout.strip() == "xdptop 0.1.0"


# Builds of their own -----------------------------------------------------------

# What the environment could slip into a make run here: an outer make's
# command-line variables (MAKEFLAGS, under make check), a user's CFLAGS.
MAKE_ENV_DROPPED = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "CC", "CFLAGS",
                    "CPPFLAGS", "LDFLAGS", "EXTRA_CFLAGS", "WERROR", "SANITIZE", "V")


def make_in(build, *args, directory=ROOT, check=False):
    """make -C directory BUILD=build V=1 ARGS, in a clean environment; the
    CompletedProcess, stdout and stderr as text."""
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV_DROPPED}
    return subprocess.run(["make", "-C", str(directory), "--no-print-directory", "-j2",
                           f"BUILD={build}", "V=1", *args],
                          capture_output=True, text=True, env=env, check=check, timeout=600)


def compile_lines(out, what="-c src/"):
    """The compiler command lines of make V=1's output that contain what."""
    return [shlex.split(line) for line in out.splitlines() if what in line]


def last_opt_level(words):
    return [w for w in words if re.fullmatch(r"-O[0-3sgz]?", w)][-1]


BUILDS = {                      # id: (make's arguments, compiler, the -O that must win)
    "default": ((), "cc", "-O2"),
    "gcc": (("CC=gcc",), "gcc", "-O2"),
    "clang": (("CC=clang",), "clang", "-O2"),
    "gcc-CFLAGS-O1": (("CC=gcc", "CFLAGS=-O1"), "gcc", "-O1"),
    "clang-CFLAGS-O1": (("CC=clang", "CFLAGS=-O1"), "clang", "-O1"),
    "gcc-EXTRA_CFLAGS-O3": (("CC=gcc", "EXTRA_CFLAGS=-O3"), "gcc", "-O3"),
    "clang-EXTRA_CFLAGS-O3": (("CC=clang", "EXTRA_CFLAGS=-O3"), "clang", "-O3"),
}


@pytest.mark.parametrize("name", BUILDS)
def test_agent_builds(tmp_path, name):
    """make [CC=gcc|clang] [CFLAGS=-O1 | EXTRA_CFLAGS=-O3]: the agent builds,
    with -Werror, by the compiler asked for, the user's -O last (it wins),
    and runs. (A CFLAGS given to make used to replace the include paths
    and defines; gcc -O3 found 'flips' maybe uninitialized in ledger.c.)"""
    args, cc, opt = BUILDS[name]
    build = tmp_path / "build"
    res = make_in(build, *args, str(build / "xdptop"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    lines = [w for w in compile_lines(res.stdout) if "bpf" not in w]     # not the BPF object
    assert len(lines) >= 20, res.stdout
    for words in lines:
        assert words[0] == cc, words
        assert "-Werror" in words and "-Wall" in words and "-Wextra" in words, words
        assert last_opt_level(words) == opt, words
    assert "warning:" not in res.stderr, res.stderr
    out = sh(str(build / "xdptop"), "--version").stdout
    assert out == sh(str(BUILD / "xdptop"), "--version").stdout


def test_werror_0_turns_werror_off(tmp_path):
    """A warning (an unused variable in every file, by a header forced in
    with EXTRA_CFLAGS) fails the build by default, and is only a warning
    with WERROR=0, also for the BPF object and the test and fuzz tools."""
    header = tmp_path / "warn.h"
    header.write_text("static int xdptop_test_unused;\n")
    extra = f"EXTRA_CFLAGS=-include {header}"
    build = tmp_path / "build"
    res = make_in(build, extra, str(build / "key.o"))
    assert res.returncode != 0, res.stdout + res.stderr
    # gcc: [-Werror=unused-variable]; clang: [-Werror,-Wunused-variable]
    assert re.search(r"error: .*xdptop_test_unused.* \[-Werror(=|,-W)unused-variable\]",
                     res.stderr), res.stderr

    res = make_in(build, extra, "WERROR=0", str(build / "key.o"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"warning: .*xdptop_test_unused.* \[-Wunused-variable\]", res.stderr), \
        res.stderr
    assert "error:" not in res.stderr, res.stderr

    # Every compiler line of the development targets has -Werror by default,
    # none with WERROR=0 (make -n: the commands, not run).
    targets = [str(build / t) for t in ("xdptop", "xdptop.bpf.o", "bpf_unit", "deny_bpf",
                                        "fault.so", "fuzz_cli", "fuzz_http")]
    for werror, present in (((), True), (("WERROR=0",), False)):
        res = make_in(build, "-n", "-B", *werror, *targets, check=True)
        lines = [w for w in compile_lines(res.stdout, " -Wall") if w[0] in ("cc", "clang")]
        assert len(lines) >= 26, res.stdout
        assert all(("-Werror" in w) == present for w in lines), res.stdout


def test_sanitizer_and_test_builds_keep_the_users_cflags(tmp_path):
    """make check's sanitizer build (SANITIZE=1) with a CFLAGS of the user's:
    the agent, the unit tests, the fuzzers and the benchmark tools build,
    the sanitizers are in every compile and link (a CFLAGS given to make
    used to drop them with the rest of the project's flags), and the user's
    -O1 wins."""
    build = tmp_path / "san"
    res = make_in(build, "SANITIZE=1", "CFLAGS=-O1 -g", "check-build", "bench-build")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    for tool in ("xdptop", "bpf_unit", "deny_bpf", "fault.so", "fuzz_cli",
                 "fuzz_http", "bench/prog_cost", "bench/read_cost", "bench/sender",
                 "bench/runstat"):
        assert (build / tool).is_file(), tool
    lines = [w for w in compile_lines(res.stdout, " -Wall") if w[0] == "cc"]
    own = [w for w in lines if "-c" in w or any(x.endswith(("bpf_unit", "deny_bpf", "prog_cost",
                                                             "read_cost")) for x in w)]
    assert len(own) >= 24, res.stdout
    for words in own:
        assert "-fsanitize=address,undefined" in words, words
        assert last_opt_level(words) == "-O1", words
    link = [w for w in compile_lines(res.stdout, f"-o {build}/xdptop") if "-c" not in w]
    assert len(link) == 1 and "-fsanitize=address,undefined" in link[0], link
    assert "libasan" in sh("ldd", str(build / "xdptop")).stdout
    # The unit tests' flags: the project's, then -Wno-unused-parameter, then the user's.
    unit = next(w for w in own if "tests/bpf_unit.c" in w)
    assert unit.index("-Wextra") < unit.index("-Wno-unused-parameter") < unit.index("-O1"), unit
    # The benchmark tools see their own headers.
    bench = next(w for w in own if "bench/read_cost.c" in w)
    assert f"-I{build}/bench" in bench and "-Ibench" in bench, bench


def test_clean_removes_the_build_it_is_given(tmp_path):
    """make clean removes $(BUILD), whatever it is, and nothing else. Run on
    a copy of the makefiles (a clean that removed ./build would take the
    build under test)."""
    tree = tmp_path / "tree"
    for mk in ("Makefile", "tests/tests.mk", "bench/bench.mk", "contrib/debian/deb.mk"):
        (tree / mk).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / mk, tree / mk)
    for d in ("build", "elsewhere"):
        (tree / d).mkdir()
        (tree / d / "xdptop").write_text("")
    res = make_in("elsewhere", "clean", directory=tree)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not (tree / "elsewhere").exists()
    assert (tree / "build" / "xdptop").exists()
    res = make_in(tmp_path / "out", "clean", directory=tree)     # an absolute one
    assert res.returncode == 0, res.stdout + res.stderr
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("")
    make_in(tmp_path / "out", "clean", directory=tree, check=True)
    assert not (tmp_path / "out").exists()
    assert (tree / "build" / "xdptop").exists()
    # The default BUILD is build.
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV_DROPPED}
    subprocess.run(["make", "-C", str(tree), "--no-print-directory", "clean"], env=env,
                   check=True, capture_output=True)
    assert not (tree / "build").exists()
