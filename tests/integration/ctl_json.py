#!/usr/bin/env python3
"""Helpers for ternctl_control.sh: make ternctl's JSON comparable with a
golden file, and check Prometheus text.

  ctl_json.py normalize < in.json > out.json
      Values that change from run to run become placeholders: pid,
      uptime_ms and control addresses ("127.0.0.1:PORT"), and the dir of
      check reports. Every counter of `stats` keeps only its type (it
      depends on ARP and timing); ids, offsets and roles stay.
  ctl_json.py prom FILE
      The Prometheus text exposition format, version 0.0.4: every sample
      of a family after its # HELP and # TYPE, counters named *_total,
      label values quoted, values numbers. Prints the number of samples.
  ctl_json.py value FILE NAME LABEL=VALUE...
      The value of the one sample of NAME with those labels.
"""
import json
import re
import sys

VOLATILE = {"pid": "PID", "uptime_ms": "UPTIME_MS", "control": "CONTROL"}
IDS = {"node", "worker", "partition"}


def is_counters(key, d):
    """A group of counters: a worker's or a stats partition's."""
    return (key in ("dataplane", "rejected", "send_failed") or
            "produced" in d or "fetch_slots_full" in d)


def normalize(v, key=None, in_counters=False):
    if isinstance(v, dict):
        inner = in_counters or is_counters(key, v)
        return {k: normalize(x, k, inner) for k, x in v.items()}
    if isinstance(v, list):
        return [normalize(x, key, in_counters) for x in v]
    if key in VOLATILE:
        return VOLATILE[key]
    if key == "dir" and isinstance(v, str):
        return re.sub(r"^.*/(n\d+/data/)", r"DIR/\1", v)
    if in_counters and key not in IDS and isinstance(v, int):
        return "COUNT"
    return v


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})?'
                    r' (-?[0-9.eE+]+|NaN|[+-]Inf)$')


def family(name, typed):
    """The family a sample belongs to: histograms add suffixes."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and typed.get(base) == "histogram":
            return base
    return name


def check_histogram(where, base, name, labels, value, series):
    """Buckets of one series: le rising, counts not falling, +Inf = count."""
    key = (base, tuple(sorted((k, v) for k, v in labels.items()
                              if k != "le")))
    s = series.setdefault(key, {"le": -1.0, "count": 0.0, "inf": None})
    if name.endswith("_bucket"):
        le = float(labels["le"])
        if le <= s["le"] or float(value) < s["count"]:
            sys.exit(f"{where}: bucket le={labels['le']} out of order")
        s["le"], s["count"] = le, float(value)
        if labels["le"] == "+Inf":
            s["inf"] = float(value)
    elif name.endswith("_count") and s["inf"] != float(value):
        sys.exit(f"{where}: _count {value} is not the +Inf bucket")


def prom(path):
    helped, typed, samples, series = set(), {}, 0, {}
    for n, line in enumerate(open(path), 1):
        line = line.rstrip("\n")
        where = f"{path}:{n}"
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind not in ("counter", "gauge", "histogram", "summary",
                            "untyped"):
                sys.exit(f"{where}: unknown type {kind}")
            if kind == "counter" and not name.endswith("_total"):
                sys.exit(f"{where}: counter {name} does not end in _total")
            typed[name] = kind
            continue
        m = SAMPLE.match(line)
        if not m:
            sys.exit(f"{where}: not a sample line: {line!r}")
        name = family(m.group(1), typed)
        if name not in typed or name not in helped:
            sys.exit(f"{where}: {name} has no # HELP and # TYPE before it")
        if typed[name] == "histogram":
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"',
                                     m.group(2) or ""))
            check_histogram(where, name, m.group(1), labels, m.group(5),
                            series)
        samples += 1
    if samples == 0:
        sys.exit(f"{path}: no samples")
    print(samples)


def value(path, name, labels):
    want = dict(l.split("=", 1) for l in labels)
    found = []
    for line in open(path):
        m = SAMPLE.match(line.rstrip("\n"))
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"',
                               m.group(2) or ""))
        if all(have.get(k) == v for k, v in want.items()):
            found.append(m.group(5))
    if len(found) != 1:
        sys.exit(f"{name} {want}: {len(found)} samples")
    print(found[0])


if __name__ == "__main__":
    if sys.argv[1] == "normalize":
        json.dump(normalize(json.load(sys.stdin)), sys.stdout, indent=2)
        print()
    elif sys.argv[1] == "prom":
        prom(sys.argv[2])
    elif sys.argv[1] == "value":
        value(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)
