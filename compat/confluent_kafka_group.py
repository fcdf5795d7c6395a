"""Consumer-group round trip with confluent-kafka-python (librdkafka,
Debian's python3-confluent-kafka).

Usage: confluent_kafka_group.py BOOTSTRAP TOPIC N WORKDIR

Creates TOPIC with 3 partitions and produces N keyed records, then consumes
them with a subscribed Consumer (group.id, enable.auto.commit=false) in two
runs of the same group: the first run stops after about a third of the
records, commits synchronously what it consumed and closes (leaving the
group); the second, a new consumer, must resume exactly at those commits
and reads the rest. check.py judges (report_group).
"""

import json
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import check


def consume(bootstrap, topic, group, want, deadline_s=90):
    """Consume with a new group member until at least want records (whole
    batches), commit, and return (rows, committed offsets)."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "client.id": "compat-confluent-group",
        "group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
    })
    consumer.subscribe([topic])
    rows = []
    deadline = time.time() + deadline_s
    while len(rows) < want:
        if time.time() > deadline:
            raise RuntimeError("group %s consumed only %d of %d records" % (group, len(rows), want))
        for m in consumer.consume(num_messages=200, timeout=1.0):
            if m.error():
                raise KafkaException(m.error())
            rows.append({
                "partition": m.partition(), "offset": m.offset(),
                "key": m.key().decode() if m.key() is not None else None,
                "value": m.value().decode(),
                "headers": {k: v.decode() for k, v in (m.headers() or [])},
            })
    # Commits the offsets stored for every message consume() returned.
    consumer.commit(asynchronous=False)
    committed = {}
    for tp in consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=30):
        if tp.error:
            raise KafkaException(tp.error)
        if tp.offset >= 0:
            committed[str(tp.partition)] = tp.offset
    consumer.close()
    return rows, committed


def main(bootstrap, topic, n, workdir):
    print("confluent-kafka %s, librdkafka %s" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0]))
    admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "compat-confluent-group"})
    for t, f in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)],
                                    operation_timeout=30, request_timeout=30).items():
        f.result(timeout=60)

    produced = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
            return
        produced.append({"key": msg.key().decode(), "value": msg.value().decode(),
                         "partition": msg.partition(), "offset": msg.offset()})

    producer = Producer({"bootstrap.servers": bootstrap, "client.id": "compat-confluent-group",
                         "acks": "all", "linger.ms": 5})
    for key, value, headers in check.gen_records(n):
        while True:
            try:
                producer.produce(topic, key=key.encode(), value=value.encode(),
                                 headers=[(k, v.encode()) for k, v in headers.items()],
                                 on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(60)
    if left or errors:
        raise RuntimeError("%d records undelivered, errors: %s" % (left, errors[:3]))

    group = "compat-confluent-group-" + topic
    run1, committed = consume(bootstrap, topic, group, n // 3)
    run2, _ = consume(bootstrap, topic, group, n - len(run1))

    check.write_jsonl(workdir + "/confluent-group.run1.jsonl", run1)
    check.write_jsonl(workdir + "/confluent-group.run2.jsonl", run2)
    with open(workdir + "/confluent-group.committed.json", "w", encoding="utf-8") as f:
        json.dump(committed, f)
    return check.report_group("confluent-kafka group", n, produced, run1, run2, committed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
