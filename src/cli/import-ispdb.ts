/**
 * `mailconf import-ispdb <folder|file>`: Mozilla ISPDB files into the SQL store (src/cli/store.ts);
 * providers with the same id are replaced, a domain another published provider serves stays with it,
 * a domain assigned one by one stays assigned (each reported as `file:line` of its `<domain>`).
 */
import type { Command } from "commander";
import { formatPath } from "../providers/field-path.ts";
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
  const { WriteError } = await import("../store/sql-store.ts");
  const { readFile } = await import("node:fs/promises");
  const { dirname, join } = await import("node:path");
  const folder = await loadIspdb(path);
  for (const s of folder.skipped) console.error(`skipped ${s.file}: ${s.reason}`);
  const folderPath = path.toLowerCase().endsWith(".xml") ? dirname(path) : path;
  /** `file:line` of a domain in an ISPDB file (its `<domain>` element), for messages. */
  const where = async (source: string, domain: string): Promise<string> => {
    const file = join(folderPath, source.replace(/^ispdb:/, ""));
    const text = await readFile(file, "utf8").catch(() => "");
    const at = text.search(new RegExp(`<domain>\\s*${domain.replace(/[.*]/g, "\\$&")}\\s*</domain>`, "i"));
    return at < 0 ? file : `${file}:${text.slice(0, at).split("\n").length}`;
  };
  await withStore(opts, async (store) => {
    // A domain already served by another published provider stays with it, and a domain assigned
    // one by one stays an assignment (both reported).
    const owner = new Map<string, { provider?: string; aliasOf?: string; origin: string }>();
    for (const d of await allDomains(store)) owner.set(d.domain, d);
    const list: Provider[] = [];
    const sources: string[] = [];
    for (const { provider, source } of folder.entries) {
      const kept: string[] = [];
      for (const d of provider.domains) {
        const current = owner.get(d);
        if (current === undefined || (current.provider === provider.id && current.origin === "provider")) {
          kept.push(d);
          continue;
        }
        const what =
          current.provider === undefined
            ? `it is an alias of ${current.aliasOf}`
            : current.provider === provider.id
              ? `it stays assigned to ${provider.id}`
              : `it stays with ${current.provider}`;
        console.error(`${await where(source, d)}: ${d}: ${what}`);
      }
      if (kept.length === 0 && provider.domains.length > 0) {
        console.error(`${source}: skipped, every domain is served by another provider`);
        continue;
      }
      for (const d of kept) owner.set(d, { provider: provider.id, origin: "provider" });
      list.push({ ...provider, domains: kept });
      sources.push(source);
    }
    let result: { created: string[]; replaced: string[] };
    try {
      result = await store.putProviders(list);
    } catch (e) {
      if (!(e instanceof WriteError)) throw e;
      // A write made meanwhile (another process): name each file and its domain's line.
      for (const err of e.errors) {
        const i = typeof err.path[0] === "number" ? err.path[0] : 0;
        const domain = list[i]?.domains[Number(err.path[err.path.length - 1])];
        const at = domain ? await where(sources[i] ?? "", domain) : (sources[i] ?? path);
        console.error(`${at}: ${formatPath(err.path)}: ${err.message}`);
      }
      process.exitCode = 1;
      return;
    }
    console.log(
      `imported ${list.length} provider(s) from ${path}: ${result.created.length} created, ${result.replaced.length} replaced, ${folder.skipped.length} file(s) skipped`,
    );
  });
}
