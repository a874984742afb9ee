/** What a backend says about itself: the one shape `/healthz`, `/readyz` and the admin dashboard read. */

/** What a backend says about itself, for `/healthz` and `/readyz`. */
export interface Health {
  /** Whether rooms can take publishes and new members right now. */
  ready: boolean
  /** Which backend holds sequence and history: "memory", "redis", ... */
  backend: string
  /** Why it is not ready, when it is not. */
  detail?: string
}
