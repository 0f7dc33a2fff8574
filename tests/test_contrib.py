"""contrib/: the Prometheus scrape config, the alerting rules and the Grafana
dashboard. promtool checks the config and the rules and runs the rules' unit
tests (and the unit tests are shown to fail on a broken rule); the dashboard's
model is checked; and a real Prometheus scraping two agents under real
traffic, with alerts.yml loaded, answers every query of the dashboard with
data, while the alerts go pending where they must and nowhere else; and every
label the dashboard names (legends, the queries' by/on/group clauses, the
tables' columns) is one its query's result has.

Every server listens on loopback or on 198.18.0.0/15 inside the test's own
namespaces; traffic flows only on veth pairs between them."""
import json
import math
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from conftest import ROOT
from test_prom import http, link_hosts, prometheus, udp_capture  # noqa: F401 (a fixture)
from traffic import udp_frame, write_pcap

PROM_DIR = ROOT / "contrib" / "prometheus"
DASHBOARD = ROOT / "contrib" / "grafana" / "xdptop.json"
ALERTS = ("XdptopTopTalker", "XdptopTableFull", "XdptopDown", "XdptopStalled",
          "XdptopNoTargets")


def promtool(*args, cwd=None):
    r = subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    return r.returncode, r.stdout + r.stderr


# ---------------------------------------------------------------- promtool

def test_scrape_config(tmp_path):
    """prometheus.yml is valid and finds alerts.yml next to it, wherever it
    is checked from: rule_files is relative to the config file."""
    rc, out = promtool("check", "config", str(PROM_DIR / "prometheus.yml"), cwd=tmp_path)
    assert rc == 0, out
    assert "SUCCESS: 1 rule files found" in out, out
    assert f"SUCCESS: {len(ALERTS)} rules found" in out, out
    text = (PROM_DIR / "prometheus.yml").read_text()
    assert re.search(r"^\s+- job_name: xdptop\b", text, re.M)
    assert re.search(r"^\s+scrape_interval: 15s$", text, re.M)


def test_rules_check():
    rc, out = promtool("check", "rules", str(PROM_DIR / "alerts.yml"))
    assert rc == 0, out
    assert f"SUCCESS: {len(ALERTS)} rules found" in out, out
    names = re.findall(r"^\s+- alert: (\w+)$", (PROM_DIR / "alerts.yml").read_text(), re.M)
    assert tuple(names) == ALERTS


def test_rules_unit_tests():
    """Each alert fires when it must and not when it must not (the cases are
    in alerts_test.yml)."""
    rc, out = promtool("test", "rules", "alerts_test.yml", cwd=PROM_DIR)
    assert rc == 0, out
    assert re.search(r"^\s+SUCCESS$", out, re.M), out
    tested = set(re.findall(r"alertname: (\w+)", (PROM_DIR / "alerts_test.yml").read_text()))
    assert tested == set(ALERTS)


# Each a change to alerts.yml that one of the unit tests must catch, and the
# alert whose test then fails.
BROKEN = [
    ("TopTalker's share threshold raised", ") > 0.5\n", ") > 0.8\n", "XdptopTopTalker"),
    ("TopTalker's share at half counts", ") > 0.5\n", ") >= 0.5\n", "XdptopTopTalker"),
    ("TopTalker's minimum rate lowered", "> 1000\n", "> 100\n", "XdptopTopTalker"),
    ("TopTalker without its for", "for: 1m\n", "for: 0m\n", "XdptopTopTalker"),
    ("TableFull's for shortened", "for: 5m\n        labels:\n          severity: warning\n"
     "        annotations:\n          summary: >-\n            xdptop's",
     "for: 1m\n        labels:\n          severity: warning\n"
     "        annotations:\n          summary: >-\n            xdptop's", "XdptopTableFull"),
    ("TableFull on any ratio", "          ) > 0\n", "          ) >= 0\n", "XdptopTableFull"),
    ("Down for every job", 'up{job="xdptop"} == 0', "up == 0", "XdptopDown"),
    ("Down at once", "for: 2m\n", "for: 0s\n", "XdptopDown"),
    ("Stalled later", "seconds > 120", "seconds > 1200", "XdptopStalled"),
    ("NoTargets on a misspelt job", 'absent(up{job="xdptop"})', 'absent(up{job="xdptp"})',
     "XdptopNoTargets"),
]


