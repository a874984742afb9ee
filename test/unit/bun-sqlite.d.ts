/** The part of bun:sqlite that sql-log.bun.ts uses (Node 20, which type-checks tests, has no bun types). */
declare module 'bun:sqlite' {
  export class Database {
    constructor(filename: string)
    query(sql: string): { all(...bindings: unknown[]): Record<string, string | number | null>[] }
    close(): void
  }
}
