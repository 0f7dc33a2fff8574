"""The field tests of tests/bpf_unit.c (test_fields_*) catch each rule of
the key's L4 fields broken on purpose: for every mutant below, a copy of
src/parse.bpf.h with one rule broken by one small substitution, the XDP
program is built with the copy in its place (make PARSE_BPF_H=..., into a
BUILD of the test's own: nothing is written into the tree), and bpf_unit's
field tests must fail, among them the ones named. The copy left as it is,
built the same way, passes: a failure is the mutation's, not the build's.

Each mutant's old text must occur exactly once in parse.bpf.h: a change
there that rewrites a rule fails its mutant here, saying so, until the
mutant is brought up to date; none is left quietly breaking nothing."""
import re
import subprocess

import pytest

from conftest import ROOT, sanitizer_env
from test_build import make_in
from test_unit import listed_tests

PARSE = ROOT / "src" / "parse.bpf.h"
FIELD_TESTS = "test_fields_*"
# The fuzz (a wide key) fails too, for every mutant but those of narrow keys.
FUZZ = "test_fields_fuzz"

# (name, old text, new text, the tests that must fail)
MUTANTS = [
    # IPv6 extension headers: how many, which, how long.
    ("ext_max_7", "#define IPV6_EXT_MAX 6", "#define IPV6_EXT_MAX 7",
     [FUZZ, "test_fields_ipv6_chains"]),
    ("ext_max_5", "#define IPV6_EXT_MAX 6", "#define IPV6_EXT_MAX 5",
     [FUZZ, "test_fields_ipv6_chains"]),
    ("hopopts_not_walked", "nh == 0 || nh == 43", "nh == 43",
     [FUZZ, "test_fields_ipv6_chains", "test_fields_icmp"]),
    ("routing_not_walked", "nh == 0 || nh == 43 ||", "nh == 0 ||",
     [FUZZ, "test_fields_ipv6_chains", "test_fields_ipv6_cut_in_chain"]),
    ("fragment_not_walked", "nh == 43 || nh == 44 ||", "nh == 43 ||",
     [FUZZ, "test_fields_ipv6_chains", "test_fields_ipv6_fragments"]),
    ("dstopts_not_walked", " || nh == 60;", ";",
     [FUZZ, "test_fields_ipv6_chains", "test_fields_cut_by_frame"]),
    ("ext_length_in_4_bytes", "p->off += (ext[1] + 1) * 8;", "p->off += (ext[1] + 1) * 4;",
     [FUZZ, "test_fields_ipv6_chains"]),
    ("fragment_header_16_bytes", "p->off += 8;", "p->off += 16;",
     [FUZZ, "test_fields_ipv6_chains", "test_fields_ipv6_fragments"]),
    # The walk reads a header's first 2 bytes only when both are inside.
    ("ext_header_read_with_1_byte", "p->off + 2 > p->end)", "p->off + 1 > p->end)",
     [FUZZ, "test_fields_ipv6_cut_in_chain"]),
    # Fragments.
    ("ipv6_m_flag_is_later", "& 0xfff8)", "& 0xfff9)",
     [FUZZ, "test_fields_ipv6_fragments"]),
    ("ipv6_offset_1_missed", "& 0xfff8)", "& 0xfff0)",
     [FUZZ, "test_fields_ipv6_fragments"]),
    ("ipv6_later_not_later", "p->later = 1;", "p->later = 0;",
     [FUZZ, "test_fields_ipv6_fragments"]),
    ("ipv6_later_proto_44", "p->proto = ext[0];\n\t\t\t\tp->later = 1;", "p->later = 1;",
     [FUZZ, "test_fields_ipv6_fragments"]),
    ("ipv4_mf_is_later", "& 0x1fff) != 0", "& 0x3fff) != 0",
     [FUZZ, "test_fields_ipv4_fragments"]),
    ("ipv4_offset_high_bit_missed", "& 0x1fff) != 0", "& 0x0fff) != 0",
     [FUZZ, "test_fields_ipv4_fragments"]),
    ("later_fragment_read_in_place", "if (p->later || p->off >= p->end)\n\t\treturn 1;",
     "if (p->off >= p->end)\n\t\treturn 1;", [FUZZ, "test_fields_ipv4_fragments"]),
    ("later_fragment_loaded", "if (p->later || p->off >= p->end)\n\t\treturn;",
     "if (p->off >= p->end)\n\t\treturn;", [FUZZ, "test_fields_ipv6_fragments"]),
    # Which protocols have which fields.
    ("udplite_no_ports", "proto == IPPROTO_UDP_ || proto == IPPROTO_UDPLITE_ ||",
     "proto == IPPROTO_UDP_ ||", [FUZZ, "test_fields_ports"]),
    ("sctp_no_ports", "proto == IPPROTO_SCTP_ || proto == IPPROTO_DCCP_",
     "proto == IPPROTO_DCCP_", [FUZZ, "test_fields_ports", "test_fields_cut_by_ip_length"]),
    ("dccp_no_ports", "proto == IPPROTO_SCTP_ || proto == IPPROTO_DCCP_",
     "proto == IPPROTO_SCTP_", [FUZZ, "test_fields_ports"]),
    ("icmp_no_type", "p->proto == IPPROTO_ICMP_ || ", "",
     [FUZZ, "test_fields_icmp", "test_fields_cut_by_frame"]),
    ("icmpv6_no_type", " || p->proto == IPPROTO_ICMPV6_", "",
     [FUZZ, "test_fields_icmp", "test_fields_cut_by_frame"]),
    ("icmp_dport_from_checksum", "key->dport = first;", "key->dport = second;",
     [FUZZ, "test_fields_icmp"]),
    ("tcpflags_byte_12_in_place", "b->flags = at[13];", "b->flags = at[12];",
     [FUZZ, "test_fields_tcpflags", "test_fields_ports"]),
    ("tcpflags_byte_12_loaded", "b->flags = buf[13];", "b->flags = buf[12];", [FUZZ]),
    ("tcpflags_of_any_protocol", "p->proto == IPPROTO_TCP_ && b->have >= L4_BYTES",
     "b->have >= L4_BYTES", [FUZZ, "test_fields_ports"]),
    ("tcpflags_never_there", "#define L4_BYTES 14", "#define L4_BYTES 13",
     [FUZZ, "test_fields_tcpflags"]),
    # Each field needs its bytes inside the limit.
    ("sport_with_1_byte", "(fields & XDPTOP_FIELD_SPORT) && b->have >= 2",
     "(fields & XDPTOP_FIELD_SPORT) && b->have >= 1",
     [FUZZ, "test_fields_cut_by_frame", "test_fields_cut_by_ip_length"]),
    ("dport_with_3_bytes", "(fields & XDPTOP_FIELD_DPORT) && b->have >= 4",
     "(fields & XDPTOP_FIELD_DPORT) && b->have >= 3",
     [FUZZ, "test_fields_cut_by_frame", "test_fields_cut_by_ip_length"]),
    ("icmp_type_with_1_byte", "(fields & XDPTOP_FIELD_DPORT) && b->have >= 2",
     "(fields & XDPTOP_FIELD_DPORT) && b->have >= 1",
     [FUZZ, "test_fields_cut_by_frame", "test_fields_cut_by_ip_length"]),
    # The limit.
    ("ipv4_length_ignored", ".end = min_u32(len, off + bpf_ntohs(*(__u16 *)(ip + 2))),",
     ".end = len,", [FUZZ, "test_fields_cut_by_ip_length", "test_fields_ipv4_options"]),
    ("ipv6_length_ignored",
     ".end = min_u32(len, off + IPV6_HLEN + bpf_ntohs(*(__u16 *)(ip + 4))),",
     ".end = len,", [FUZZ, "test_fields_cut_by_ip_length", "test_fields_ipv6_cut_in_chain"]),
    ("ipv6_length_without_fixed_header", "off + IPV6_HLEN + bpf_ntohs", "off + bpf_ntohs",
     [FUZZ, "test_fields_cut_by_ip_length"]),
    ("ipv4_length_from_untagged_start", "min_u32(len, off + bpf_ntohs",
     "min_u32(len, ETH_HLEN_ + bpf_ntohs", [FUZZ, "test_fields_vlan"]),
    ("in_place_ip_length_ignored", "b->have = min_u32(p->end - p->off, L4_BYTES);",
     "b->have = L4_BYTES;", [FUZZ, "test_fields_cut_by_ip_length"]),
    # Where the L4 header is.
    ("ihl_ignored", ".off = off + (ip[0] & 0x0f) * 4,", ".off = off + IPV4_MIN_HLEN,",
     [FUZZ, "test_fields_ipv4_options"]),
    ("ipv6_after_untagged_header", "ipv6_l4(ctx, pos, off, len, fields, key);",
     "ipv6_l4(ctx, pos, ETH_HLEN_, len, fields, key);", [FUZZ, "test_fields_vlan"]),
    # A key holds the fields it names, no others.
    ("proto_in_every_l4_key", "if (fields & XDPTOP_FIELD_PROTO)",
     "if (fields & XDPTOP_FIELDS_L4)", ["test_fields_narrow"]),
    ("sport_in_every_key", "(fields & XDPTOP_FIELD_SPORT) && b->have >= 2", "b->have >= 2",
     ["test_fields_narrow"]),
]


