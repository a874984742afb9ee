/** A real Redis for the scale-out tests: the shared one (fail, never skip, when it is missing) or one of our own. */

import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The Redis the tests share (`.ci/run` makes sure one answers). */
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'

/** A key prefix no other test run uses, so runs sharing one Redis never see each other's rooms. */
export function uniquePrefix(tag = 't'): string {
  return `rctest:${tag}:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`
}

/** Send PING over a plain socket; resolves on +PONG, rejects with the reason otherwise. */
export function ping(url: string, timeoutMs = 3000): Promise<void> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port || 6379), hostname)
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    const fail = (err: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    socket.once('error', fail)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (d) => {
      clearTimeout(timer)
      socket.end()
      if (d.toString().startsWith('+PONG')) resolve()
      else reject(new Error(`unexpected reply ${JSON.stringify(d.toString())}`))
    })
  })
}

/** Throw, with how to fix it, when the shared Redis does not answer: these tests must fail, not skip. */
export async function requireRedis(url = REDIS_URL): Promise<void> {
  try {
    await ping(url)
  } catch (err) {
    throw new Error(`Redis is required at ${url} for the scale-out tests (start one, or run .ci/run): ${(err as Error).message}`)
  }
}

/**
 * A free TCP port on 127.0.0.1 for a server a test starts later (bound and released). Drawn below the
 * kernel's ephemeral range (32768 and up here), which every `listen(0)` and outgoing connection of the
 * other tests draws from: a port from there could be taken between our check and our server's start.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (await bindable(port)) return port
  }
  throw new Error('no free port in 20000-31999 after 50 tries')
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** A redis-server this test owns, on its own port, stopped and started by its PID. */
export class OwnRedis {
  private proc: ChildProcess | undefined
  private readonly dir = mkdtempSync(join(tmpdir(), 'roomcast-redis-'))

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Start a redis-server on a free port. `persist`: an append-only file fsynced on every write, so a restart keeps the data. */
  static async start(persist: boolean): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort())
    r.persist = persist
    await r.restart()
    return r
  }

  private persist = false

  /** (Re)start the server on the same port and wait until it answers. */
  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir]
    if (this.persist) args.push('--appendonly', 'yes', '--appendfsync', 'always')
    else args.push('--appendonly', 'no')
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    let out = ''
    proc.stdout.on('data', (d) => (out += d))
    proc.stderr.on('data', (d) => (out += d))
    const spawnError = new Promise<never>((_, reject) => proc.once('error', (err) => reject(new Error(`redis-server did not start: ${err.message}`))))
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        await Promise.race([ping(this.url, 500), spawnError])
        return
      } catch (err) {
        if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not answer: ${(err as Error).message}\n${out}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }

  /** Stop the server by its PID with `signal` and wait until it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    // A paused server acts on no signal but SIGKILL until it runs again.
    if (signal !== 'SIGKILL') proc.kill('SIGCONT')
    proc.kill(signal)
    await exited
  }

  /** Freeze the server by its PID (SIGSTOP): its sockets stay open and nothing answers, as in a stall. */
  pause(): void {
    this.proc?.kill('SIGSTOP')
  }

  /** Let a paused server run again (SIGCONT): it reads and runs what piled up meanwhile. */
  resume(): void {
    this.proc?.kill('SIGCONT')
  }

  /** Stop the server and remove its files. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}
