// Compatibility check with KafkaJS (pinned in package.json).
//
// Usage: node compat.js BOOTSTRAP TOPIC N WORKDIR
//
// Creates TOPIC with 3 partitions through the admin client, produces N keyed
// records (acks=-1, in batches of 500) and reads them back with a consumer
// group (KafkaJS has no group-less consumer) from the beginning, then writes
// what it produced and consumed as JSON lines for check.py, which judges.
'use strict'

const fs = require('fs')
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')

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

async function main () {
  const [bootstrap, topic, nArg, workdir] = process.argv.slice(2)
  const n = Number(nArg)
  const version = require('kafkajs/package.json').version
  console.log(`kafkajs ${version}, node ${process.version}`)
  const kafka = new Kafka({
    clientId: 'compat-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 8 }
  })

  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
    timeout: 30000
  })
  await admin.disconnect()

  const records = genRecords(n)
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  for (let i = 0; i < records.length; i += 500) {
    await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.None,
      messages: records.slice(i, i + 500)
    })
  }
  await producer.disconnect()
  const produced = records.map(r => ({ key: r.key, value: r.value, partition: null, offset: null }))

  const consumed = []
  const consumer = kafka.consumer({ groupId: `compat-kafkajs-${topic}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${consumed.length} of ${n} records in 60s`)), 60000)
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = {}
        for (const [k, v] of Object.entries(message.headers || {})) headers[k] = v.toString()
        consumed.push({
          partition,
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString(),
          value: message.value.toString(),
          headers
        })
        if (consumed.length >= n) {
          clearTimeout(timer)
          resolve()
        }
      }
    }).catch(reject)
  })
  await consumer.disconnect()

  const lines = rows => rows.map(r => JSON.stringify(r) + '\n').join('')
  fs.writeFileSync(`${workdir}/kafkajs.produced.jsonl`, lines(produced))
  fs.writeFileSync(`${workdir}/kafkajs.consumed.jsonl`, lines(consumed))
}

main().then(() => process.exit(0), err => {
  console.error('kafkajs:', err && err.stack ? err.stack : err)
  process.exit(1)
})
