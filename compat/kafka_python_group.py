"""Consumer-group round trip with kafka-python (Debian's python3-kafka).

Usage: kafka_python_group.py BOOTSTRAP TOPIC N WORKDIR

Creates TOPIC with 3 partitions and produces N keyed records, then consumes
them with KafkaConsumer(group_id=...) in two runs of the same group: the
first run stops after about a third of the records, commits what it
consumed (commit(), synchronous) and closes; the second, a new consumer,
must resume exactly at those commits and reads the rest. check.py judges
(report_group): every record consumed exactly once over the two runs, in
order, and the second run starting at the first run's commits.
"""

import json
import sys
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

import check


def consume(bootstrap, topic, group, want, deadline_s=90):
    """Consume with a new group member until at least want records (whole
    polls), commit, and return (rows, committed offsets)."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, client_id="compat-kafka-python-group",
                             group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
                             max_poll_records=200)
    rows = []
    deadline = time.time() + deadline_s
    while len(rows) < want:
        if time.time() > deadline:
            raise RuntimeError("group %s consumed only %d of %d records" % (group, len(rows), want))
        for tp, recs in consumer.poll(timeout_ms=1000).items():
            for r in recs:
                rows.append({
                    "partition": r.partition, "offset": r.offset,
                    "key": r.key.decode() if r.key is not None else None,
                    "value": r.value.decode(),
                    "headers": {k: v.decode() for k, v in (r.headers or [])},
                })
    consumer.commit()
    committed = {}
    for p in sorted(consumer.partitions_for_topic(topic) or []):
        off = consumer.committed(TopicPartition(topic, p))
        if off is not None and off >= 0:
            committed[str(p)] = off
    consumer.close()
    return rows, committed


def main(bootstrap, topic, n, workdir):
    print("kafka-python %s" % kafka.__version__)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-kafka-python-group")
    admin.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)], timeout_ms=30000)
    admin.close()

    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="compat-kafka-python-group", acks="all")
    futures = []
    for key, value, headers in check.gen_records(n):
        f = producer.send(topic, key=key.encode(), value=value.encode(),
                          headers=[(k, v.encode()) for k, v in headers.items()])
        futures.append((key, value, f))
    producer.flush(timeout=60)
    produced = []
    for key, value, f in futures:
        md = f.get(timeout=60)
        produced.append({"key": key, "value": value, "partition": md.partition, "offset": md.offset})
    producer.close(timeout=10)

    group = "compat-kafka-python-group-" + topic
    run1, committed = consume(bootstrap, topic, group, n // 3)
    run2, _ = consume(bootstrap, topic, group, n - len(run1))

    check.write_jsonl(workdir + "/kafka-python-group.run1.jsonl", run1)
    check.write_jsonl(workdir + "/kafka-python-group.run2.jsonl", run2)
    with open(workdir + "/kafka-python-group.committed.json", "w", encoding="utf-8") as f:
        json.dump(committed, f)
    return check.report_group("kafka-python group", n, produced, run1, run2, committed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
