/**
 * `mailconf providers list|add|remove|export`: published providers (the SQL store, src/cli/store.ts).
 *
 *   mailconf providers list [--json]
 *   mailconf providers add <settings file>…        publish every provider, alias and assigned domain
 *                                                  of the files; refusals name file:line
 *   mailconf providers remove [--cascade] <id>…    --cascade: also what points at it
 *   mailconf providers export [id…] [--json]       a settings file of what is published
 *
 * Exit codes: 0 ok, 1 refused (validation, conflict, not found), 2 bad usage or configuration.
 */
import type { Command } from "commander";
import { formatPath } from "../providers/field-path.ts";
import type { FieldError, Provider } from "../providers/model.ts";
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
      const { readSettingsFile } = await import("../node/config-files.ts");
      const { withStore } = await store();
      const { WriteError } = await import("../store/sql-store.ts");
      const list: Provider[] = [];
      const aliases: Record<string, string> = {};
      const assigned: Record<string, string> = {};
      // Where each provider, alias and assignment came from, so a refusal names its file and line.
      const origins: Origin[] = [];
      const keyOrigin = new Map<string, Origin>();
      for (const file of files) {
        const { settings, lineOf } = await readSettingsFile(file); // ConfigError: file:line: path: rule (exit 2)
        settings.providers.forEach((p, index) => {
          list.push(p);
          origins.push({ file, lineOf, index });
        });
        Object.assign(aliases, settings.aliases);
        Object.assign(assigned, settings.assignedDomains ?? {});
        for (const key of [...Object.keys(settings.aliases), ...Object.keys(settings.assignedDomains ?? {})])
          keyOrigin.set(key, { file, lineOf, index: 0 });
      }
      await withStore(opts, async (store) => {
        let result: { created: string[]; replaced: string[] };
        try {
          result = await store.putProviders(list, aliases, assigned);
        } catch (e) {
          if (!(e instanceof WriteError)) throw e;
          const { normalizeDomain } = await import("../providers/domain.ts");
          for (const err of e.errors) console.error(located(err, origins, keyOrigin, normalizeDomain));
          process.exitCode = 1;
          return;
        }
        if (result.created.length) console.log(`created: ${result.created.join(", ")}`);
        if (result.replaced.length) console.log(`replaced: ${result.replaced.join(", ")}`);
        const n = Object.keys(aliases).length;
        if (n) console.log(`aliases: ${n}`);
        const a = Object.keys(assigned).length;
        if (a) console.log(`assigned domains: ${a}`);
      });
    });

  providers
    .command("remove")
    .description("delete published providers with their own domains")
    .argument("<ids...>", "provider ids")
    .addOption(dbOption())
    .option("--cascade", "also delete the domains assigned to it and the aliases pointing at its domains")
    .action(async (ids: string[], opts: StoreOptions & { cascade?: boolean }) => {
      const { withStore } = await store();
      await withStore(opts, async (store) => {
        for (const id of ids) {
          await store.deleteProvider(id, { cascade: opts.cascade });
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
      // Through an own module: yaml (CommonJS) imported dynamically has no named exports in the bundle.
      const { formatSettingsYaml } = await import("../node/config-files.ts");
      await withStore(opts, async (store) => {
        const published = await all((after) => store.listProviders({ after, limit: 10_000 }));
        const wanted = ids.length ? published.filter((p) => ids.includes(p.provider.id)) : published;
        const missing = ids.filter((id) => !published.some((p) => p.provider.id === id));
        if (missing.length) {
          console.error(`not published: ${missing.join(", ")}`);
          process.exitCode = 1;
        }
        const domains = await allDomains(store);
        const exported = new Set(wanted.map((p) => p.provider.id));
        // Assigned domains stay assignments (`assignedDomains`), so `providers add` restores the store
        // as it was: a provider's own `domains` list is exactly what was published with it.
        const aliases: Record<string, string> = {};
        const assignedDomains: Record<string, string> = {};
        for (const d of domains) {
          if (d.origin !== "assigned") continue;
          if (d.aliasOf && !ids.length) aliases[d.domain] = d.aliasOf;
          else if (d.provider && (!ids.length || exported.has(d.provider)))
            assignedDomains[d.domain] = d.provider;
        }
        const doc = {
          providers: wanted.map((p) => p.provider),
          ...(Object.keys(assignedDomains).length ? { assignedDomains } : {}),
          ...(Object.keys(aliases).length ? { aliases } : {}),
        };
        console.log(opts.json ? JSON.stringify(doc, null, 2) : formatSettingsYaml(doc));
      });
    });
}

/** Where a provider (its index in its file) or an alias/assignment key of `providers add` came from. */
interface Origin {
  file: string;
  lineOf: (path: (string | number)[]) => number;
  index: number;
}

/**
 * `file:line: path: message` for an error of SqlStore.putProviders: paths `[i, …]` (or `[…]` for a
 * single provider) name the i-th provider of all files, `["aliases" | "assignedDomains", key]` a key.
 */
function located(
  e: FieldError,
  origins: Origin[],
  keys: Map<string, Origin>,
  normalize: (name: string, opts: { wildcard: boolean }) => string | undefined,
): string {
  const [head, ...rest] = e.path;
  if (head === "aliases" || head === "assignedDomains") {
    const key = String(rest[0]);
    const from =
      keys.get(key) ?? [...keys.entries()].find(([k]) => normalize(k, { wildcard: true }) === key)?.[1];
    if (from) return `${from.file}:${from.lineOf(e.path)}: ${formatPath(e.path)}: ${e.message}`;
  }
  const from = origins[typeof head === "number" ? head : 0];
  if (from && e.path.length > 0) {
    const path = ["providers", from.index, ...(typeof head === "number" ? rest : e.path)];
    return `${from.file}:${from.lineOf(path)}: ${formatPath(path)}: ${e.message}`;
  }
  return `${formatPath(e.path)}: ${e.message}`;
}
