/**
 * A Node server's CPU profile of exactly one bench phase: loaded with `--import ./bench/profile-hook.ts`
 * (bench/run.ts --profile does it), SIGUSR2 starts the V8 profiler and the next SIGUSR2 writes
 * BENCH_PROFILE_DIR/<label>.cpuprofile, so connecting and warming up stay out of it.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

const dir = process.env.BENCH_PROFILE_DIR ?? '/tmp'
const session = new Session()
session.connect()
let running = false
let count = 0

process.on('SIGUSR2', () => {
  if (!running) {
    running = true
    session.post('Profiler.enable', () => session.post('Profiler.start'))
    return
  }
  running = false
  session.post('Profiler.stop', (err, result) => {
    if (err !== null) return console.error('profile-hook:', err)
    const file = `${dir}/${process.env.BENCH_PROFILE_LABEL ?? 'server'}-${process.pid}-${count++}.cpuprofile`
    writeFileSync(file, JSON.stringify(result.profile))
    console.error(`profile-hook: wrote ${file}`)
  })
})
