/**
 * Node-only: opens the SQL store's database named by `--db` (env `MAILCONF_DB`): a PostgreSQL URL
 * (`postgres://…`, shared by several instances; see ./postgres.ts) or a SQLite file path (one
 * machine; see ./sqlite.ts), the default.
 */
import type { SqlDriver } from "../store/sql.ts";

/** Whether a `--db` value names a PostgreSQL database (`postgres://` or `postgresql://`). */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** An open database of either kind. */
export interface Database extends SqlDriver {
  /** `sqlite` or `postgres`. */
  readonly kind: "sqlite" | "postgres";
  /** What to show an operator: the absolute file path, or the URL with its password redacted. */
  readonly name: string;
  /** Migrations applied when it was opened (names). */
  readonly migrated: string[];
  close(): void | Promise<void>;
}

/**
 * Opens (SQLite: creating the file if needed) and migrates the database `spec` names.
 * @param spec `postgres://…`/`postgresql://…`, else a SQLite file path
 * @param options.log operator log (PostgreSQL connections lost while idle)
 * @throws Error naming the database if it cannot be reached, opened or migrated
 */
export async function openDatabase(
  spec: string,
  options: { log?: (message: string) => void } = {},
): Promise<Database> {
  if (isPostgresUrl(spec)) {
    // Loaded only when asked for, so commands on SQLite do not load the pg driver.
    const { openPostgres } = await import("./postgres.ts");
    return { kind: "postgres", ...(await openPostgres(spec, options)) };
  }
  // Loaded when opened too, so commands without a database (`check` with none) skip libsql's native addon.
  const { openSqlite } = await import("./sqlite.ts");
  const db = await openSqlite(spec);
  return { kind: "sqlite", ...db, name: db.path };
}
