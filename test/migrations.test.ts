/**
 * Schema migrations: the importable module matches the migrations/ folder as wrangler splits it,
 * they apply once (recorded in wrangler's d1_migrations table), and a failing one changes nothing.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqlite } from "../src/node/sqlite.ts";
import { MIGRATIONS } from "../src/store/migrations.ts";
import { applyMigrations, MIGRATIONS_TABLE } from "../src/store/sql.ts";
import { readMigrationsFolder } from "./helpers/migrations.ts";

const dir = mkdtempSync(join(tmpdir(), "mailconf-migrations-"));

describe("migrations", () => {
  it("src/store/migrations.ts is the migrations/ folder, split by wrangler (run `npm run migrations`)", async () => {
    expect(MIGRATIONS).toEqual(await readMigrationsFolder());
    expect(MIGRATIONS[0]?.name).toBe("0001_published_settings.sql");
  });

  it("apply once, recorded by file name in d1_migrations with wrangler's columns", async () => {
    const path = join(dir, "once.db");
    const db = await openSqlite(path);
    expect(db.migrated).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await applyMigrations(db, MIGRATIONS)).toEqual([]);
    const columns = await db.execute({ sql: `PRAGMA table_info(${MIGRATIONS_TABLE})` });
    expect(columns.rows.map((c) => [c.name, c.type, c.pk])).toEqual([
      ["id", "INTEGER", 1],
      ["name", "TEXT", 0],
      ["applied_at", "TIMESTAMP", 0],
    ]);
    const tables = await db.execute({
      sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    });
    expect(tables.rows.map((r) => r.name)).toEqual(["d1_migrations", "domains", "mx_hosts", "providers"]);
    db.close();
    const again = await openSqlite(path);
    expect(again.migrated).toEqual([]);
    again.close();
  });

  it("two connections migrating one new file at once apply each migration once", async () => {
    const path = join(dir, "race.db");
    const [a, b] = await Promise.all([openSqlite(path), openSqlite(path)]);
    const rows = await a.execute({ sql: `SELECT name FROM ${MIGRATIONS_TABLE}` });
    expect(rows.rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
    a.close();
    b.close();
  });

  it("a failing migration is rolled back whole and not recorded", async () => {
    const db = await openSqlite(join(dir, "fail.db"));
    const broken = {
      name: "0099_broken.sql",
      queries: ["CREATE TABLE half_done (x TEXT)", "CREATE TABLE oops ("],
    };
    await expect(applyMigrations(db, [...MIGRATIONS, broken])).rejects.toThrow();
    const tables = await db.execute({ sql: "SELECT name FROM sqlite_master WHERE name = 'half_done'" });
    expect(tables.rows).toEqual([]);
    const recorded = await db.execute({
      sql: `SELECT name FROM ${MIGRATIONS_TABLE} WHERE name = ?`,
      params: [broken.name],
    });
    expect(recorded.rows).toEqual([]);
    db.close();
  });
});
