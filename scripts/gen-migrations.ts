/**
 * Regenerates src/store/migrations.ts from the migrations/ folder (`npm run migrations`).
 *
 * Workers have no file system, so the migrations are compiled into an importable module; the
 * statements are split with wrangler's own splitter (`unstable_splitSqlQuery`), the one
 * `wrangler d1 migrations apply` and `readD1Migrations` use, so every runtime runs the same statements.
 * test/migrations.test.ts fails when the module and the folder disagree.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS_DIR, migrationsModule } from "../test/helpers/migrations.ts";

const out = join(MIGRATIONS_DIR, "../src/store/migrations.ts");
writeFileSync(out, await migrationsModule());
console.log(`wrote ${out}`);
