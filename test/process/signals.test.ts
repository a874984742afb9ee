/**
 * `npm start` as a supervisor runs it: the signal goes to npm's process, and must reach the server, which
 * closes every client with 1001 and exits 0, leaving no process of its group behind.
 */
import { describe, expect, it } from 'vitest'
import { connect } from '../support/client.ts'
import { processesInGroup } from '../support/fds.ts'
import { present } from '../support/present.ts'
import { spawnServer } from '../support/server.ts'

describe('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s to npm closes every client with 1001 and exits 0, no server left running',
    async (signal) => {
      const server = await spawnServer({ cmd: 'npm', args: ['start'], timeoutMs: 60_000 })
      const group = present(server.proc.pid, 'the npm PID')
      try {
        const client = await connect(server.ws)
        // Bounded well inside the test's timeout, so the finally below always cleans up.
        const exited = new Promise<number | null | 'still running'>((resolve) => {
          server.proc.once('exit', (code) => resolve(code))
          setTimeout(() => resolve('still running'), 10_000)
        })
        // To npm alone, not its group: what `docker stop` or systemd's default KillMode=mixed does first.
        server.proc.kill(signal)
        expect(await exited).toBe(0)
        const closed = await Promise.race([client.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('client not closed')), 5000))])
        expect(closed.code).toBe(1001)
        expect(closed.reason).toMatch(/^shutting_down: /)
        // npm waits for the server: once npm is gone, so is everything it started.
        expect(processesInGroup(group)).toEqual([])
      } finally {
        await server.stop('SIGKILL')
      }
    },
    60_000,
  )
})
