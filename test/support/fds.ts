/** What a server process holds, read from /proc (Linux), for tests of resources that must be released. */
import { readFileSync, readdirSync } from 'node:fs'

/** How many file descriptors process `pid` has open. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** Poll until `pid` holds at most `limit` fds; resolves with the count and how long it took (or the last count at the deadline). */
export async function fdsDownTo(pid: number, limit: number, timeoutMs: number): Promise<{ fds: number; afterMs: number }> {
  const started = Date.now()
  for (;;) {
    const fds = openFds(pid)
    const afterMs = Date.now() - started
    if (fds <= limit || afterMs >= timeoutMs) return { fds, afterMs }
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** The PIDs of every live process in process group `pgid`. */
export function processesInGroup(pgid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // gone meanwhile
    }
    // Fields after the command (which may hold spaces), from its closing parenthesis: state, ppid, pgrp.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(entry))
  }
  return out
}
