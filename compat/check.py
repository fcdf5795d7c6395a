"""Shared record generation and verification for the compatibility checks.

Every client check produces the same records (gen_records), writes what it
produced and what it consumed back as JSON lines, and verify() judges them:

  produced.jsonl  {"key": str, "value": str, "partition": int|null, "offset": int|null}
  consumed.jsonl  {"partition": int, "offset": int, "key": str, "value": str,
                   "headers": {str: str}}

The value of record i starts with i as six digits and a colon, so order
within a partition can be checked from the values alone.

Run as a program it judges files written by a client that is not Python
(kcat, KafkaJS); see main.

The consumer-group round trips (report_group) consume the records in two
runs of one group: the first run stops part way and commits, the second
starts afresh and must resume exactly at the first run's commits. Besides
run1.jsonl and run2.jsonl (consumed rows as above) they write
committed.json, the group's committed offsets after the first run:

  committed.json  {"<partition>": <offset>, ...}
"""

import json
import string
import sys


def gen_records(n):
    """Return n (key, value, headers) tuples: 100 distinct keys, values of
    varying length that embed the sequence number."""
    letters = string.ascii_letters
    out = []
    for i in range(n):
        key = "key-%03d" % (i % 100)
        value = "%06d:" % i + letters[: i % 53]
        out.append((key, value, {"seq": str(i)}))
    return out


def seq_of(value):
    head, sep, _ = value.partition(":")
    if not sep or not head.isdigit():
        raise ValueError("value %r does not start with a sequence number" % value[:40])
    return int(head)


def verify(n, produced, consumed, header_checks=True):
    """Return a list of problems (empty when everything checks out).

    produced: dicts with key, value and, when the client reported them,
    partition and offset. consumed: dicts with partition, offset, key,
    value, headers."""
    problems = []
    expected = {}
    for key, value, headers in gen_records(n):
        expected[value] = (key, headers)
    if len(produced) != n:
        problems.append("produced %d records, expected %d" % (len(produced), n))
    if len(consumed) != n:
        problems.append("consumed %d records, expected %d" % (len(consumed), n))

    seen = set()
    by_partition = {}
    key_partition = {}
    for r in consumed:
        v = r["value"]
        if v not in expected:
            problems.append("unexpected value %r" % v[:40])
            continue
        if v in seen:
            problems.append("value %r consumed twice" % v[:40])
            continue
        seen.add(v)
        key, headers = expected[v]
        if r["key"] != key:
            problems.append("value %r came with key %r, expected %r" % (v[:20], r["key"], key))
        if header_checks and r.get("headers") is not None:
            for hk, hv in headers.items():
                if r["headers"].get(hk) != hv:
                    problems.append("value %r: header %s=%r, expected %r" % (v[:20], hk, r["headers"].get(hk), hv))
        p = key_partition.setdefault(key, r["partition"])
        if p != r["partition"]:
            problems.append("key %r in partitions %d and %d" % (key, p, r["partition"]))
        by_partition.setdefault(r["partition"], []).append(r)

    missing = [v for v in expected if v not in seen]
    if missing:
        problems.append("%d produced records never consumed, e.g. %r" % (len(missing), missing[0][:40]))

    # Per-partition order: offsets 0, 1, 2 ... without gaps, and the
    # producer's sequence increasing with them.
    for p, recs in sorted(by_partition.items()):
        recs.sort(key=lambda r: r["offset"])
        for want, r in enumerate(recs):
            if r["offset"] != want:
                problems.append("partition %d: offset %d where %d was expected" % (p, r["offset"], want))
                break
        seqs = [seq_of(r["value"]) for r in recs]
        for a, b in zip(seqs, seqs[1:]):
            if b <= a:
                problems.append("partition %d: record %d stored after record %d (order lost)" % (p, b, a))
                break

    # Where the producer reported partition and offset, the consumer must
    # find the same record there.
    at = {(r["partition"], r["offset"]): r["value"] for r in consumed}
    for r in produced:
        if r.get("partition") is None or r.get("offset") is None:
            continue
        got = at.get((r["partition"], r["offset"]))
        if got != r["value"]:
            problems.append("producer acked %r at %d/%d but the consumer found %r there"
                            % (r["value"][:20], r["partition"], r["offset"], got and got[:20]))
            break
    if len(by_partition) < 2 and n >= 100:
        problems.append("all records landed in %d partition(s) of 3: keys were not spread" % len(by_partition))
    return problems


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def report(name, n, produced, consumed, header_checks=True):
    """Print the verdict for one client and return the exit status."""
    problems = verify(n, produced, consumed, header_checks)
    parts = sorted({r["partition"] for r in consumed})
    if problems:
        for p in problems[:20]:
            print("%s: %s" % (name, p))
        return 1
    print("%s: %d records produced and consumed back intact and in order over partitions %s"
          % (name, n, parts))
    return 0


