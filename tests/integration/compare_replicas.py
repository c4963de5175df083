#!/usr/bin/python3
"""Checks that every replica of every partition holds the same log, byte for
byte: same segments (base offset, end offset, batches, data bytes), as
tern-logcheck reports them, and the same bytes in each segment up to its end
of data. Usage: compare_replicas.py [--replicas R] LOGCHECK NODE_DATA_DIR...

Every partition directory (<topic>-<n>) found under any node must be on
every node given (the test runs with replication = nodes), or with
--replicas R on exactly R of them, and clean."""
import json
import os
import subprocess
import sys


def segments(logcheck, pdir):
    out = subprocess.run([logcheck, "--json", pdir], capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.exit(f"{pdir}: tern-logcheck exit {out.returncode}: {out.stdout}")
    report = json.loads(out.stdout)
    return [(f["segment"], f["end_offset"], f["batches"], f["bytes"])
            for f in report["findings"] if f["kind"] == "segment"]


def same_bytes(paths, length):
    data = None
    for path in paths:
        with open(path, "rb") as f:
            chunk = f.read(length)
        if len(chunk) != length:
            return f"{path} holds {len(chunk)} of {length} bytes"
        if data is not None and chunk != data:
            return f"{path} differs from {paths[0]}"
        data = chunk
    return None


def main():
    args = sys.argv[1:]
    replicas = None
    if args[:1] == ["--replicas"]:
        replicas, args = int(args[1]), args[2:]
    logcheck, nodes = args[0], args[1:]
    # partition directories; topics.json is checked by the tests themselves
    parts = sorted({p for n in nodes for p in os.listdir(n)
                    if os.path.isdir(os.path.join(n, p))})
    total_batches = 0
    for part in parts:
        dirs = [os.path.join(n, part) for n in nodes]
        if replicas is not None:
            dirs = [d for d in dirs if os.path.isdir(d)]
            if len(dirs) != replicas:
                sys.exit(f"{part}: on {len(dirs)} nodes, not {replicas}")
        reports = [segments(logcheck, d) for d in dirs]
        if any(r != reports[0] for r in reports):
            sys.exit(f"{part}: replicas disagree: {reports}")
        for seg, _end, batches, nbytes in reports[0]:
            name = f"{seg:020d}.log"
            why = same_bytes([os.path.join(d, name) for d in dirs], nbytes)
            if why:
                sys.exit(f"{part}: segment {seg}: {why}")
            total_batches += batches
    print(f"{len(parts)} partitions, {total_batches} batches: identical on "
          f"{replicas or len(nodes)} replicas")


main()
