/** The gateway for runtimes where one process holds its rooms in a Hub (Node, Deno, Bun). */
import type { Context } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import type { Connection, JoinRequest } from './connection.ts'
import type { EntryKind } from './entry.ts'
import { normaliseFrame } from './frames.ts'
import type { Hub } from './hub.ts'
import type { RoomGateway } from './gateway.ts'
import type { Member } from './room.ts'

/**
 * Turn Hono's WSContext into a core Connection. The adapter supplies it;
 * `alive` is to be called when the runtime sees a pong.
 */
export type WrapSocket = (ws: WSContext, alive: () => void) => Connection

/** A RoomGateway over a Hub, upgrading with the runtime's Hono `upgradeWebSocket`. */
export function hubGateway(hub: Hub, upgradeWebSocket: UpgradeWebSocket<any, any>, wrap: WrapSocket, upgradeOptions?: unknown): RoomGateway {
  return {
    connections: () => hub.connections,
    isFull(name) {
      return (hub.peek(name)?.size ?? 0) >= hub.config.maxRoomConnections
    },
    async upgrade(c: Context, name: string, join: JoinRequest) {
      const room = hub.room(name)
      // Answer the upgrade only once the room can give this member everything published after it opens.
      await room.ready()
      let member: Member | null = null
      return upgradeWebSocket(
        c,
        {
          onOpen: (_evt, ws) => {
            member = room.join(
              wrap(ws, () => member !== null && room.touch(member)),
              join,
            )
          },
          onMessage: (evt, ws) => {
            if (member === null) return
            const frame = normaliseFrame(evt.data)
            if (frame === null) ws.close(1003, 'unsupported message payload')
            else room.receive(member, frame)
          },
          onClose: () => {
            if (member !== null) room.leave(member)
          },
          onError: () => {
            if (member !== null) room.leave(member)
          },
        },
        upgradeOptions,
      )
    },
    stats: (name) => hub.stats(name),
    publish: (name: string, kind: EntryKind, body: string, from?: string) => hub.room(name).publish(kind, body, from),
  }
}
