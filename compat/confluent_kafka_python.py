"""Compatibility check with confluent-kafka-python (librdkafka underneath,
Debian's python3-confluent-kafka).

Usage: confluent_kafka_python.py BOOTSTRAP TOPIC N WORKDIR

Creates TOPIC with 3 partitions through AdminClient, produces N keyed
records with an idempotent producer (enable.idempotence, zstd, acks=all,
librdkafka's other defaults) and reads them back with a
consumer assigned to every partition from the beginning (no group
coordination), then verifies them with check.py.

Idempotence makes librdkafka ask for a producer id (InitProducerId) before
its first produce and stamp every batch with it and per-partition sequence
numbers; a broker without InitProducerId, or one that answers it with an
error, raises a fatal error, which this script reports as a failure.
"""

import sys
import time

import confluent_kafka
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import check


def main(bootstrap, topic, n, workdir):
    print("confluent-kafka %s, librdkafka %s" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0]))
    admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "compat-confluent"})
    for t, f in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)],
                                    operation_timeout=30, request_timeout=30).items():
        f.result(timeout=60)

    produced = []
    errors = []

    def on_error(err):
        # Fatal errors (idempotence refused or broken) end the producer;
        # transient ones (a reconnect) are librdkafka's to retry.
        if err.fatal():
            errors.append(err)

    producer = Producer({
        "bootstrap.servers": bootstrap, "client.id": "compat-confluent",
        "acks": "all", "compression.type": "zstd", "linger.ms": 5,
        "enable.idempotence": True, "error_cb": on_error,
    })

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
            return
        produced.append({"key": msg.key().decode(), "value": msg.value().decode(),
                         "partition": msg.partition(), "offset": msg.offset()})

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

    consumer = Consumer({
        "bootstrap.servers": bootstrap, "client.id": "compat-confluent",
        "group.id": "compat-confluent-unused", "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
    consumed = []
    deadline = time.time() + 60
    while len(consumed) < n and time.time() < deadline:
        for m in consumer.consume(num_messages=1000, timeout=1.0):
            if m.error():
                raise KafkaException(m.error())
            consumed.append({
                "partition": m.partition(), "offset": m.offset(),
                "key": m.key().decode() if m.key() is not None else None,
                "value": m.value().decode(),
                "headers": {k: v.decode() for k, v in (m.headers() or [])},
            })
    consumer.close()
    check.write_jsonl(workdir + "/confluent.produced.jsonl", produced)
    check.write_jsonl(workdir + "/confluent.consumed.jsonl", consumed)
    return check.report("confluent-kafka", n, produced, consumed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
