/**
 * `REDIS_CLUSTER_NODES` and `REDIS_CLUSTER_REPLICA_WAIT_MS` read into
 * ClusterSettings. A node is `host:port` (`[v6]:port` for IPv6) or a URL,
 * `redis://[user:password@]host:port` or `rediss://` for TLS; every URL must
 * carry the same credentials and scheme, since one client reaches all nodes.
 */
import { ConfigError } from '../../src/index.ts'
import type { ClusterSettings } from './cluster.ts'

/** Default of REDIS_CLUSTER_REPLICA_WAIT_MS: how long an ack waits for a replica to hold the publish. */
export const REPLICA_WAIT_MS = 500

const NAME = 'REDIS_CLUSTER_NODES'

/** Parse one `host:port` (or `[v6]:port`); null if it is not one. */
function hostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/@[\]]+)):(\d{1,5})$/.exec(text)
  if (m === null) return null
  const port = Number(m[3])
  if (port < 1 || port > 65535) return null
  return { host: (m[1] ?? m[2]) as string, port }
}

/** The cluster settings from `env`, or undefined when REDIS_CLUSTER_NODES is unset. Bad values throw ConfigError naming the variable. */
export function clusterFromEnv(env: Record<string, string | undefined>): ClusterSettings | undefined {
  const raw = env[NAME]
  if (raw === undefined || raw.trim() === '') return undefined
  const settings: ClusterSettings = { nodes: [], replicaWaitMs: replicaWait(env) }
  let scheme: string | undefined
  let credentials: { user: string; password: string } | undefined
  for (const part of raw.split(',')) {
    const entry = part.trim()
    if (entry === '') continue
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
      let url: URL
      try {
        url = new URL(entry)
      } catch {
        throw new ConfigError(`${NAME}: ${entry} is not a valid URL`)
      }
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError(`${NAME}: ${entry} must start with redis:// or rediss://`)
      if (url.pathname !== '' && url.pathname !== '/') throw new ConfigError(`${NAME}: ${entry} names a database; a cluster has only database 0`)
      const node = hostPort(`${url.hostname}:${url.port || '6379'}`)
      if (node === null) throw new ConfigError(`${NAME}: ${entry} has no usable host and port`)
      const who = { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
      if (scheme !== undefined && (scheme !== url.protocol || credentials?.user !== who.user || credentials.password !== who.password)) {
        throw new ConfigError(`${NAME}: every node must use the same scheme and credentials (one client reaches them all)`)
      }
      scheme = url.protocol
      credentials = who
      settings.nodes.push(node)
    } else {
      const node = hostPort(entry)
      if (node === null) throw new ConfigError(`${NAME}: ${entry} is not host:port (or redis://host:port)`)
      settings.nodes.push(node)
    }
  }
  if (settings.nodes.length === 0) throw new ConfigError(`${NAME}=${raw} lists no node; give host:port,host:port,...`)
  if (scheme === 'rediss:') settings.tls = true
  if (credentials?.user) settings.username = credentials.user
  if (credentials?.password) settings.password = credentials.password
  return settings
}

function replicaWait(env: Record<string, string | undefined>): number {
  const name = 'REDIS_CLUSTER_REPLICA_WAIT_MS'
  const raw = env[name]
  if (raw === undefined || raw === '') return REPLICA_WAIT_MS
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`${name}=${raw} must be 0 (do not wait) or a positive integer of milliseconds`)
  return n
}