def failed_tests(log):
    """The names cmocka lists as failed."""
    return set(re.findall(r"^\[  FAILED  \] (test_\w+)$", log, re.M))


def build_and_run(tmp_path, parse_text):
    """bpf_unit built with parse_text as parse.bpf.h, run on the field tests:
    (returncode, log). Its C side unoptimised (CFLAGS=-O0): it is only the
    harness, built once per mutant, in less than half the time."""
    header = tmp_path / "parse.bpf.h"
    header.write_text(parse_text)
    build = tmp_path / "build"
    res = make_in(build, f"PARSE_BPF_H={header}", "CFLAGS=-O0", str(build / "bpf_unit"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    env = sanitizer_env()
    env["CMOCKA_MESSAGE_OUTPUT"] = "STDOUT"
    proc = subprocess.run([str(build / "bpf_unit"), FIELD_TESTS], capture_output=True, text=True,
                          env=env, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def test_names_are_unique():
    names = [m[0] for m in MUTANTS]
    assert len(set(names)) == len(names), names


def test_unmutated_copy_passes(tmp_path):
    """Every field test runs (bpf_unit's pattern selects them all, and no
    other) and passes."""
    rc, log = build_and_run(tmp_path, PARSE.read_text())
    assert rc == 0, log
    passed = re.findall(r"^\[       OK \] (test_\w+)$", log, re.M)
    assert passed == [n for n in listed_tests() if n.startswith("test_fields_")], log
    assert FUZZ in passed and all(c in passed for m in MUTANTS for c in m[3]), log


@pytest.mark.parametrize("name,old,new,catchers", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_is_caught(tmp_path, name, old, new, catchers):
    text = PARSE.read_text()
    assert text.count(old) == 1, f"{name}: {old!r} is in parse.bpf.h {text.count(old)} times"
    rc, log = build_and_run(tmp_path, text.replace(old, new))
    assert rc != 0, f"{name} survived:\n{log}"
    failed = failed_tests(log)
    assert set(catchers) <= failed, (name, sorted(failed), log)
