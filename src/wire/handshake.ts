/** Whether a request is one the server can answer as asked: its Host, and its WebSocket handshake (RFC 6455 4.2.1). */

/** Why a request that asks for a WebSocket cannot have one. */
export interface BadHandshake {
  /** 426 for a WebSocket version other than 13 (RFC 6455 4.4), else 400. */
  status: 400 | 426
  message: string
}

/** The only WebSocket version there is (RFC 6455). */
export const WEBSOCKET_VERSION = '13'

// 16 bytes in base64.
const KEY = /^[A-Za-z0-9+/]{22}==$/
// A registered name (RFC 3986 3.2.2, less the code points a WHATWG URL forbids) or an IP literal, and an optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::\d{1,5})?$/

/** Whether a Host header value can name this server in a URL (RFC 9110 7.2). No Host (HTTP/1.0) is allowed. */
export function isValidHost(host: string | null | undefined): boolean {
  return host === null || host === undefined || HOST.test(host)
}

/** What is wrong with the headers of a request that asked for a WebSocket (`Upgrade: websocket`), or null. */
export function handshakeProblem(headers: Headers): BadHandshake | null {
  const connection = (headers.get('connection') ?? '').toLowerCase().split(',')
  if (!connection.some((token) => token.trim() === 'upgrade')) return { status: 400, message: 'a WebSocket upgrade needs "Connection: Upgrade"' }
  if (!KEY.test(headers.get('sec-websocket-key') ?? '')) return { status: 400, message: '"Sec-WebSocket-Key" must be 16 bytes in base64' }
  if (headers.get('sec-websocket-version') !== WEBSOCKET_VERSION) return { status: 426, message: `only WebSocket version ${WEBSOCKET_VERSION} is supported` }
  return null
}
