/**
 * `GET /metrics`: the Prometheus text exposition of one instance. Behind
 * METRICS_TOKEN (a bearer token) when set; on the main app, or on a listener
 * of its own when METRICS_PORT is set (then the main app has no such route).
 */

import type { Context } from 'hono'
import { Hono } from 'hono'
import { bearer } from '../access/credentials.ts'
import { safeEqual } from '../access/door.ts'
import { EXPOSITION_TYPE } from '../ops/exposition.ts'
import type { Ops } from '../ops/ops.ts'
import { refusalResponse } from '../wire/refusals.ts'

/** Answer a scrape: 401 without the right token when one is required, else the exposition. */
export function serveMetrics(ops: Ops, c: Context): Response {
  const token = ops.settings.metricsToken
  if (token !== undefined) {
    const given = bearer(c.req.header('authorization'))
    if (given === undefined || !safeEqual(given, token)) return refusalResponse('unauthorized', 'send Authorization: Bearer <METRICS_TOKEN>')
  }
  return new Response(ops.metrics.render(), { status: 200, headers: { 'Content-Type': EXPOSITION_TYPE, 'Cache-Control': 'no-store' } })
}

/** The app of the METRICS_PORT listener: `/metrics` and nothing else. */
export function createMetricsApp(ops: Ops): Hono {
  const app = new Hono()
  app.get('/metrics', (c) => serveMetrics(ops, c))
  app.notFound((c) => refusalResponse('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}; this port serves GET /metrics`))
  return app
}