def verify_resume(run1, run2, committed):
    """Return the problems with a group's two runs: the first run's commit
    must be where its consumption stopped in each partition, and the second
    run must start exactly there (not before: a record read twice; not
    after: records skipped)."""
    problems = []
    committed = {int(p): int(o) for p, o in committed.items()}
    stopped = {}
    for r in run1:
        stopped[r["partition"]] = max(stopped.get(r["partition"], 0), r["offset"] + 1)
    for p, o in sorted(stopped.items()):
        if committed.get(p) != o:
            problems.append("partition %d: first run consumed up to offset %d but committed %r"
                            % (p, o - 1, committed.get(p)))
    started = {}
    for r in run2:
        p = r["partition"]
        started[p] = min(started.get(p, r["offset"]), r["offset"])
    for p, o in sorted(started.items()):
        if o != committed.get(p, 0):
            problems.append("partition %d: second run started at offset %d, the group had committed %r"
                            % (p, o, committed.get(p)))
    if not run1:
        problems.append("the first run consumed nothing")
    if not run2:
        problems.append("the second run consumed nothing")
    return problems


def report_group(name, n, produced, run1, run2, committed):
    """Print the verdict for one client's consumer-group round trip and
    return the exit status."""
    problems = verify_resume(run1, run2, committed) + verify(n, produced, run1 + run2)
    if problems:
        for p in problems[:20]:
            print("%s: %s" % (name, p))
        return 1
    print("%s: %d records consumed by one group in two runs (%d + %d), the second resuming at the first's commits %s"
          % (name, n, len(run1), len(run2), json.dumps({int(k): v for k, v in sorted(committed.items(), key=lambda kv: int(kv[0]))})))
    return 0


def check_kcat(n, input_path, output_path):
    """Judge kcat's run: INPUT is what kcat -P read (key:value lines),
    OUTPUT what kcat -C printed with -f '%p|%o|%k|%s|%h\\n'."""
    produced = []
    with open(input_path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(":")
            produced.append({"key": key, "value": value})
    consumed = []
    with open(output_path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            p, o, k, rest = line.split("|", 3)
            value, _, hdrs = rest.rpartition("|")
            headers = dict(h.split("=", 1) for h in hdrs.split(",") if "=" in h)
            consumed.append({"partition": int(p), "offset": int(o), "key": k, "value": value, "headers": headers})
    # kcat -H sets one header on every record; check that instead of seq.
    status = report("kcat", n, produced, consumed, header_checks=False)
    bad = [r for r in consumed if r["headers"].get("client") != "kcat"]
    if bad:
        print("kcat: %d records without the client=kcat header, e.g. %r" % (len(bad), bad[0]))
        status = 1
    return status


def main(argv):
    """check.py kcat N INPUT OUTPUT          (see check_kcat)
    check.py jsonl NAME N PRODUCED CONSUMED  (files in the formats above)
    check.py group NAME N PRODUCED RUN1 RUN2 COMMITTED  (see report_group)"""
    if len(argv) == 5 and argv[1] == "kcat":
        return check_kcat(int(argv[2]), argv[3], argv[4])
    if len(argv) == 6 and argv[1] == "jsonl":
        return report(argv[2], int(argv[3]), read_jsonl(argv[4]), read_jsonl(argv[5]))
    if len(argv) == 8 and argv[1] == "group":
        with open(argv[7], encoding="utf-8") as f:
            committed = json.load(f)
        return report_group(argv[2], int(argv[3]), read_jsonl(argv[4]), read_jsonl(argv[5]),
                            read_jsonl(argv[6]), committed)
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
