import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OUTPUT, generate } from '../../scripts/build-client.ts'

describe('the committed browser bundle', () => {
  it('is what scripts/build-client.ts makes from src/client now (else: npm run build:client)', async () => {
    const fresh = await generate()
    expect(readFileSync(OUTPUT, 'utf8') === fresh, 'src/client/bundle.gen.ts is stale: run npm run build:client').toBe(true)
  })
})
