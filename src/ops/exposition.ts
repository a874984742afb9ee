/**
 * Metric instruments and the Prometheus text exposition format (0.0.4), in
 * web-standard code only: prom-client is Node-only, and this must run on
 * Node, Deno, Bun and Workers alike. Counters and histograms are plain
 * numbers to add to; gauges are read when scraped.
 */

/** The three metric types roomcast exposes. */
export type MetricType = 'counter' | 'gauge' | 'histogram'

/** One line of a family: a name suffix (a histogram's `_bucket`, `_sum`, `_count`), its labels and its value. */
export interface Sample {
  suffix?: string
  labels?: Readonly<Record<string, string>>
  value: number
}

/** A metric family as read at one scrape. */
export interface Family {
  name: string
  help: string
  type: MetricType
  samples: Sample[]
}

/** Something the registry reads at scrape time. */
export interface Instrument {
  readonly name: string
  family(): Family
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function checkNames(name: string, label: string | undefined): void {
  if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${name}`)
  if (label !== undefined && (!LABEL_NAME.test(label) || label.startsWith('__') || label === 'le')) throw new Error(`bad label name ${label}`)
}

/** A counter, unlabelled (`inc`) or with one label (`add`); the label's expected values are listed up front so their series exist at 0. */
export class Counter implements Instrument {
  /** The unlabelled count: hot paths add to it directly. */
  value = 0
  private readonly byLabel: Map<string, number> | undefined

  constructor(
    readonly name: string,
    readonly help: string,
    readonly label?: string,
    known: readonly string[] = [],
  ) {
    checkNames(name, label)
    if (label !== undefined) this.byLabel = new Map(known.map((v) => [v, 0]))
  }

  /** Add `n` to the unlabelled count. */
  inc(n = 1): void {
    this.value += n
  }

  /** Add `n` to the series whose label is `labelValue`. */
  add(labelValue: string, n = 1): void {
    const m = this.byLabel as Map<string, number>
    m.set(labelValue, (m.get(labelValue) ?? 0) + n)
  }

  /** The count (of `labelValue`'s series, for a labelled counter). */
  get(labelValue?: string): number {
    return labelValue === undefined || this.byLabel === undefined ? this.value : (this.byLabel.get(labelValue) ?? 0)
  }

  family(): Family {
    const samples: Sample[] =
      this.byLabel === undefined ? [{ value: this.value }] : [...this.byLabel].map(([v, value]) => ({ labels: { [this.label as string]: v }, value }))
    return { name: this.name, help: this.help, type: 'counter', samples }
  }
}

/** What a gauge reads: one value, or one value per label value. */
export type GaugeReading = number | readonly (readonly [string, number])[]

/** A gauge read when scraped, so nothing maintains it in between. */
export class Gauge implements Instrument {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => GaugeReading | undefined,
    readonly label?: string,
  ) {
    checkNames(name, label)
  }

  family(): Family {
    const r = this.read()
    let samples: Sample[] = []
    if (typeof r === 'number') samples = [{ value: r }]
    else if (r !== undefined) samples = r.map(([v, value]) => ({ labels: { [this.label as string]: v }, value }))
    return { name: this.name, help: this.help, type: 'gauge', samples }
  }
}

/** One histogram's counts: per bucket (not cumulative; the writer sums them), sum and count. */
class Buckets {
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  observe(v: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && v > (b[i] as number)) i++
    ;(this.counts as number[])[i] = (this.counts[i] as number) + 1
    this.sum += v
    this.count++
  }
}

/** A histogram with fixed upper bounds (seconds, say), unlabelled (`observe`) or with one label (`observeFor`). */
export class Histogram implements Instrument {
  private readonly bounds: readonly number[]
  private readonly single: Buckets | undefined
  private readonly byLabel: Map<string, Buckets> | undefined

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
    readonly label?: string,
  ) {
    checkNames(name, label)
    this.bounds = [...bounds].sort((a, b) => a - b)
    if (label === undefined) this.single = new Buckets(this.bounds)
    else this.byLabel = new Map()
  }

  /** Count one observation of the unlabelled histogram. */
  observe(v: number): void {
    this.single?.observe(v)
  }

  /** Count one observation in the series whose label is `labelValue`. */
  observeFor(labelValue: string, v: number): void {
    const m = this.byLabel as Map<string, Buckets>
    let b = m.get(labelValue)
    if (b === undefined) {
      b = new Buckets(this.bounds)
      m.set(labelValue, b)
    }
    b.observe(v)
  }

  /** Observations so far (of `labelValue`'s series, for a labelled histogram). */
  count(labelValue?: string): number {
    return (labelValue === undefined ? this.single : this.byLabel?.get(labelValue))?.count ?? 0
  }

  family(): Family {
    const samples: Sample[] = []
    const emit = (b: Buckets, labels: Record<string, string>) => {
      let cumulative = 0
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += b.counts[i] as number
        const le = i < this.bounds.length ? formatValue(this.bounds[i] as number) : '+Inf'
        samples.push({ suffix: '_bucket', labels: { ...labels, le }, value: cumulative })
      }
      samples.push({ suffix: '_sum', labels, value: b.sum })
      samples.push({ suffix: '_count', labels, value: b.count })
    }
    if (this.single !== undefined) emit(this.single, {})
    else for (const [v, b] of this.byLabel ?? []) emit(b, { [this.label as string]: v })
    return { name: this.name, help: this.help, type: 'histogram', samples }
  }
}

/** The instruments of one server instance, in the order they are written. */
export class Registry {
  private readonly instruments: Instrument[] = []

  /** Register `i`; its name must be new. */
  add<T extends Instrument>(i: T): T {
    if (this.instruments.some((x) => x.name === i.name)) throw new Error(`metric ${i.name} registered twice`)
    this.instruments.push(i)
    return i
  }

  /** Every family as it is now (what the admin dashboard reads). */
  families(): Family[] {
    return this.instruments.map((i) => i.family())
  }

  /** The text exposition of every family. */
  render(): string {
    return writeExposition(this.families())
  }
}

/** The Content-Type of the text exposition format. */
export const EXPOSITION_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** A sample value as the format writes it: `+Inf`, `-Inf`, `NaN`, or a Go-parsable float. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

/** HELP text escapes backslash and newline. */
function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

/** Label values escape backslash, double quote and newline. */
export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function writeLabels(labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined) return ''
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k] as string)}"`).join(',')}}`
}

/** Families in the text exposition format: HELP and TYPE once per family, then its samples, one per line. */
export function writeExposition(families: readonly Family[]): string {
  let out = ''
  for (const f of families) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`
    for (const s of f.samples) out += `${f.name}${s.suffix ?? ''}${writeLabels(s.labels)} ${formatValue(s.value)}\n`
  }
  return out
}