@pytest.mark.parametrize("what,old,new,alert", BROKEN, ids=[b[0] for b in BROKEN])
def test_rules_unit_tests_catch_a_broken_rule(tmp_path, what, old, new, alert):
    """The unit tests can fail: on a copy of alerts.yml with one change, the
    test of the alert changed fails."""
    rules = (PROM_DIR / "alerts.yml").read_text()
    assert rules.count(old) == 1, what
    (tmp_path / "alerts.yml").write_text(rules.replace(old, new))
    shutil.copy(PROM_DIR / "alerts_test.yml", tmp_path)
    assert promtool("check", "rules", str(tmp_path / "alerts.yml"))[0] == 0
    rc, out = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert rc == 1, out
    assert "FAILED:" in out and f"alertname: {alert}," in out, out


# ---------------------------------------------------------------- the dashboard

def dashboard():
    return json.loads(DASHBOARD.read_text())


def panel_targets(model):
    """(panel title, refId, expr) of every query of every panel."""
    return [(p["title"], t["refId"], t["expr"]) for p in model["panels"] for t in p["targets"]]


def test_dashboard_model():
    """A Grafana dashboard (schema 37+) that takes its Prometheus from a
    datasource variable, with instance and interface variables, each panel
    in its own place on the grid."""
    model = dashboard()
    assert model["schemaVersion"] >= 37
    assert model["uid"] == "xdptop" and model["id"] is None
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ds = {"type": "prometheus", "uid": "${datasource}"}
    for name in ("instance", "interface"):
        v = variables[name]
        assert (v["type"], v["datasource"], v["multi"], v["includeAll"], v["allValue"]) == \
            ("query", ds, True, True, ".*")
        assert v["definition"] == v["query"]["query"]
    ids, titles, cells = set(), set(), set()
    for p in model["panels"]:
        assert p["id"] not in ids and p["title"] not in titles, p["title"]
        ids.add(p["id"])
        titles.add(p["title"])
        assert p["datasource"] == ds, p["title"]
        assert p["title"] and p["description"], p
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, p["title"]
        cells |= mine
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["datasource"] == ds, p["title"]
            # Every query follows the variables.
            assert 'instance=~"$instance"' in t["expr"], (p["title"], t["expr"])
    exprs = " ".join(e for _, _, e in panel_targets(model))
    for metric in ("source_packets", "source_bytes", "packets", "bytes", "other_packets",
                   "untracked_packets", "unlisted_packets"):
        assert f"xdptop_{metric}_total{{" in exprs, metric
    assert "xdptop_tracked_keys{" in exprs and "xdptop_capacity_keys{" in exprs


def grafana_regex_escape(value):
    """A value of a multi-value variable in =~, as Grafana's Prometheus data
    source writes it: regex characters escaped, backslashes doubled for the
    PromQL string."""
    return re.sub(r"[$^*{}\[\]'+?.()|\\]", lambda m: "\\\\" + m.group(0), value)


def substitute(expr, rate_interval, **values):
    """expr with Grafana's variables replaced: $__rate_interval, and $name or
    ${name} (any ${name:format}) by values[name]. Nothing else may be left."""
    expr = expr.replace("$__rate_interval", rate_interval)
    for name, value in values.items():
        expr = re.sub(r"\$\{" + name + r"(?::\w+)?\}|\$" + name + r"\b",
                      lambda _: value, expr)
    assert "$" not in expr, expr
    return expr


# Grafana's $__rate_interval is at least 4 scrape intervals: the test's
# Prometheus scrapes every 0.5 s (at 15 s, as contrib's, it would be 1m).
RATE_INTERVAL = "5s"


