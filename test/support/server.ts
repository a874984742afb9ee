/** Start a real server process on an ephemeral port and stop it by its PID. */

import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'

export interface ServerHandle {
  /** http://127.0.0.1:PORT */
  http: string
  /** ws://127.0.0.1:PORT */
  ws: string
  port: number
  proc: ChildProcess
  /** Everything the process printed so far. */
  output(): string
  /** Send `signal` and wait for exit; resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
}

export interface SpawnOptions {
  cmd: string
  args: string[]
  env?: Record<string, string>
  cwd?: string
  /** How long to wait for the "listening on http://HOST:PORT" line. */
  timeoutMs?: number
  /** Pattern whose first group is the port; default: roomcast's "listening on http://host:PORT". */
  ready?: RegExp
}

const READY = /listening on https?:\/\/[^:\s]+:(\d+)/

/** Spawn a server and resolve once it prints its port. Rejects with its output if it exits or times out. */
export function spawnServer(opts: SpawnOptions): Promise<ServerHandle> {
  const proc = spawn(opts.cmd, opts.args, {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a wrapper such as `deno task` runs the server as a child, which SIGKILL on the
    // wrapper alone would leave running.
    detached: true,
  })
  /** Signal the server: SIGKILL goes to the whole group (it cannot be forwarded), other signals to the process, which forwards them. */
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (sig === 'SIGKILL' && proc.pid !== undefined) process.kill(-proc.pid, sig)
      else proc.kill(sig)
    } catch {
      // Already gone.
    }
  }
  let out = ''
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal('SIGKILL')
      reject(new Error(`server did not start within ${opts.timeoutMs ?? 20000} ms: ${opts.cmd} ${opts.args.join(' ')}\n${out}`))
    }, opts.timeoutMs ?? 20000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const m = (opts.ready ?? READY).exec(out)
      if (m && timer) {
        clearTimeout(timer)
        const port = Number(m[1])
        resolve({
          http: `http://127.0.0.1:${port}`,
          ws: `ws://127.0.0.1:${port}`,
          port,
          proc,
          output: () => out,
          stop: async (sig = 'SIGTERM', timeoutMs = 10000) => {
            if (proc.exitCode !== null || proc.signalCode !== null) {
              signal('SIGKILL')
              return proc.exitCode
            }
            signal(sig)
            const t = setTimeout(() => signal('SIGKILL'), timeoutMs)
            const code = await exited
            clearTimeout(t)
            // Whatever the wrapper left behind in its group goes too.
            signal('SIGKILL')
            return code
          },
        })
      }
    }
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onData)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before it was ready: ${opts.cmd} ${opts.args.join(' ')}\n${out}`))
    })
    // A binary that cannot start at all (missing, not executable) fails the test with the reason.
    proc.once('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`cannot start ${opts.cmd} ${opts.args.join(' ')}: ${err.message}`))
    })
  })
}
