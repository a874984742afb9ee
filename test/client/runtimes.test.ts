/** The client runs unchanged on Deno and Bun with their own WebSocket, against the real Node server. */
import { execFile } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueRoom } from '../support/client.ts'
import { at } from '../support/present.ts'
import type { ServerHandle } from '../support/server.ts'
import { startNode } from './harness.ts'

const SCRIPT = 'test/client/runtime-smoke.ts'
const RUNTIMES: Record<string, (url: string, room: string) => [string, ...string[]]> = {
  deno: (url, room) => ['node_modules/.bin/deno', 'run', '--allow-net', '--no-prompt', SCRIPT, url, room],
  bun: (url, room) => ['node_modules/.bin/bun', 'run', SCRIPT, url, room],
}

/** Run a command; resolves with its stdout, rejects with its output when it fails. */
function run([cmd, ...args]: [string, ...string[]]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    ),
  )
}

describe('client on other runtimes', () => {
  let server: ServerHandle
  beforeAll(async () => {
    server = await startNode()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it.each(Object.entries(RUNTIMES))(
    'publishes and receives on %s with its native WebSocket',
    async (runtime, command) => {
      const out = await run(command(server.ws, uniqueRoom()))
      expect(JSON.parse(at(out.trim().split('\n'), -1))).toEqual({ runtime, seq: 1, data: { text: `from ${runtime}` }, state: 'closed' })
    },
    90_000,
  )
})