def wait_until(what, check, timeout):
    """Polls check() until it returns a true value; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def label_values(prom, definition):
    """What Grafana's label_values(SELECTOR, LABEL) lists, through the same
    API it uses."""
    m = re.fullmatch(r"label_values\((.+), (\w+)\)", definition)
    assert m, definition
    url = (f"http://127.0.0.1:9090/api/v1/label/{m.group(2)}/values?" +
           urllib.parse.urlencode({"match[]": m.group(1)}))
    status, _, body = http(prom.ns, url)
    reply = json.loads(body)
    assert status == 200 and reply["status"] == "success", body
    return sorted(reply["data"])


def alerts(prom):
    """The alerts Prometheus evaluates now, pending or firing:
    {(alertname, instance, interface, address)}."""
    return {(a["metric"]["alertname"], a["metric"].get("instance"),
             a["metric"].get("interface"), a["metric"].get("address"))
            for a in prom.query("ALERTS")}


def test_dashboard_and_alerts_on_a_real_fleet(lab, xdptop, prometheus, tmp_path):
    """Two hosts, each with its agent and paced traffic, scraped by a real
    Prometheus that evaluates alerts.yml. host0: 8000 frames/s, 80% from
    198.18.1.1 (a top talker). host1: 1500 frames/s from 10 sources, 4 of
    them tracked (--max-sources 4: the rest untracked) and 2 exported
    (--metrics-top 2: the others unlisted).

    Every query of every panel, with the variables at All and at each host,
    returns data (finite values); the same query with a misspelt metric
    returns none, so a typo in the dashboard fails here. The panels say
    what they mean: 198.18.1.1 tops the fleet, host1 alone has untracked and
    unlisted frames, its table is full. The variables list both hosts and
    v1. XdptopTopTalker goes pending for 198.18.1.1 on host0 and
    XdptopTableFull for host1, nothing else; host1's agent stopped,
    XdptopDown goes pending for it: the rules match the exporter's real
    labels (instance, job, interface, address)."""
    monitor = lab.netns()
    plans = [({"198.18.1.1": (800, 100), "198.18.1.2": (100, 200),
               "2001:db8:1::7": (100, 90)}, 8000, []),
             ({f"198.18.2.{i}": (100, 100) for i in range(1, 11)}, 1500,
              ["--max-sources", "4", "--metrics-top", "2"])]
    targets, agents, senders = [], [], []
    try:
        for n, (plan, pps, opts) in enumerate(plans):
            sender, host = lab.pair(mtu=1500)
            ip = link_hosts(lab, monitor, host, n)
            agent = lab.start(host, xdptop, "-f", "none", "-i", "0.2", *opts,
                              "--listen", f"{ip}:9464", "v1")
            agent.wait_attached()
            agents.append(agent)
            targets.append(f"{ip}:9464")
            # At most 80 s of traffic: the test ends it before.
            loops = 80 * pps // sum(f for f, _ in plan.values())
            senders.append(sender.popen(
                "tcpreplay", "-q", "--pps", str(pps), "--loop", str(loops), "-i", "v0",
                str(udp_capture(tmp_path, f"host{n}", plan)),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        prom = prometheus(monitor, targets, rule_files=[PROM_DIR / "alerts.yml"])
        host0, host1 = targets

        # The variables list what the fleet has.
        variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
        wait_until("both agents scraped",
                   lambda: label_values(prom, variables["instance"]["definition"]) ==
                   sorted(targets), 30)
        assert label_values(prom, substitute(variables["interface"]["definition"], "",
                                             instance=".*")) == ["v1"]

        queries = panel_targets(dashboard())
        selections = [{"instance": ".*", "interface": ".*"}] + \
            [{"instance": grafana_regex_escape(t), "interface": grafana_regex_escape("v1")}
             for t in targets]

        def empty():
            """The queries (panel, refId, selection) with no data, or NaN."""
            missing = []
            for sel in selections:
                for title, ref, expr in queries:
                    result = prom.query(substitute(expr, RATE_INTERVAL, **sel))
                    if not result or not all(math.isfinite(float(r["value"][1]))
                                             for r in result):
                        missing.append((title, ref, sel["instance"], result))
            return missing

        # Rates need two scrapes in the window: wait for them, then every query
        # must have data.
        wait_until("rates of both hosts",
                   lambda: len(prom.query(f"rate(xdptop_packets_total[{RATE_INTERVAL}]) > 0"))
                   == 2, 30)
        deadline = time.monotonic() + 20
        while (missing := empty()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert missing == [], missing
        # A misspelt metric gets no data: the check above can fail.
        title, _, expr = queries[0]
        assert "xdptop_" in expr, title
        typo = substitute(expr.replace("xdptop_", "xdptop_x", 1), RATE_INTERVAL,
                          instance=".*", interface=".*")
        assert prom.query(typo) == [], typo

        def panel(title, ref="A"):
            """A panel's query with the variables at All: {labels: value}."""
            expr = next(e for t, r, e in queries if (t, r) == (title, ref))
            result = prom.query(substitute(expr, RATE_INTERVAL, instance=".*", interface=".*"))
            return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in result}

        top = panel("Top talkers across the fleet (frames/s)")
        assert max(top, key=top.get) == (("address", "198.18.1.1"),), top
        shares = {"untracked": panel("Other and untracked frames", "B"),
                  "unlisted": panel("Unlisted frames"), "fill": panel("Table fill")}
        for what, by in shares.items():
            by = {dict(k)["instance"]: v for k, v in by.items()}
            assert by[host0] < by[host1] and by[host1] > 0, (what, by)
        # Keys tracked over capacity: host0 tracks its 3 sources of 65536;
        # host1's table is full, but the gauge wanders below its 4: a tracked
        # key that found no room in the kernel's table for an interval looks
        # idle, and the agent forgets idle keys to make room (README, Limits).
        fill = {dict(k)["instance"]: v for k, v in shares["fill"].items()}
        assert fill[host0] == 3 / 65536 and fill[host1] * 4 in (1, 2, 3, 4), fill

        # The alerts. rate(...[1m]) of a series younger than a minute is about
        # its increase so far over 60 s: host0's interface passes the rule's
        # 1000 frames/s once it has counted 60,000 frames (7.5 s at 8000/s).
        want = {("XdptopTopTalker", host0, "v1", "198.18.1.1"),
                ("XdptopTableFull", host1, "v1", None)}
        wait_until(f"alerts {want}", lambda: alerts(prom) == want, 40)
        assert [s.poll() for s in senders] == [None, None]     # the traffic went on
        assert agents[1].stop() == 0, agents[1].stderr()
        wait_until("XdptopDown for host1",
                   lambda: ("XdptopDown", host1, None, None) in alerts(prom), 20)
        assert {a for a in alerts(prom) if a[0] != "XdptopTableFull"} == \
            {("XdptopTopTalker", host0, "v1", "198.18.1.1"), ("XdptopDown", host1, None, None)}
        assert agents[0].stop() == 0, agents[0].stderr()
    finally:
        for s in senders:
            s.kill()
            s.wait()


