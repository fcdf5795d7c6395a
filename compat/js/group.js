// Consumer-group round trip with KafkaJS (pinned in package.json).
//
// Usage: node group.js BOOTSTRAP TOPIC N WORKDIR
//
// Creates TOPIC with 3 partitions and produces N keyed records, then
// consumes them with a KafkaJS consumer (groupId) in two runs of the same
// group: the first run stops after about a third of the records, commits
// the offsets after what it consumed (commitOffsets) and disconnects (which
// leaves the group); the second, a new consumer, must resume exactly at
// those commits and reads the rest. It writes the produced records, both
// runs and the commits after the first run for check.py (group mode),
// which judges.
'use strict'

const fs = require('fs')
const { Kafka, logLevel, Partitioners } = require('kafkajs')

const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'

// genRecords mirrors check.py's gen_records exactly.
function genRecords (n) {
  const out = []
  for (let i = 0; i < n; i++) {
    out.push({
      key: 'key-' + String(i % 100).padStart(3, '0'),
      value: String(i).padStart(6, '0') + ':' + letters.slice(0, i % 53),
      headers: { seq: String(i) }
    })
  }
  return out
}

function toRow (partition, message) {
  const headers = {}
  for (const [k, v] of Object.entries(message.headers || {})) headers[k] = v.toString()
  return {
    partition,
    offset: Number(message.offset),
    key: message.key === null ? null : message.key.toString(),
    value: message.value.toString(),
    headers
  }
}

// consume joins groupId with a new consumer, takes want records, commits
// the offset after the last one taken in each partition and disconnects.
// Messages delivered after the quota are neither taken nor committed.
async function consume (kafka, topic, groupId, want) {
  const rows = []
  const next = {}
  const consumer = kafka.consumer({ groupId })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`group ${groupId} consumed only ${rows.length} of ${want} records in 90s`)), 90000)
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (rows.length >= want) return
          rows.push(toRow(partition, message))
          next[partition] = (BigInt(message.offset) + 1n).toString()
          if (rows.length >= want) {
            clearTimeout(timer)
            resolve()
          }
        }
      }).catch(reject)
    })
    await consumer.commitOffsets(Object.entries(next).map(([partition, offset]) => ({ topic, partition: Number(partition), offset })))
  } finally {
    await consumer.disconnect()
  }
  return rows
}

async function main () {
  const [bootstrap, topic, nArg, workdir] = process.argv.slice(2)
  const n = Number(nArg)
  console.log(`kafkajs ${require('kafkajs/package.json').version}, node ${process.version}`)
  const kafka = new Kafka({ clientId: 'compat-kafkajs-group', brokers: [bootstrap], logLevel: logLevel.WARN, retry: { retries: 8 } })

  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true, timeout: 30000 })

  const records = genRecords(n)
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  for (let i = 0; i < records.length; i += 500) {
    await producer.send({ topic, acks: -1, messages: records.slice(i, i + 500) })
  }
  await producer.disconnect()
  const produced = records.map(r => ({ key: r.key, value: r.value, partition: null, offset: null }))

  const groupId = `compat-kafkajs-group-${topic}`
  const run1 = await consume(kafka, topic, groupId, Math.floor(n / 3))
  const fetched = await admin.fetchOffsets({ groupId, topics: [topic] })
  const committed = {}
  for (const t of fetched) {
    for (const p of t.partitions) {
      if (Number(p.offset) >= 0) committed[String(p.partition)] = Number(p.offset)
    }
  }
  await admin.disconnect()
  const run2 = await consume(kafka, topic, groupId, n - run1.length)

  const lines = rows => rows.map(r => JSON.stringify(r) + '\n').join('')
  fs.writeFileSync(`${workdir}/kafkajs-group.produced.jsonl`, lines(produced))
  fs.writeFileSync(`${workdir}/kafkajs-group.run1.jsonl`, lines(run1))
  fs.writeFileSync(`${workdir}/kafkajs-group.run2.jsonl`, lines(run2))
  fs.writeFileSync(`${workdir}/kafkajs-group.committed.json`, JSON.stringify(committed))
}

main().then(() => process.exit(0), err => {
  console.error('kafkajs group:', err && err.stack ? err.stack : err)
  process.exit(1)
})
