/**
 * `mailconf providers list|add|remove|export`: published providers (the SQL store, src/cli/store.ts).
 *
 *   mailconf providers list [--json]
 *   mailconf providers add <settings file>…        publish every provider (and alias) in the files
 *   mailconf providers remove <id>…
 *   mailconf providers export [id…] [--json]       a settings file of what is published
 *
 * Exit codes: 0 ok, 1 refused (validation, conflict, not found), 2 bad usage or configuration.
 */
import type { Command } from "commander";
import type { Provider } from "../providers/model.ts";
import { dbOption } from "./options.ts";
import type { StoreOptions } from "./store.ts";

const store = () => import("./store.ts");

/** Adds `providers` and its subcommands to the program. */
export function registerProviders(cmd: Command): void {
  const providers = cmd.command("providers").description("published providers (the SQL store)");

  providers
    .command("list")
    .description("list published providers")
    .addOption(dbOption())
    .option("--json", "print JSON")
    .action(async (opts: StoreOptions & { json?: boolean }) => {
      const { all, withStore } = await store();
      await withStore(opts, async (store) => {
        const list = await all((after) => store.listProviders({ after, limit: 10_000 }));
        if (opts.json) {
          console.log(
            JSON.stringify(
              list.map((p) => ({ ...p.provider, updatedAt: p.updatedAt })),
              null,
              2,
            ),
          );
          return;
        }
        for (const { provider, updatedAt } of list) {
          console.log(
            `${provider.id}\t${provider.displayName}\t${provider.domains.join(", ")}\t${updatedAt}`,
          );
        }
        console.error(`${list.length} provider(s) in ${opts.db}`);
      });
    });

  providers
    .command("add")
    .description("publish every provider (and alias) of settings files; one transaction")
    .argument("<files...>", "settings files, YAML or JSON (as for --config)")
    .addOption(dbOption())
    .action(async (files: string[], opts: StoreOptions) => {
      const { loadSettingsFile } = await import("../node/config-files.ts");
      const { withStore } = await store();
      const list: Provider[] = [];
      const aliases: Record<string, string> = {};
      for (const file of files) {
        const settings = await loadSettingsFile(file); // ConfigError: file:line: path: rule (exit 2)
        list.push(...settings.providers);
        Object.assign(aliases, settings.aliases);
      }
      await withStore(opts, async (store) => {
        const result = await store.putProviders(list, aliases);
        if (result.created.length) console.log(`created: ${result.created.join(", ")}`);
        if (result.replaced.length) console.log(`replaced: ${result.replaced.join(", ")}`);
        const n = Object.keys(aliases).length;
        if (n) console.log(`aliases: ${n}`);
      });
    });

  providers
    .command("remove")
    .description("delete published providers with their own domains")
    .argument("<ids...>", "provider ids")
    .addOption(dbOption())
    .action(async (ids: string[], opts: StoreOptions) => {
      const { withStore } = await store();
      await withStore(opts, async (store) => {
        for (const id of ids) {
          await store.deleteProvider(id);
          console.log(`removed ${id}`);
        }
      });
    });

  providers
    .command("export")
    .description("print published providers as a settings file (YAML, or --json)")
    .argument("[ids...]", "provider ids (default: all)")
    .addOption(dbOption())
    .option("--json", "print JSON")
    .action(async (ids: string[], opts: StoreOptions & { json?: boolean }) => {
      const { all, allDomains, withStore } = await store();
      const { stringify } = await import("yaml");
      await withStore(opts, async (store) => {
        const published = await all((after) => store.listProviders({ after, limit: 10_000 }));
        const wanted = ids.length ? published.filter((p) => ids.includes(p.provider.id)) : published;
        const missing = ids.filter((id) => !published.some((p) => p.provider.id === id));
        if (missing.length) {
          console.error(`not published: ${missing.join(", ")}`);
          process.exitCode = 1;
        }
        const domains = await allDomains(store);
        const byId = new Map(
          wanted.map((p) => [p.provider.id, { ...p.provider, domains: [...p.provider.domains] }]),
        );
        const aliases: Record<string, string> = {};
        for (const d of domains) {
          if (d.origin !== "assigned") continue;
          const target = d.provider ? byId.get(d.provider) : undefined;
          if (target) target.domains.push(d.domain);
          else if (d.aliasOf && !ids.length) aliases[d.domain] = d.aliasOf;
          else if (d.provider && !ids.length)
            console.error(
              `# not exportable to a settings file: ${d.domain} -> provider ${d.provider} (not published)`,
            );
        }
        const doc = { providers: [...byId.values()], ...(Object.keys(aliases).length ? { aliases } : {}) };
        console.log(opts.json ? JSON.stringify(doc, null, 2) : stringify(doc, { lineWidth: 0 }).trimEnd());
      });
    });
}
