/**
 * Whether publishers hear their acks in seq order: ROUNDS rounds of PUBLISHERS
 * json members publishing EACH messages with ids, interleaved, against one
 * server of RUNTIME (node, deno or bun), counting acks that came after a
 * message with a higher seq (test/support/ack-order.ts, the conformance
 * scenario's own measure).
 *
 *   RUNTIME=deno npm run bench:ack-order
 *   RUNTIME=deno SERVER_DIR=/path/to/other/checkout npm run bench:ack-order
 */

import { existsSync } from 'node:fs'
import { ackOrder } from '../test/support/ack-order.ts'
import { spawnServer } from '../test/support/server.ts'

const SERVER_DIR = process.env.SERVER_DIR ?? process.cwd()

/** The Node server's entry in `dir`: adapters/node/server.ts, or adapters/node.ts in a checkout from before adapters became folders. */
const nodeEntry = (dir: string) => (existsSync(`${dir}/adapters/node/server.ts`) ? 'adapters/node/server.ts' : 'adapters/node.ts')
const RUNTIME = process.env.RUNTIME ?? 'deno'
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const PUBLISHERS = Number(process.env.PUBLISHERS ?? 4)
const EACH = Number(process.env.EACH ?? 20)

const bin = (name: string) => `${process.cwd()}/node_modules/.bin/${name}`
const commands: Record<string, { cmd: string; args: string[] }> = {
  node: { cmd: process.execPath, args: ['--import', 'tsx', nodeEntry(SERVER_DIR)] },
  deno: { cmd: bin('deno'), args: ['run', '--allow-net', '--allow-env', '--allow-read', 'adapters/deno.ts'] },
  bun: { cmd: bin('bun'), args: ['run', 'adapters/bun.ts'] },
}

async function main(): Promise<void> {
  const command = commands[RUNTIME]
  if (command === undefined) throw new Error(`RUNTIME=${RUNTIME}: one of ${Object.keys(commands).join(', ')}`)
  const server = await spawnServer({ ...command, cwd: SERVER_DIR, env: { MAX_UPGRADES_PER_IP: '1000' }, timeoutMs: 60_000 })
  try {
    console.log(`server: ${RUNTIME} from ${SERVER_DIR}; ${ROUNDS} rounds of ${PUBLISHERS} publishers x ${EACH} publishes, interleaved`)
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await ackOrder(`${server.ws}/rooms/acks-${round}-${Date.now()}`, PUBLISHERS, EACH)
      console.log(`round ${round}: ${r.late} of ${r.acks} acks after a later message (${r.messages} messages heard)`)
    }
  } finally {
    await server.stop()
  }
}

await main()
