"""The real captures of tests/data and what each must give.

The names are pinned here, not found with a glob: a capture or an expected
file that goes missing fails its own tests (and test_corpus's check of the
folder against this list), it does not quietly shrink the list.

For each NAME, tests/data holds (see tests/data/README.md):
  NAME.pcap               the capture
  NAME.expected.json      the independent oracle's counts by source address
  NAME.dst.expected.json  the same oracle's counts by destination address

expected() reads one and checks it can be a judge at all: the documented
shape, its parts adding up to its total, and a total that is not empty (a
capture that gives nothing proves nothing).
"""
import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

CAPTURES = (
    "802.1ad_QinQ", "AoE_Linux", "HSRP_failover", "IGMP_V1", "NHRP-responder-address",
    "OLSRv1_HNA_sgw_1", "OSPFv3_with_AH", "PIM-DM_pruning", "PIM-SM_join_prune",
    "babel_rfc6126bis", "bfd-multihop", "bfd-sbfd", "bfd_source_port_49152", "bgp-4byte-asn",
    "bgp-bgpsec", "bgp-encap", "dcb_ets", "dcb_qcn", "dccp_partial_csum_v6_longer",
    "dhcpv6-domain-list", "dhcpv6-ia-na", "dhcpv6-ia-ta", "erspan-type-ii-3",
    "gso-ipv6-vxlan-ipv4", "icmpv6", "icmpv6-ni-flags", "icmpv6-ra-pref64", "icmpv6_opt24",
    "ipv4_tcp_http_xml", "isakmp4500", "kday2", "kday4", "kday5", "kday7", "mptcp-fclose",
    "of10_s4810", "ptp_ethernet", "rpvstp-trunk-native-vid5", "rsvp_cap",
    "sflow_multiple_counter_30_pdus",
)

# The captures without a single IP frame: everything in them is "other".
NON_IP = ("802.1ad_QinQ", "AoE_Linux", "ptp_ethernet", "rpvstp-trunk-native-vid5")

SUFFIX = {"src": ".expected.json", "dst": ".dst.expected.json"}


def pcap(name):
    path = DATA / f"{name}.pcap"
    assert path.is_file(), f"{path} is missing"
    return path


def expected_path(name, key="src"):
    return DATA / f"{name}{SUFFIX[key]}"


def _counts(c, where):
    assert isinstance(c, dict) and set(c) == {"packets", "bytes"}, (where, c)
    assert all(isinstance(v, int) and v >= 0 for v in c.values()), (where, c)
    assert (c["packets"] == 0) == (c["bytes"] == 0), (where, c)
    return c


def expected(name, key="src"):
    """NAME's expected counts by key ("src" or "dst"), checked to be a judge:
    {"sources": {address: counts}, "other": counts, "total": counts}."""
    path = expected_path(name, key)
    assert path.is_file(), f"{path} is missing"
    exp = json.loads(path.read_text())
    assert set(exp) == {"sources", "other", "total"}, (path, set(exp))
    for addr, c in exp["sources"].items():
        _counts(c, (path, addr))
        assert c["packets"] > 0, (path, addr, c)
    _counts(exp["other"], (path, "other"))
    _counts(exp["total"], (path, "total"))
    assert exp["total"]["packets"] > 0, f"{path}: the capture gives nothing"
    for field in ("packets", "bytes"):
        assert sum(c[field] for c in exp["sources"].values()) + exp["other"][field] == \
            exp["total"][field], (path, field)
    # A capture of IP frames gives keys; the non-IP ones give only "other".
    assert (exp["sources"] == {}) == (name in NON_IP), (path, exp["sources"])
    return exp


def tcpreplay_sent(out):
    """{"packets", "bytes"} that tcpreplay -q says it sent, every one of them
    successfully (its bytes are the frames' lengths as captured)."""
    assert re.search(r"Failed packets:\s+0\n", out), out
    actual = re.search(r"^Actual: (\d+) packets \((\d+) bytes\)", out, re.M)
    ok = re.search(r"Successful packets:\s+(\d+)\n", out)
    assert actual and ok, out
    assert int(actual.group(1)) == int(ok.group(1)), out
    return {"packets": int(actual.group(1)), "bytes": int(actual.group(2))}
