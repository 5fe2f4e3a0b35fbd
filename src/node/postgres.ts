/**
 * Node-only: the PostgreSQL driver of the SQL store (`mailconf serve --db postgres://…`), through
 * `pg` (node-postgres, pure JavaScript) with a connection pool.
 *
 * Statements arrive in the store's common dialect and are rewritten once each by
 * {@link toPostgres} (src/store/dialect.ts): the same store code and the same migrations as SQLite
 * and D1. A batch is one `SERIALIZABLE` transaction, so the guards the store writes into a batch
 * hold at commit time as they do on SQLite (whose writers are serialised); a transaction PostgreSQL
 * aborts as a serialization failure or deadlock (SQLSTATE 40001, 40P01) is retried, at most
 * {@link MAX_ATTEMPTS} times. Constraint violations (SQLSTATE class 23) become SqlConstraintError.
 *
 * Connection loss: every connection attempt gives up after {@link CONNECT_TIMEOUT_MS} and every
 * query after {@link QUERY_TIMEOUT_MS}, so a request never hangs on a dead database; it fails, and the
 * app answers with its store-failure answers (Autodiscover 603, admin API 503, `/readyz` 503). Broken
 * connections leave the pool; the next query opens a new one, so service resumes by itself as soon as
 * the database is back.
 */
import pg from "pg";
import { toPostgres } from "../store/dialect.ts";
import { MIGRATIONS } from "../store/migrations.ts";
import {
  applyMigrations,
  type Migration,
  SqlConstraintError,
  type SqlDriver,
  type SqlResult,
  type SqlStatement,
} from "../store/sql.ts";

/** A connection attempt fails after this many milliseconds. */
export const CONNECT_TIMEOUT_MS = 3000;
/** A query (sent, answered) fails after this many milliseconds. */
export const QUERY_TIMEOUT_MS = 5000;
/** Attempts of a transaction PostgreSQL aborts for serialization (40001) or a deadlock (40P01). */
export const MAX_ATTEMPTS = 10;
/** Connections per instance (the pool's maximum). */
export const POOL_SIZE = 10;

/** The URL with any password replaced by `***`, for logs and reports. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}

/** An open PostgreSQL database: the driver plus what the server reports and `close()`. */
export interface PostgresDatabase extends SqlDriver {
  /** The connection URL, password redacted. */
  readonly name: string;
  /** Migrations applied when it was opened (names), empty if it was up to date. */
  readonly migrated: string[];
  /** Ends every connection of the pool. */
  close(): Promise<void>;
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

const translated = new Map<string, string>();

/** {@link toPostgres}, memoised: the store sends a small fixed set of statement texts. */
function postgresText(sql: string): string {
  let hit = translated.get(sql);
  if (hit === undefined) {
    hit = toPostgres(sql);
    if (translated.size >= 2000) translated.clear();
    translated.set(sql, hit);
  }
  return hit;
}

function toResult(result: pg.QueryResult): SqlResult {
  return { rows: result.rows ?? [], changes: result.rowCount ?? 0 };
}

async function run(on: Queryable, statement: SqlStatement): Promise<SqlResult> {
  return toResult(await on.query(postgresText(statement.sql), statement.params ?? []));
}

const sqlState = (e: unknown) => (e as { code?: unknown })?.code;

/** Constraint violations (class 23) → SqlConstraintError; everything else is rethrown. */
function mapError(e: unknown): never {
  const code = sqlState(e);
  if (typeof code === "string" && code.startsWith("23")) throw new SqlConstraintError((e as Error).message);
  throw e;
}

const retryable = (e: unknown) => sqlState(e) === "40001" || sqlState(e) === "40P01";

/**
 * Runs `statements` in one SERIALIZABLE transaction on one connection, retrying serialization
 * failures with a short random back-off.
 */
async function transaction(
  connect: () => Promise<Queryable & { release(destroy?: boolean): void }>,
  statements: SqlStatement[],
): Promise<SqlResult[]> {
  for (let attempt = 1; ; attempt++) {
    const client = await connect();
    let broken = false;
    try {
      await client.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      const results: SqlResult[] = [];
      for (const statement of statements) results.push(await run(client, statement));
      await client.query("COMMIT");
      return results;
    } catch (e) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true; // the connection is gone: drop it from the pool
      }
      if (attempt < MAX_ATTEMPTS && retryable(e)) {
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
        continue;
      }
      return mapError(e);
    } finally {
      client.release(broken);
    }
  }
}

/** Wraps a `pg` pool as a {@link SqlDriver}. */
export function postgresDriver(pool: pg.Pool): SqlDriver {
  return {
    async execute(statement) {
      try {
        return await run(pool, statement);
      } catch (e) {
        return mapError(e);
      }
    },
    async batch(statements) {
      if (statements.length === 0) return [];
      return transaction(() => pool.connect(), statements);
    },
  };
}

/** An arbitrary constant: the advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK = 0x6d61696c; // "mail"

/**
 * Applies the pending migrations while holding a session advisory lock, so instances that start
 * together on one database take turns (PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe
 * against a concurrent twin).
 */
async function migrate(pool: pg.Pool, migrations: readonly Migration[]): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    const single: SqlDriver = {
      execute: (s) => run(client, s).catch(mapError),
      batch: (s) =>
        transaction(
          async () => ({ query: (t: string, v?: unknown[]) => client.query(t, v), release() {} }),
          s,
        ),
    };
    try {
      return await applyMigrations(single, migrations);
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

/** A connection whose attempt to connect gives up after {@link CONNECT_TIMEOUT_MS}. */
class BoundedClient extends pg.Client {
  constructor(config?: pg.ClientConfig) {
    super({ ...config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  }
}

/** Options of {@link openPostgres}. */
export interface PostgresOptions {
  /** Operator log: connections the pool lost while idle. */
  log?: (message: string) => void;
  /** Pool size (default {@link POOL_SIZE}). */
  max?: number;
}

/**
 * Connects to a PostgreSQL database and applies the pending migrations (the same ones as SQLite
 * and D1, recorded in the same `d1_migrations` table).
 * @param url `postgres://user[:password]@host[:port]/database[?sslmode=…]`; a password may also come
 *   from `PGPASSWORD` or `~/.pgpass`, as for psql
 * @throws if the database cannot be reached or a migration fails (the message names the URL,
 *   password redacted)
 */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
  const name = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? POOL_SIZE,
    // The connect timeout goes to each connection, not to the pool: pg-pool would apply it to
    // waiting for a free connection too, failing requests that merely queue behind a burst of
    // writes. The wait is bounded anyway: every query ahead gives up after QUERY_TIMEOUT_MS.
    Client: BoundedClient,
    query_timeout: QUERY_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: "mailconf",
  });
  // An idle connection that breaks (database restarted) is reported here; without a listener
  // the process would exit. The pool drops it and opens a new one on demand.
  pool.on("error", (e) => options.log?.(`database ${name}: connection lost: ${e.message}`));
  try {
    const migrated = await migrate(pool, MIGRATIONS);
    return { ...postgresDriver(pool), name, migrated, close: () => pool.end() };
  } catch (e) {
    await pool.end().catch(() => {});
    throw new Error(`cannot prepare the database ${name}: ${(e as Error).message}`);
  }
}
