/**
 * Start-up on every long-running runtime, exactly as a user starts it: a problem an operator can fix is
 * one line naming it and exit 1, never a stack trace; a variable that looks like roomcast's is warned about.
 */
import { spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at } from '../support/present.ts'
import { spawnServer } from '../support/server.ts'

interface Runtime {
  name: string
  cmd: string
  args: string[]
}

const runtimes: Runtime[] = [
  { name: 'node', cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'] },
  { name: 'deno', cmd: 'node_modules/.bin/deno', args: ['task', 'start'] },
  { name: 'bun', cmd: 'node_modules/.bin/bun', args: ['run', 'adapters/bun/server.ts'] },
]

/** Run until the process exits (killed after `timeoutMs`, within the test's timeout); its exit code and output lines, less deno task's echo of the command. */
function runToExit(rt: Runtime, env: Record<string, string>, timeoutMs = 15_000): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve) => {
    // Its own group, so a wrapper (deno task) and its child go together when the time is up.
    const proc = spawn(rt.cmd, rt.args, {
      env: { ...process.env, NO_COLOR: '1', HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let out = ''
    proc.stdout.on('data', (d: Buffer) => (out += d))
    proc.stderr.on('data', (d: Buffer) => (out += d))
    const timer = setTimeout(() => proc.pid !== undefined && process.kill(-proc.pid, 'SIGKILL'), timeoutMs)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      const lines = out.split('\n').filter((l) => l.trim() !== '' && !/^Task start /.test(l))
      resolve({ code, lines })
    })
  })
}

let busy: net.Server
let busyPort: number
beforeAll(async () => {
  busy = net.createServer()
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
  busyPort = (busy.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((r) => busy.close(() => r())))

describe.each(runtimes)('start-up on $name', (rt) => {
  // Functions: the busy port is known only once beforeAll has run.
  const failures: [string, () => Record<string, string>, () => string][] = [
    ['a bad setting', () => ({ MAX_FRAME_BYTES: 'abc' }), () => 'roomcast: cannot start: MAX_FRAME_BYTES=abc must be a positive integer'],
    ['a port in use', () => ({ PORT: String(busyPort) }), () => `roomcast: cannot listen on HOST=127.0.0.1 PORT=${busyPort}: the port is already in use`],
    [
      'a HOST that does not resolve',
      () => ({ HOST: 'nonexistent.invalid' }),
      () => 'roomcast: cannot listen on HOST=nonexistent.invalid PORT=0: HOST does not resolve to an address',
    ],
  ]
  it.each(failures)('exits 1 with one line for %s', async (_what, env, line) => {
    const { code, lines } = await runToExit(rt, env())
    expect(lines).toEqual([line()])
    expect(code).toBe(1)
  })

  it("warns about a variable that looks like one of roomcast's, naming the likely one, and starts", async () => {
    const server = await spawnServer({ cmd: rt.cmd, args: rt.args, env: { RATE_LIMT: '5' }, timeoutMs: 60_000 })
    try {
      expect(server.output()).toContain('roomcast: warning: RATE_LIMT is not a roomcast variable and is ignored; did you mean RATE_LIMIT?')
    } finally {
      await server.stop()
    }
  })
})

describe('start-up on bun with scale-out settings', () => {
  // Bun does not join the Redis scale-out yet: serving rooms private to one process would look shared and not be.
  it.each(['REDIS_URL', 'REDIS_CLUSTER_NODES'])('exits 1 with one line when %s is set', async (name) => {
    const { code, lines } = await runToExit(at(runtimes, 2), { [name]: name === 'REDIS_URL' ? 'redis://127.0.0.1:6379' : '127.0.0.1:7000' })
    expect(lines).toEqual([`roomcast: cannot start: ${name} is set, but this runtime cannot share rooms across instances yet; unset it, or run Node or Deno`])
    expect(code).toBe(1)
  })
})
