/**
 * The checks at the door, made before an upgrade or a publish costs anything:
 * upgrades per client address, the browser's Origin, and credentials.
 */
import type { Clock } from '../config/clock.ts'
import { realClock } from '../config/clock.ts'
import type { Config } from '../config/config.ts'
import type { Grant, Verifier } from './credentials.ts'
import { createVerifier, grantsRoom } from './credentials.ts'
import type { Refusal } from '../wire/refusals.ts'
import { refusal } from '../wire/refusals.ts'

/** Let in: with the token's grant when one was required. */
export interface Admitted {
  grant?: Grant
}

/** What a credential must allow. */
export type Right = 'join' | 'read' | 'publish'

/** The door of one app instance. */
export class Door {
  private readonly verify: Verifier | null
  private readonly origins: Set<string> | null
  private readonly publishKey: string | undefined
  /** Upgrades per address in the current one-second window; cleared when the window turns, so it stays small. */
  private readonly upgrades = new Map<string, number>()
  private window = -1

  constructor(
    private readonly config: Config,
    private readonly clock: Clock = realClock,
    verify: Verifier | null = createVerifier(config.access),
  ) {
    this.verify = verify
    this.origins = config.access.allowedOrigins.length > 0 ? new Set(config.access.allowedOrigins) : null
    this.publishKey = config.access.publishKey
  }

  /** Whether tokens are required on upgrades. */
  get requiresToken(): boolean {
    return this.verify !== null
  }

  /** Count an upgrade from `ip`; past `maxUpgradesPerIp` in this second, a 429. Unknown addresses are not counted. */
  throttle(ip: string | undefined): Refusal | null {
    if (ip === undefined || ip === '') return null
    const now = this.clock.now()
    const window = Math.floor(now / 1000)
    if (window !== this.window) {
      this.window = window
      this.upgrades.clear()
    }
    const n = (this.upgrades.get(ip) ?? 0) + 1
    this.upgrades.set(ip, n)
    if (n <= this.config.maxUpgradesPerIp) return null
    return refusal('rate_limited', `more than ${this.config.maxUpgradesPerIp} upgrades per second from this address`)
  }

  /**
   * A browser's `Origin` must be listed in ALLOWED_ORIGINS when that is set.
   * Requests without one (non-browser clients, which can claim any origin anyway) pass.
   */
  checkOrigin(origin: string | undefined): Refusal | null {
    if (this.origins === null || origin === undefined || this.origins.has(origin)) return null
    return refusal('bad_origin')
  }

  /**
   * Check a WebSocket client's token for `room`. A token that does not grant
   * the room gets the same 403 whether or not the room has ever existed.
   */
  async join(token: string | undefined, room: string): Promise<Refusal | Admitted> {
    if (this.verify === null) return {}
    if (token === undefined) return unauthorized('a token is required: ?token=<jwt>, or a second subprotocol entry after roomcast.v1')
    return this.grant(this.verify, token, room)
  }

  /**
   * Check an HTTP caller's bearer credential for `right` on `room`: the
   * publish key, or (when tokens are configured) a token granting the room,
   * with `pub` to publish. Open when neither PUBLISH_KEY nor a token key is set.
   */
  async http(credential: string | undefined, room: string, right: Exclude<Right, 'join'>): Promise<Refusal | Admitted> {
    if (this.publishKey === undefined && this.verify === null) return {}
    if (right === 'read' && this.verify === null) return {}
    if (credential === undefined) return unauthorized('send Authorization: Bearer <key or token>')
    if (this.publishKey !== undefined && safeEqual(credential, this.publishKey)) return {}
    if (this.verify === null) return unauthorized('wrong publish key')
    const admitted = await this.grant(this.verify, credential, room)
    if (!isRefusal(admitted) && right === 'publish' && !admitted.grant?.pub) return forbidden('this token may not publish')
    return admitted
  }

  /** Verify `token` and check that it grants `room`: the same answers for a WebSocket and an HTTP caller. */
  private async grant(verify: Verifier, token: string, room: string): Promise<Refusal | Admitted> {
    const v = await verify(token)
    if (!v.ok) return v.status === 401 ? unauthorized(v.message) : unavailable(v.message)
    if (!grantsRoom(v.grant, room)) return forbidden('this token does not grant this room')
    return { grant: v.grant }
  }
}

/** Whether a door check refused. */
export function isRefusal(r: Refusal | Admitted | null): r is Refusal {
  return r !== null && 'status' in r
}

const unauthorized = (message: string): Refusal => refusal('unauthorized', message)
const forbidden = (message: string): Refusal => refusal('forbidden', message)
const unavailable = (message: string): Refusal => refusal('unavailable', message)

/** Compare secrets in time that does not depend on where they first differ. */
export function safeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length
  for (let i = 0; i < b.length; i++) diff |= (a.charCodeAt(i % (a.length || 1)) || 0) ^ b.charCodeAt(i)
  return diff === 0
}