# The PromQL clauses that name labels the result keeps (without and ignoring
# name those it drops).
LABEL_CLAUSE = re.compile(r"\b(?:by|on|group_left|group_right)\s*\(([^)]*)\)")
# The transformations unknown_labels() reads; any other fails the test, as
# it would not know what that one names.
TRANSFORMATIONS = ("merge", "organize", "groupBy")


def unknown_labels(model, labels_of):
    """(panel, refId or "fields" or "sortBy", name) of each label a panel
    names that its query's result lacks: in a legend format, in a by, on,
    group_left or group_right clause; and of each field that a
    transformation or an override names and no query of the panel returns
    (besides Time and the values: Value for one query, "Value #refId" for
    several, as Grafana names them), or a table's sort that names no shown
    column. labels_of(expr) is the set of labels of expr's result."""
    missing = []
    for p in model["panels"]:
        targets = p["targets"]
        fields = {"Time"} | ({"Value"} if len(targets) == 1 else
                             {f"Value #{t['refId']}" for t in targets})
        for t in targets:
            have = labels_of(t["expr"])
            fields |= have
            named = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", t["legendFormat"]))
            for clause in LABEL_CLAUSE.findall(t["expr"]):
                named |= {n.strip() for n in clause.split(",") if n.strip()}
            missing += [(p["title"], t["refId"], n) for n in sorted(named - have)]
        named, shown = set(), set(fields)
        for x in p.get("transformations", []):
            assert x["id"] in TRANSFORMATIONS, (p["title"], x["id"])
            for key in ("fields", "excludeByName", "indexByName", "renameByName"):
                named |= set(x["options"].get(key, {}))
            shown |= set(x["options"].get("renameByName", {}).values())
        named |= {o["matcher"]["options"] for o in p["fieldConfig"]["overrides"]
                  if o["matcher"]["id"] == "byName"}
        missing += [(p["title"], "fields", n) for n in sorted(named - fields)]
        missing += [(p["title"], "sortBy", s["displayName"])
                    for s in p["options"].get("sortBy", []) if s["displayName"] not in shown]
    return missing


