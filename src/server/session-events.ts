/** The socket handlers of one protocol v2 upgrade (Node, Deno, Bun), as methods for the reasons hub-gateway.ts gives. */
import type { WSContext } from 'hono/ws'
import type { Clock } from '../config/clock.ts'
import type { Connection } from '../room/connection.ts'
import type { SessionGrant, SessionOptions, SessionRooms } from './session.ts'
import { Session } from './session.ts'

/** One v2 upgrade's handlers: a Session once the socket opens. */
export class SessionEvents {
  private session: Session | null = null
  readonly onError: () => void

  constructor(
    private readonly rooms: SessionRooms,
    private readonly grant: SessionGrant | undefined,
    /** The adapter's socket wrapper (hub-gateway.ts's WrapSocket). */
    private readonly wrap: (ws: WSContext, alive: () => void) => Connection,
    private readonly clock: Clock,
    /** The `?client=` key of the upgrade: the session's publish ids are deduplicated under it (without a `sub`). */
    private readonly client?: string,
    /** The application's `authorize` hook (asked per room by the session), the client's address; on a room's URL, that room (session.ts). */
    private readonly options?: SessionOptions,
  ) {
    this.onError = this.onClose.bind(this)
  }

  onOpen(_evt: Event, ws: WSContext): void {
    this.session = new Session(this.rooms, this.wrap(ws, this.alive.bind(this)), this.grant, this.clock, undefined, this.client, this.options)
    this.session.open()
  }

  onMessage(evt: MessageEvent): void {
    this.session?.receive(evt.data)
  }

  onClose(evt?: unknown): void {
    this.session?.socketClosed(evt)
  }

  private alive(): void {
    this.session?.touch()
  }
}
