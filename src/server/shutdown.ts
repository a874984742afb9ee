/** Graceful shutdown, the same on every long-running runtime (Node, Deno, Bun). */
import type { Hub } from './hub.ts'

/** What a runtime's server lets shutdown do. */
export interface ShutdownHooks {
  /** Stop taking new connections, where the runtime can without closing the open ones. */
  stopAccepting?(): void
  /** How many WebSockets are still open (their close handshakes not yet done). */
  openSockets(): number
  /** After the sockets are gone or the grace period is over: release the server and backends. */
  finish?(): Promise<unknown>
  /** End the process with this code. */
  exit(code: number): void
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A signal handler: stop accepting, close every member with 1001 `shutting_down`, wait for
 * their close handshakes (at most `graceMs`, whatever the clients do), then exit 0. Later calls
 * (a second signal) do nothing.
 */
export function gracefulShutdown(hub: Hub, hooks: ShutdownHooks, graceMs = 2000): (signal: string) => Promise<void> {
  let stopping = false
  return async (signal) => {
    if (stopping) return
    stopping = true
    console.log(`roomcast: ${signal}, closing connections`)
    hooks.stopAccepting?.()
    hub.closeAll('shutting_down')
    const deadline = Date.now() + graceMs
    while (hooks.openSockets() > 0 && Date.now() < deadline) await sleep(25)
    try {
      // finish() must not hold the exit past the deadline (a backend that does not answer).
      await Promise.race([hooks.finish?.(), sleep(Math.max(0, deadline - Date.now()) + 500)])
    } catch (err) {
      console.error('roomcast: during shutdown:', err)
    }
    hooks.exit(0)
  }
}
