/** Whether connecting again can help after the server closed with, or refused with, a code. */

const TERMINAL = new Set(['bad_room', 'bad_request', 'unauthorized', 'forbidden', 'bad_origin', 'not_found', 'too_many_errors', 'flooding', 'binary_unsupported', 'too_large'])

/**
 * `terminal` when trying again the same way cannot help (a bad room, a refused token, a client closed for
 * misbehaving); else `reconnect`. A code this client does not know goes by the HTTP `status` of a refusal
 * (4xx but 408 and 429: terminal), and otherwise reconnects.
 */
export function retryOf(code: string, status?: number): 'reconnect' | 'terminal' {
  if (TERMINAL.has(code)) return 'terminal'
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return 'terminal'
  return 'reconnect'
}
