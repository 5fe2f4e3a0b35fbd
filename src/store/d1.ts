/**
 * The D1 driver of the SQL store (Cloudflare Workers). Uses only the binding's
 * `prepare(sql).bind(...values)`, `.all()`, `.run()` and `db.batch([...])`; D1 runs a batch as one
 * transaction (all or nothing), which {@link SqlDriver.batch} requires.
 *
 * Structural types only, so this module needs no @cloudflare/workers-types; the real binding
 * (`env.DB`) fits them. Web APIs only.
 */
import { mapSqlError, type SqlDriver, type SqlResult, type SqlStatement } from "./sql.ts";

/** What a D1 statement returns (`D1Result`): rows, and `meta.changes` for writes. */
export interface D1ResultLike {
  results?: Record<string, unknown>[];
  meta?: { changes?: number };
}

/** A prepared D1 statement (`D1PreparedStatement`). */
export interface D1PreparedStatementLike {
  bind(...values: unknown[]): D1PreparedStatementLike;
  all(): Promise<D1ResultLike>;
  run(): Promise<D1ResultLike>;
}

/** The D1 binding (`D1Database`). */
export interface D1DatabaseLike {
  prepare(sql: string): D1PreparedStatementLike;
  batch(statements: D1PreparedStatementLike[]): Promise<D1ResultLike[]>;
}

function toResult(result: D1ResultLike): SqlResult {
  return { rows: result.results ?? [], changes: result.meta?.changes ?? 0 };
}

function prepare(db: D1DatabaseLike, statement: SqlStatement): D1PreparedStatementLike {
  const prepared = db.prepare(statement.sql);
  return statement.params && statement.params.length > 0 ? prepared.bind(...statement.params) : prepared;
}

/** Wraps a D1 binding as a {@link SqlDriver}. */
export function d1Driver(db: D1DatabaseLike): SqlDriver {
  return {
    async execute(statement) {
      try {
        // all() returns rows for SELECT and meta.changes for writes alike.
        return toResult(await prepare(db, statement).all());
      } catch (e) {
        return mapSqlError(e);
      }
    },
    async batch(statements) {
      if (statements.length === 0) return [];
      try {
        return (await db.batch(statements.map((s) => prepare(db, s)))).map(toResult);
      } catch (e) {
        return mapSqlError(e);
      }
    },
  };
}
