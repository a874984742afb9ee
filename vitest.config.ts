import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Each runtime's conformance file starts its own server; two cores are enough for two at a time.
    maxWorkers: 2,
  },
})
