/** Every environment variable roomcast reads, and a check for set variables that look like one but are not. */
import { envNames } from './config.ts'

/** Variables read outside `Config`: listening (readListen), access (access-config.ts), Redis (adapters/redis). */
export const otherEnvNames = [
  'PORT',
  'HOST',
  'ALLOWED_ORIGINS',
  'AUTH_SECRET',
  'AUTH_JWKS_URL',
  'AUTH_PUBLIC_KEY',
  'PUBLISH_KEY',
  'REDIS_URL',
  'REDIS_PREFIX',
  'PRESENCE_HEARTBEAT_MS',
] as const

/** Variables that share rooms across instances. A runtime that cannot do that yet refuses them (Bun). */
export const scaleOutEnvNames = ['REDIS_URL', 'REDIS_CLUSTER_NODES'] as const

/** Every variable name roomcast knows. */
export const knownEnvNames: ReadonlySet<string> = new Set<string>([...Object.values(envNames), ...otherEnvNames, ...scaleOutEnvNames])

/**
 * One warning line for each set variable that is not roomcast's but is within a typo of one (`RATE_LIMT`,
 * `rate_limit`): one edit for names under 8 characters, two for longer ones, so `HOME` is not taken for `HOST`.
 */
export function lookalikeWarnings(env: Record<string, string | undefined>): string[] {
  const out: string[] = []
  for (const name of Object.keys(env)) {
    if (knownEnvNames.has(name)) continue
    const upper = name.toUpperCase()
    let best: string | undefined
    let bestDistance = Infinity
    for (const known of knownEnvNames) {
      const d = editDistance(upper, known, 2)
      if (d <= (known.length < 8 ? 1 : 2) && d < bestDistance) {
        best = known
        bestDistance = d
      }
    }
    if (best !== undefined) out.push(`roomcast: warning: ${name} is not a roomcast variable and is ignored; did you mean ${best}?`)
  }
  return out
}

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`; any answer past `max` is `max + 1`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1
  // Rows of the optimal-string-alignment table: two back (for swaps), previous, current. A cell outside it is unreachable.
  const cell = (row: readonly number[], j: number) => row[j] ?? Number.POSITIVE_INFINITY
  let before: number[] = []
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(cell(prev, j) + 1, cell(row, j - 1) + 1, cell(prev, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, cell(before, j - 2) + 1)
      row.push(d)
    }
    if (Math.min(...row) > max) return max + 1
    before = prev
    prev = row
  }
  return Math.min(cell(prev, b.length), max + 1)
}
