/**
 * `mailconf import-ispdb <folder|file>`: Mozilla ISPDB files into the SQL store (src/cli/store.ts);
 * providers with the same id are replaced, a domain another published provider serves stays with it.
 */
import type { Command } from "commander";
import type { Provider } from "../providers/model.ts";
import { dbOption } from "./options.ts";
import type { StoreOptions } from "./store.ts";

/** Adds `import-ispdb` to the program. */
export function registerImportIspdb(cmd: Command): void {
  cmd
    .command("import-ispdb")
    .description("publish Mozilla ISPDB files into the SQL store (replaces providers with the same id)")
    .argument("<path>", "ISPDB folder, or one clientConfig .xml file")
    .addOption(dbOption())
    .action(importIspdb);
}

async function importIspdb(path: string, opts: StoreOptions): Promise<void> {
  const { loadIspdb } = await import("../node/config-files.ts");
  const { allDomains, withStore } = await import("./store.ts");
  const folder = await loadIspdb(path);
  for (const s of folder.skipped) console.error(`skipped ${s.file}: ${s.reason}`);
  await withStore(opts, async (store) => {
    // A domain already served by another published provider stays with it (reported).
    const owner = new Map<string, string>();
    for (const d of await allDomains(store)) owner.set(d.domain, d.provider ?? `(alias of ${d.aliasOf})`);
    const list: Provider[] = [];
    for (const { provider, source } of folder.entries) {
      const kept = provider.domains.filter((d) => {
        const current = owner.get(d);
        if (current === undefined || current === provider.id) return true;
        console.error(`${source}: ${d} kept with ${current}`);
        return false;
      });
      if (kept.length === 0) {
        console.error(`${source}: skipped, every domain is served by another provider`);
        continue;
      }
      for (const d of kept) owner.set(d, provider.id);
      list.push({ ...provider, domains: kept });
    }
    const result = await store.putProviders(list);
    console.log(
      `imported ${list.length} provider(s) from ${path}: ${result.created.length} created, ${result.replaced.length} replaced, ${folder.skipped.length} file(s) skipped`,
    );
  });
}
