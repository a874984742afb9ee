/** HOOK_SECRET signatures: HMAC-SHA256 of "<timestamp>.<body>", checked against a replayed or altered request. */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { hmacKey, signBody, verifySignature } from '../../src/index.ts'

describe('HTTP hook signatures', () => {
  it('are the hex HMAC-SHA256 of "<timestamp>.<body>", as any language computes it', async () => {
    const key = await hmacKey('secret')
    const sig = await signBody(key, '1700000000', '{"event":"message"}')
    expect(sig).toBe(`sha256=${createHmac('sha256', 'secret').update('1700000000.{"event":"message"}').digest('hex')}`)
    expect(await verifySignature(key, '1700000000', '{"event":"message"}', sig, 1700000010)).toBe(true)
  })

  it('do not verify for another body, another timestamp, another key, or a timestamp past the tolerance', async () => {
    const key = await hmacKey('secret')
    const sig = await signBody(key, '1700000000', 'body')
    expect(await verifySignature(key, '1700000000', 'Body', sig, 1700000000)).toBe(false)
    expect(await verifySignature(key, '1700000001', 'body', sig, 1700000000)).toBe(false)
    expect(await verifySignature(await hmacKey('other'), '1700000000', 'body', sig, 1700000000)).toBe(false)
    expect(await verifySignature(key, '1700000000', 'body', sig, 1700000000 + 301)).toBe(false)
    expect(await verifySignature(key, '1700000000', 'body', 'sha256=zz', 1700000000)).toBe(false)
  })
})
