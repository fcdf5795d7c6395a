"""Compatibility check with kafka-python (Debian's python3-kafka).

Usage: kafka_python.py BOOTSTRAP TOPIC N WORKDIR

Creates TOPIC with 3 partitions through KafkaAdminClient, produces N keyed
records (gzip, acks=all) and reads them back with a consumer assigned to
every partition from the beginning (no consumer group), then verifies them
with check.py.
"""

import sys
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

import check


def main(bootstrap, topic, n, workdir):
    print("kafka-python %s" % kafka.__version__)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-kafka-python")
    admin.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)], timeout_ms=30000)
    admin.close()

    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="compat-kafka-python",
                             acks="all", compression_type="gzip", linger_ms=5,
                             max_in_flight_requests_per_connection=1, retries=5)
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

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="compat-kafka-python",
                             enable_auto_commit=False, auto_offset_reset="earliest")
    parts = consumer.partitions_for_topic(topic)
    deadline = time.time() + 30
    while not parts and time.time() < deadline:
        time.sleep(0.2)
        parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise RuntimeError("consumer sees no partitions of %s" % topic)
    consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
    consumer.seek_to_beginning()
    consumed = []
    deadline = time.time() + 60
    while len(consumed) < n and time.time() < deadline:
        for tp, recs in consumer.poll(timeout_ms=1000).items():
            for r in recs:
                consumed.append({
                    "partition": r.partition, "offset": r.offset,
                    "key": r.key.decode() if r.key is not None else None,
                    "value": r.value.decode(),
                    "headers": {k: v.decode() for k, v in (r.headers or [])},
                })
    consumer.close()
    check.write_jsonl(workdir + "/kafka-python.produced.jsonl", produced)
    check.write_jsonl(workdir + "/kafka-python.consumed.jsonl", consumed)
    return check.report("kafka-python", n, produced, consumed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