@pytest.mark.parametrize("key", [[], ["--key", "src,proto,dport"]], ids=["address", "fields"])
def test_dashboard_names_only_labels_its_queries_return(lab, xdptop, prometheus, tmp_path, key):
    """A real Prometheus scraping an agent with --vlan (its keys carry a vlan
    label) under VLAN-tagged traffic, keyed by address or by fields (a label
    each): every query of the dashboard, run as Grafana would with the
    variables at All, returns data, and every label that a panel names
    (legends, by/on/group clauses, the tables' columns, sorts) is in its
    result. The check fails on the dashboard as it was (the agents' table
    named vlan, not key_vlan) and on a misspelt legend."""
    monitor = lab.netns()
    sender, host = lab.pair(mtu=1500)
    ip = link_hosts(lab, monitor, host, 0)
    agent = lab.start(host, xdptop, "-f", "none", "-i", "0.2", "--vlan", *key,
                      "--listen", f"{ip}:9464", "v1")
    agent.wait_attached()
    pcap = write_pcap(tmp_path / "vlans.pcap",
                      [udp_frame(f"198.18.3.{i}", 100, vlan=100 + i) for i in range(1, 5)])
    # At most 80 s of traffic: the test ends it before.
    traffic = sender.popen("tcpreplay", "-q", "--pps", "400", "--loop", "8000", "-i", "v0",
                           str(pcap), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        prom = prometheus(monitor, [f"{ip}:9464"])

        def result(expr):
            return prom.query(substitute(expr, RATE_INTERVAL, instance=".*", interface=".*"))

        def labels_of(expr):
            return {label for r in result(expr) for label in r["metric"]}

        model = dashboard()
        wait_until("every query has data",
                   lambda: all(result(e) for _, _, e in panel_targets(model)), 40)
        assert unknown_labels(model, labels_of) == []
        key_labels = {"src", "proto", "dport"} if key else {"address"}
        assert {"vlan", *key_labels} <= labels_of("xdptop_source_packets_total")
        # The panels show the key's labels, whatever they are.
        fleet = next(p for p in model["panels"] if p["title"].startswith("Top talkers across"))
        assert key_labels <= labels_of(fleet["targets"][0]["expr"])
        # The check can fail.
        text = DASHBOARD.read_text()
        was = json.loads(text.replace("key_vlan", "vlan"))
        assert unknown_labels(was, labels_of) == [("Agents and interfaces", "A", "vlan"),
                                                  ("Agents and interfaces", "fields", "vlan")]
        typo = json.loads(text)
        next(p for p in typo["panels"] if p["title"] == fleet["title"])["targets"][0][
            "legendFormat"] = "{{addr}}"
        assert unknown_labels(typo, labels_of) == [(fleet["title"], "A", "addr")]
        assert agent.stop() == 0, agent.stderr()
    finally:
        traffic.kill()
        traffic.wait()
