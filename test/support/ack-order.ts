/** Json publishers publishing with ids in one interleaved burst, and how many of their acks came after a later message. */
import { connectJson } from './client.ts'

/** What the publishers heard. */
export interface AckOrder {
  /** Acks the publishers received. */
  acks: number
  /** Acks that arrived after a message with a higher seq (what must never happen). */
  late: number
  /** Messages the publishers received from one another. */
  messages: number
}

/**
 * Connect `publishers` json members to `url` (a room's ws URL), have each publish `each` messages with ids,
 * interleaved (one from each in turn, all sent at once), and wait (bounded) until every ack and message is in.
 */
export async function ackOrder(url: string, publishers = 4, each = 20, timeoutMs = 15_000): Promise<AckOrder> {
  const members = await Promise.all(Array.from({ length: publishers }, () => connectJson(url)))
  const heard = members.map(() => ({ acks: 0, late: 0, messages: 0, highest: 0 }))
  for (const [i, { client }] of members.entries()) {
    const h = heard[i] as (typeof heard)[number]
    client.ws.on('message', (data: Buffer) => {
      const f = JSON.parse(data.toString())
      if (f.type === 'message') {
        h.messages++
        h.highest = Math.max(h.highest, f.seq)
      } else if (f.type === 'ack') {
        h.acks++
        if (f.seq < h.highest) h.late++
      }
    })
  }
  for (let n = 0; n < each; n++) for (const [p, { client }] of members.entries()) client.send({ type: 'publish', data: `${p}:${n}`, id: `${p}-${n}` })
  const deadline = Date.now() + timeoutMs
  const done = () => heard.every((h) => h.acks === each && h.messages === (publishers - 1) * each)
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  await Promise.all(members.map((m) => m.client.close()))
  return heard.reduce((sum, h) => ({ acks: sum.acks + h.acks, late: sum.late + h.late, messages: sum.messages + h.messages }), {
    acks: 0,
    late: 0,
    messages: 0,
  })
}
