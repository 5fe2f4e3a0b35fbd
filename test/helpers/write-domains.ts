/**
 * Child process for the concurrency test: opens the SQLite file given as argv[2] and assigns the
 * domains `<prefix>-<i>.org` (i = 0 … count-1) to the provider argv[5], concurrently, then exits.
 * Usage: node --import tsx test/helpers/write-domains.ts <db> <prefix> <count> <provider>
 */

import { openSqlite } from "../../src/node/sqlite.ts";
import { SqlStore } from "../../src/store/sql-store.ts";

const [db, prefix, count, provider] = process.argv.slice(2) as [string, string, string, string];
const database = await openSqlite(db);
const store = new SqlStore(database);
await Promise.all(
  Array.from({ length: Number(count) }, (_, i) => store.putDomain(`${prefix}-${i}.org`, { provider })),
);
database.close();
console.log("done");
