/** ws's server socket, with the core's close reasons where ws closes by itself. */
import { WebSocket } from 'ws'
import { CloseCode, closeReason } from '../../src/index.ts'

const TOO_LARGE = closeReason('too_large')

/**
 * Pass as the WebSocketServer's `WebSocket` option. ws refuses a frame past `maxPayload` from its header,
 * before the payload is read, and closes with 1009 and no reason; the core's reason goes in its place.
 * Every other close, the core's included, keeps its reason.
 */
export class RoomcastWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    super.close(code, code === CloseCode.tooLarge && data === undefined ? TOO_LARGE : data)
  }
}
