/**
 * The small SQL interface the published-settings store needs, and schema migrations.
 *
 * Three drivers implement it: SQLite through @libsql/client on Node (src/node/sqlite.ts, Node-only),
 * Cloudflare D1 (./d1.ts), and PostgreSQL through pg (src/node/postgres.ts, Node-only). Statements and
 * the schema (migrations/*.sql) are written once in SQLite's dialect; the PostgreSQL driver rewrites
 * them with ./dialect.ts, whose table lists every difference.
 * Statements use `?` placeholders; D1 allows at most 100 bound parameters per statement, so
 * callers keep under {@link MAX_SQL_PARAMS}.
 *
 * Web APIs only: this module runs unchanged on Node.js and on Cloudflare Workers.
 */

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | null;

/** One statement with its parameters. */
export interface SqlStatement {
  sql: string;
  params?: SqlValue[];
}

/** What a statement returned: its rows (column name → value) and the rows it changed. */
export interface SqlResult {
  rows: Record<string, unknown>[];
  changes: number;
}

/** The driver interface (src/node/sqlite.ts for libsql, ./d1.ts for D1, src/node/postgres.ts for PostgreSQL). */
export interface SqlDriver {
  /** Runs one statement. */
  execute(statement: SqlStatement): Promise<SqlResult>;
  /**
   * Runs statements as one transaction: all of them, or (on any error) none; the error is rethrown.
   * Results are in statement order. (libsql `batch(…, "write")`, D1 `batch`.)
   */
  batch(statements: SqlStatement[]): Promise<SqlResult[]>;
}

/** D1's limit of bound parameters per statement (SQLite's own limit is higher). */
export const MAX_SQL_PARAMS = 100;

/** A constraint (UNIQUE, CHECK, NOT NULL) refused a write; the transaction was rolled back. */
export class SqlConstraintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SqlConstraintError";
  }
}

/** Wraps a driver error: constraint failures become {@link SqlConstraintError}, the rest are rethrown. */
export function mapSqlError(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  if (/constraint failed|SQLITE_CONSTRAINT/i.test(message)) throw new SqlConstraintError(message);
  throw error;
}

/**
 * One migration: a file of migrations/ by name (e.g. `0001_published_settings.sql`) and its
 * statements. Same shape as `D1Migration` of @cloudflare/vitest-pool-workers (`readD1Migrations`).
 */
export interface Migration {
  name: string;
  queries: string[];
}

/**
 * The table recording applied migrations: wrangler's own (`d1_migrations`, same columns), so
 * `wrangler d1 migrations apply`, `applyD1Migrations` (vitest-pool-workers) and {@link applyMigrations}
 * see each other's work and never apply a file twice.
 */
export const MIGRATIONS_TABLE = "d1_migrations";

/**
 * Applies the migrations not yet recorded in {@link MIGRATIONS_TABLE}, in the order given. Each one
 * runs in a single transaction together with its record, so a failed migration changes nothing.
 * Safe to run concurrently from two processes: the loser's record insert violates the UNIQUE name
 * and its transaction rolls back.
 * @returns the names applied now
 * @throws the driver's error if a migration fails (earlier ones stay applied)
 */
export async function applyMigrations(
  driver: SqlDriver,
  migrations: readonly Migration[],
): Promise<string[]> {
  await driver.execute({
    sql: `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`,
  });
  const applied = new Set(
    (await driver.execute({ sql: `SELECT name FROM ${MIGRATIONS_TABLE}` })).rows.map((r) => String(r.name)),
  );
  const done: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    try {
      await driver.batch([
        ...migration.queries.map((sql) => ({ sql })),
        { sql: `INSERT INTO ${MIGRATIONS_TABLE} (name) VALUES (?)`, params: [migration.name] },
      ]);
      done.push(migration.name);
    } catch (e) {
      // Another process applied it between our read and our write: fine, it is applied.
      const now = await driver.execute({
        sql: `SELECT 1 AS applied FROM ${MIGRATIONS_TABLE} WHERE name = ?`,
        params: [migration.name],
      });
      if (now.rows.length === 0) throw e;
    }
  }
  return done;
}
