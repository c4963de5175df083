#!/usr/bin/python3
"""A second, independent implementation of Tern's client side of the wire
protocol (docs/protocol.md), in Python over a kernel UDP socket, that sends
well-formed and misrouted requests to a running cluster and checks every
answer field by field. Usage: probe.py CLUSTER_INI

It needs a cluster with more nodes than replicas (so that some node holds
no replica of partition 0), one worker per node, and empty logs."""
import configparser
import socket
import struct
import sys
import time

MAGIC, VERSION, HDR = 0x54524E31, 1, struct.Struct(">IBBBBIIHHIQ")
PRODUCE, PRODUCE_ACK, ACK, FETCH, FETCH_RESP = 5, 6, 8, 11, 12
METADATA, METADATA_RESP = 13, 14
OK, NOT_HEAD, OUT_OF_ORDER, BAD_BATCH = 0, 2, 3, 7
F_OK, F_NOT_SERVED, F_STALE_EPOCH, F_NO_DATA, F_OUT_OF_RANGE = 0, 2, 3, 4, 6


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def batch(producer_id, seq, values):
    """A record batch (partition/batch.c): little endian, CRC from byte 24."""
    records = b"".join(struct.pack("<I", 1) + b"k" + struct.pack("<I", len(v))
                       + v + struct.pack("<H", 0) for v in values)
    tail = struct.pack("<IIQQQ", len(values), 0, producer_id, seq,
                       time.time_ns()) + records
    length = 24 + len(tail)
    return struct.pack("<IBBHQII", 0x314E5254, 1, 0, 0, 0, length,
                       crc32c(tail)) + tail


class Cluster:
    def __init__(self, path):
        ini = configparser.ConfigParser(strict=False, interpolation=None,
                                        inline_comment_prefixes=(";", "#"))
        ini.read(path)
        c = ini["cluster"]
        self.topic = c["topic"]
        self.durability = c.get("durability", "disk")
        self.epoch = int(c["epoch"])
        self.partitions = int(c["partitions"])
        self.replication = int(c["replication"])
        self.port = int(c.get("udp_port_base", "7000"))
        if int(c.get("workers", "1")) != 1:
            sys.exit("probe.py: needs workers = 1")
        self.ips = [ini[f"node {n}"]["ipv4"]
                    for n in range(len([s for s in ini if s.startswith("node ")]))]

    def chain(self, p):
        """partition/placement.h: node of position k = (p + k*N/R) mod N."""
        n = len(self.ips)
        return [(p + k * n // self.replication) % n
                for k in range(self.replication)]


class Probe:
    def __init__(self, cluster):
        self.c = cluster
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("0.0.0.0", 9100))
        self.next_id = 1

    def request(self, node, partition, mtype, aux, body, epoch=None,
                wait=2.0, sender=0xFFFF):
        hdr = HDR.pack(MAGIC, VERSION, mtype, 0, 32,
                       self.c.epoch if epoch is None else epoch, partition,
                       sender, 0, len(body), aux)
        self.sock.sendto(hdr + body, (self.c.ips[node], self.c.port))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            f = HDR.unpack_from(data)
            if f[0] != MAGIC or f[2] not in (PRODUCE_ACK, FETCH_RESP,
                                             METADATA_RESP):
                continue
            if f[10] == aux or mtype == PRODUCE:
                return f, data[32:]
        return None

    def produce(self, node, partition, body, request_id, epoch=None,
                wait=2.0):
        got = self.request(node, partition, PRODUCE, request_id, body, epoch,
                           wait)
        if got is None:
            return None
        status, count, pid, seq, base = struct.unpack(">B3xIQQQ", got[1])
        return status, count, pid, seq, base

    def fetch(self, node, partition, offset, max_wait_ms=0, epoch=None,
              wait=2.0):
        rid = self.next_id
        self.next_id += 1
        got = self.request(node, partition, FETCH, rid,
                           struct.pack(">QII", offset, 1 << 20, max_wait_ms),
                           epoch, wait)
        if got is None:
            return None
        status, redirect, commit, nxt = struct.unpack(">BxH4xQQ",
                                                      got[1][:24])
        return status, redirect, commit, nxt, got[1][24:]


    def metadata(self, node):
        got = self.request(node, 0, METADATA, 99, b"")
        if got is None or got[0][2] != METADATA_RESP:
            return None
        body = got[1]
        (epoch, parts, repl, workers, base, n, responder, dur,
         tlen, reserved) = struct.unpack_from(">IIBBHHHBBH", body)
        topic = body[20:20 + tlen].decode()
        ips = [socket.inet_ntoa(body[20 + tlen + 4 * i:24 + tlen + 4 * i])
               for i in range(n)]
        at = 20 + tlen + 4 * n
        if len(body) < at + 13 or reserved != 0:
            return "malformed"
        removed, created, k = struct.unpack_from(">QIB", body, at)
        if len(body) != at + 13 + k:
            return "malformed"
        return (epoch, parts, repl, workers, base, responder,
                "memory" if dur else "disk", topic, ips, removed, created,
                list(body[at + 13:]))


