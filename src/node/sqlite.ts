/**
 * Node-only: the SQLite driver of the SQL store, through @libsql/client (native prebuilt binaries
 * shipped as npm packages; nothing is downloaded at install time) on a local file.
 *
 * The file is opened in WAL mode with a 5-second busy timeout, so `mailconf serve` and the CLI
 * (`mailconf domains add …`) can write to the same file at once; each write is one transaction.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Client, createClient, type InValue } from "@libsql/client/sqlite3";
import { MIGRATIONS } from "../store/migrations.ts";
import {
  applyMigrations,
  mapSqlError,
  type SqlDriver,
  type SqlResult,
  type SqlStatement,
} from "../store/sql.ts";

/** An open SQLite file: the driver plus `close()`. */
export interface SqliteDatabase extends SqlDriver {
  /** Absolute path of the file. */
  readonly path: string;
  /** Migrations applied when it was opened (names), empty if it was up to date. */
  readonly migrated: string[];
  close(): void;
}

const BUSY_TIMEOUT_MS = 5000;

function toResult(rs: { columns: string[]; rows: ArrayLike<unknown>[]; rowsAffected: number }): SqlResult {
  const rows = rs.rows.map((row) => {
    const out: Record<string, unknown> = {};
    rs.columns.forEach((column, i) => {
      out[column] = row[i];
    });
    return out;
  });
  return { rows, changes: rs.rowsAffected };
}

function toLibsql(statement: SqlStatement): { sql: string; args: InValue[] } {
  return { sql: statement.sql, args: statement.params ?? [] };
}

/** Wraps a libsql client as a {@link SqlDriver}. */
export function libsqlDriver(client: Client): SqlDriver {
  return {
    async execute(statement) {
      try {
        return toResult(await client.execute(toLibsql(statement)));
      } catch (e) {
        return mapSqlError(e);
      }
    },
    async batch(statements) {
      if (statements.length === 0) return [];
      try {
        return (await client.batch(statements.map(toLibsql), "write")).map(toResult);
      } catch (e) {
        return mapSqlError(e);
      }
    },
  };
}

/**
 * Opens (creating it if needed) a SQLite file and applies the pending migrations.
 * @param path file path, relative to the working directory or absolute
 * @throws if the file cannot be opened or a migration fails (the message names the file)
 */
export async function openSqlite(path: string): Promise<SqliteDatabase> {
  const absolute = resolve(path);
  let client: Client;
  try {
    client = createClient({ url: pathToFileURL(absolute).href, timeout: BUSY_TIMEOUT_MS });
  } catch (e) {
    throw new Error(`cannot open the database ${absolute}: ${(e as Error).message}`);
  }
  try {
    await client.execute("PRAGMA journal_mode = WAL");
    const driver = libsqlDriver(client);
    const migrated = await applyMigrations(driver, MIGRATIONS);
    return { ...driver, path: absolute, migrated, close: () => client.close() };
  } catch (e) {
    client.close();
    throw new Error(`cannot prepare the database ${absolute}: ${(e as Error).message}`);
  }
}
