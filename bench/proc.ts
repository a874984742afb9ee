/** What the bench reads about a server process from /proc: CPU time (all threads) and resident memory. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100)

/** User + system CPU time of `pid` so far, in ms (clock-tick resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may itself contain spaces: utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * TICK_MS
}

/** Resident set size of `pid`, in KiB. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1])
}

/** The 1-minute load average, to say how busy the machine was. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
}

/** Median of `n` RSS samples `gapMs` apart, so one allocation spike does not decide the figure. */
export async function settledRssKiB(pid: number, n = 5, gapMs = 200): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    samples.push(rssKiB(pid))
    await new Promise((r) => setTimeout(r, gapMs))
  }
  const median = samples.sort((a, b) => a - b)[Math.floor(n / 2)]
  if (median === undefined) throw new Error(`settledRssKiB needs at least one sample, got n=${n}`)
  return median
}
