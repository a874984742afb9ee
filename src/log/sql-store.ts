/** The little of a synchronous SQL database the SQL log needs (sql-log.ts, sql-dedupe.ts); `ctx.storage.sql` is one. */

/** A value SQLite hands back. */
export type SqlValue = string | number | null | ArrayBuffer

/** A synchronous SQL database, one statement per call. */
export interface SqlStore {
  exec(query: string, ...bindings: (string | number | null)[]): Iterable<Record<string, SqlValue>>
}
