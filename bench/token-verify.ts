/** How long verifying one HS256 token takes on this machine (`npm run bench:tokens`): the cost auth adds to each upgrade. */
import { SignJWT } from 'jose'
import { createVerifier } from '../src/access/credentials.ts'

const secret = 'bench-secret-'.padEnd(32, 'x')
const verify = createVerifier({ allowedOrigins: [], authSecret: secret })
if (verify === null) throw new Error('no verifier for an HS256 secret')
const token = await new SignJWT({ rooms: ['bench'], pub: true }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret))

const WARMUP = 500
const N = 5000
for (let i = 0; i < WARMUP; i++) await verify(token)
const started = performance.now()
for (let i = 0; i < N; i++) {
  const v = await verify(token)
  if (!v.ok) throw new Error(`verification failed: ${v.message}`)
}
const us = ((performance.now() - started) * 1000) / N
console.log(`HS256 verification: ${us.toFixed(0)} µs per token, ${Math.round(1e6 / us).toLocaleString('en')} per second on one core (${N} tokens)`)