def check(what, cond, detail=""):
    if not cond:
        sys.exit(f"probe.py: FAILED: {what} {detail}")
    print(f"ok: {what}")


def main():
    c = Cluster(sys.argv[1])
    p = Probe(c)
    chain = c.chain(0)
    head, tail = chain[0], chain[-1]
    outside = [n for n in range(len(c.ips)) if n not in chain]
    check("the cluster has a node outside partition 0's chain", outside,
          f"(chain {chain})")
    for node in (0, len(c.ips) - 1):
        r = p.metadata(node)
        want = (c.epoch, c.partitions, c.replication, 1, c.port, node,
                c.durability, c.topic, c.ips, 0, c.epoch, [])
        check(f"METADATA to node {node}: the map of the cluster file",
              r == want, (r, want))
    pid, values = 77, [b"alpha", b"beta", b"gamma"]
    good = batch(pid, 0, values)

    r = p.produce(head, 0, good, 1)
    check("PRODUCE to the head is acknowledged at offset 0",
          r == (OK, 3, pid, 0, 0), r)
    r = p.produce(head, 0, good, 2)
    check("a retry of the same (producer, sequence) gets the same offsets",
          r == (OK, 3, pid, 0, 0), r)
    r = p.produce(chain[1], 0, batch(pid, 1, values), 3)
    check("PRODUCE to a replica that is not the head: NOT_HEAD",
          r is not None and r[:4] == (NOT_HEAD, 0, pid, 1), r)
    r = p.produce(outside[0], 0, batch(pid, 1, values), 4)
    check("PRODUCE to a node without a replica: NOT_HEAD",
          r is not None and r[:4] == (NOT_HEAD, 0, pid, 1), r)
    bad = bytearray(batch(pid, 1, values))
    bad[-3] ^= 0xFF
    r = p.produce(head, 0, bytes(bad), 5)
    check("a batch with a bad CRC: BAD_BATCH, with its producer and sequence",
          r is not None and r[:4] == (BAD_BATCH, 0, pid, 1), r)
    r = p.produce(head, 0, batch(pid, 5, values), 6)
    check("a sequence that skips ahead: OUT_OF_ORDER",
          r is not None and r[:4] == (OUT_OF_ORDER, 0, pid, 5), r)
    got = p.request(head, 0, PRODUCE, 7, batch(pid, 1, values),
                    epoch=c.epoch + 1, wait=0.5)
    r = (got[1][0], got[0][5]) if got is not None else None
    check("PRODUCE of another epoch: NOT_HEAD, in the partition's epoch",
          r == (2, c.epoch), r)

    r = p.request(head, 0, ACK, 1000, struct.pack(">Q", 1000), wait=0.3,
                  sender=chain[1])
    check("an ACK that claims to come from the head's successor, from the "
          "client's address: no answer (counted by the head)", r is None, r)

    deadline = time.monotonic() + 2
    while True:
        r = p.fetch(tail, 0, 0)
        if r and r[0] == F_OK or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    check("FETCH at the tail returns the batch", r and r[0] == F_OK, r)
    status, _, commit, nxt, data = r
    stored = batch_fields(data)
    check("... whole, at offset 0, with its records and next offset 3",
          stored == (0, pid, 0, values) and nxt == 3 and commit >= 3,
          (stored, nxt, commit))
    r = p.fetch(outside[0], 0, 0)
    check("FETCH from a node without a replica: NOT_SERVED_HERE",
          r is not None and r[0] == F_NOT_SERVED, r)
    r = p.fetch(tail, 0, 0, epoch=c.epoch + 1)
    check("FETCH of another epoch: STALE_EPOCH",
          r is not None and r[0] == F_STALE_EPOCH, r)
    r = p.fetch(tail, 0, 1000)
    check("FETCH past the log end: OUT_OF_RANGE, next offset = log end 3",
          r is not None and r[0] == F_OUT_OF_RANGE and r[3] == 3, r)
    t0 = time.monotonic()
    r = p.fetch(tail, 0, 3, max_wait_ms=300)
    waited = time.monotonic() - t0
    check("FETCH at the end waits (long poll) and then says NO_DATA_YET",
          r is not None and r[0] == F_NO_DATA and waited >= 0.25,
          (r, waited))


def batch_fields(data):
    """(base offset, producer id, sequence, values) of one whole batch."""
    if len(data) < 56:
        return None
    base, length = struct.unpack_from("<QI", data, 8)
    count, _, pid, seq = struct.unpack_from("<IIQQ", data, 24)
    if length != len(data):
        return None
    values, off = [], 56
    for _ in range(count):
        klen = struct.unpack_from("<I", data, off)[0]
        off += 4 + klen
        vlen = struct.unpack_from("<I", data, off)[0]
        values.append(bytes(data[off + 4:off + 4 + vlen]))
        off += 4 + vlen + 2
    return base, pid, seq, values


main()
