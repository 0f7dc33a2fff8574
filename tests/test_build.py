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
    """What the agent needs of build/xdptop.bpf.o, read from the object
    itself (ELF symbols and its BTF, as libbpf reads them) and from the
    kernel once loaded: exactly the two programs, xdptop in section xdp and
    xdptop_frags in xdp.frags (libbpf loads that one multi-buffer), global
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
    assert funcs == {"xdptop": "xdp", "xdptop_frags": "xdp.frags"}, funcs
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
        {"xdptop": "global", "xdptop_frags": "global"}

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
    assert set(datasec(".bss")) == {"epoch"}
    assert {"key_mask4", "key_mask6", "key_dst", "key_vlan", "nr_cpus", "nr_ifaces",
            "iface_slot", "region_slots", "shared_slots", "region_log_len",
            "shared_log_len"} <= set(datasec(".rodata"))
    assert set(datasec("license")) == {"LICENSE"}

    # The kernel's view: both XDP programs, GPL-compatible, with BTF, using
    # those maps as mmapable arrays of those sizes.
    pin = Path("/sys/fs/bpf") / f"xdptop-sections-{os.getpid()}"
    try:
        sh("bpftool", "prog", "loadall", str(obj), str(pin))
        for prog in ("xdptop", "xdptop_frags"):
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
    finally:
        subprocess.run(["rm", "-rf", str(pin)], check=True)
    assert not pin.exists()


def test_install_prefix_destdir():
    with tempfile.TemporaryDirectory() as dest:
        sh("make", "-C", str(ROOT), "--no-print-directory", f"BUILD={BUILD}", "install",
           f"DESTDIR={dest}", "PREFIX=/usr")
        binary = Path(dest, "usr/sbin/xdptop")
        assert binary.is_file() and os.access(binary, os.X_OK)
        assert Path(dest, "usr/share/man/man8/xdptop.8").is_file()
        assert sh(str(binary), "--version").stdout.strip() == "xdptop 0.1.0"
