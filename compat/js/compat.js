// Compatibility check with KafkaJS (pinned in package.json).
//
// Usage: node compat.js BOOTSTRAP TOPIC N WORKDIR
//
// Creates TOPIC with 3 partitions through the admin client, produces N keyed
// records (acks=-1, in batches of 500) and reads them back from the
// beginning: with a consumer group when the broker has the group APIs, else
// with KafkaJS's own Fetch implementation (its consumer has no group-less
// mode). It writes what it produced and consumed as JSON lines for
// check.py, which judges.
'use strict'

const fs = require('fs')
const { Kafka, logLevel, CompressionTypes, Partitioners } = require('kafkajs')

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
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner })
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

  // KafkaJS's consumer only works as a group member. Brokers without the
  // group APIs (JoinGroup) are read with KafkaJS's own cluster and Fetch
  // implementation instead, partition by partition from offset 0.
  const groups = await supportsGroups(kafka, topic)
  const consumed = groups ? await consumeWithGroup(kafka, topic, n) : await consumeWithFetch(kafka, topic, n)
  const mode = groups ? 'consumer group' : 'Fetch, no group APIs on the broker'
  console.log(`consumed with: ${mode}`)
  fs.writeFileSync(`${workdir}/kafkajs.mode`, mode)

  const lines = rows => rows.map(r => JSON.stringify(r) + '\n').join('')
  fs.writeFileSync(`${workdir}/kafkajs.produced.jsonl`, lines(produced))
  fs.writeFileSync(`${workdir}/kafkajs.consumed.jsonl`, lines(consumed))
}

// cluster returns a connected KafkaJS Cluster (the object its producer,
// consumer and admin are built on) that knows topic's partition leaders.
async function cluster (kafka, topic) {
  const create = Object.getOwnPropertySymbols(kafka).find(s => s.toString() === 'Symbol(private:Kafka:createCluster)')
  if (!create) throw new Error('this KafkaJS version has no createCluster; update compat.js')
  const c = kafka[create]({ allowAutoTopicCreation: false })
  await c.connect()
  await c.addTargetTopic(topic)
  await c.refreshMetadata()
  return c
}

// supportsGroups reports whether the leader of partition 0 advertises
// JoinGroup (API key 11) in its ApiVersions.
async function supportsGroups (kafka, topic) {
  const c = await cluster(kafka, topic)
  try {
    const [nodeId] = Object.keys(c.findLeaderForPartitions(topic, [0]))
    const broker = await c.findBroker({ nodeId })
    return Boolean(broker.versions && broker.versions[11])
  } finally {
    await c.disconnect()
  }
}

function toRecord (partition, message) {
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

async function consumeWithGroup (kafka, topic, n) {
  const consumed = []
  const consumer = kafka.consumer({ groupId: `compat-kafkajs-${topic}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed only ${consumed.length} of ${n} records in 60s`)), 60000)
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          consumed.push(toRecord(partition, message))
          if (consumed.length >= n) {
            clearTimeout(timer)
            resolve()
          }
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return consumed
}

async function consumeWithFetch (kafka, topic, n) {
  const c = await cluster(kafka, topic)
  const consumed = []
  try {
    const leaders = c.findLeaderForPartitions(topic, [0, 1, 2])
    const next = { 0: 0n, 1: 0n, 2: 0n }
    const deadline = Date.now() + 60000
    while (consumed.length < n) {
      if (Date.now() > deadline) throw new Error(`fetched only ${consumed.length} of ${n} records in 60s`)
      for (const [nodeId, partitions] of Object.entries(leaders)) {
        const broker = await c.findBroker({ nodeId })
        const resp = await broker.fetch({
          isolationLevel: 1,
          maxWaitTime: 500,
          minBytes: 1,
          maxBytes: 10 << 20,
          topics: [{ topic, partitions: partitions.map(p => ({ partition: p, fetchOffset: String(next[p]), maxBytes: 1 << 20 })) }]
        })
        for (const t of resp.responses) {
          for (const p of t.partitions) {
            if (p.errorCode) throw new Error(`fetch ${topic}[${p.partition}]: error code ${p.errorCode}`)
            for (const m of p.messages) {
              const off = BigInt(m.offset)
              if (off < next[p.partition]) continue // a batch starts before the fetch offset
              consumed.push(toRecord(p.partition, m))
              next[p.partition] = off + 1n
            }
          }
        }
      }
    }
  } finally {
    await c.disconnect()
  }
  return consumed
}

main().then(() => process.exit(0), err => {
  console.error('kafkajs:', err && err.stack ? err.stack : err)
  process.exit(1)
})
