/**
 * The dashboard's refusals and closes by code, read from a metrics registry's
 * families (the Prometheus exposition's model: a name, and samples with
 * labels and a value), so the admin API needs nothing of the registry but
 * that shape: every refused upgrade, HTTP request and frame by its code, and
 * every server-initiated close by its code.
 */
import type { CodeCounts } from './admin.ts'

/** One metric family as a registry reads it at a scrape. */
export interface FamilyLike {
  name: string
  samples: readonly { labels?: Readonly<Record<string, string>>; value: number }[]
}

/** Families whose samples count refusals, and the label that carries the code. */
const REFUSALS: Record<string, string> = {
  roomcast_upgrades_total: 'result',
  roomcast_http_refusals_total: 'code',
  roomcast_frames_refused_total: 'code',
}
const CLOSES: Record<string, string> = { roomcast_closes_total: 'code' }

/** CodeCounts over `families` (for example `() => metrics.families()`), read when the dashboard asks. */
export function codeCountsFrom(families: () => Iterable<FamilyLike>): CodeCounts {
  return {
    refusals: () => sum(families(), REFUSALS),
    closes: () => sum(families(), CLOSES),
  }
}

function sum(families: Iterable<FamilyLike>, wanted: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const f of families) {
    const label = wanted[f.name]
    if (label === undefined) continue
    for (const s of f.samples) {
      const code = s.labels?.[label]
      // An accepted upgrade is not a refusal; a series that never moved says nothing.
      if (code === undefined || code === 'accepted' || s.value <= 0) continue
      out[code] = (out[code] ?? 0) + s.value
    }
  }
  return out
}
