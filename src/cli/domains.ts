/**
 * `mailconf domains list|add|remove`: published domains (the SQL store, src/cli/store.ts).
 *
 *   mailconf domains list [--provider ID] [--json]
 *   mailconf domains add <domain> <provider id>    or: domains add <domain> --alias-of <domain>
 *   mailconf domains remove [--cascade] <domain>…   --cascade: also the aliases pointing at it
 *
 * A domain can be assigned to a provider of any source (published, `--config`, `--ispdb`, built-in).
 * Exit codes: 0 ok, 1 refused (validation, conflict, not found), 2 bad usage or configuration.
 */
import type { Command } from "commander";
import { collect, dbOption } from "./options.ts";
import type { StoreOptions } from "./store.ts";

const store = () => import("./store.ts");

/** Adds `domains` and its subcommands to the program. */
export function registerDomains(cmd: Command): void {
  const domains = cmd.command("domains").description("published domains (the SQL store)");

  domains
    .command("list")
    .description("list published domains")
    .addOption(dbOption())
    .option("--provider <id>", "only the domains of this provider")
    .option("--json", "print JSON")
    .action(async (opts: StoreOptions & { provider?: string; json?: boolean }) => {
      const { allDomains, withStore } = await store();
      await withStore(opts, async (store) => {
        const list = await allDomains(store, opts.provider);
        if (opts.json) {
          console.log(JSON.stringify(list, null, 2));
          return;
        }
        for (const d of list) {
          const target = d.provider ? `provider ${d.provider}` : `alias of ${d.aliasOf}`;
          console.log(`${d.domain}\t${target}\t${d.origin}\t${d.updatedAt}`);
        }
        console.error(`${list.length} domain(s) in ${opts.db}`);
      });
    });

  domains
    .command("add")
    .description("serve a domain with a provider (any source, by id), or as an alias of another domain")
    .argument("<domain>", "mail domain, or *.domain for every subdomain")
    .argument("[provider]", "provider id, e.g. gmail.com")
    .option("--alias-of <domain>", "serve it as this domain instead")
    .addOption(dbOption())
    .option("-c, --config <file>", "settings file whose providers may be named (repeatable)", collect, [])
    .option("--ispdb <folder>", "ISPDB folder whose providers may be named")
    .action(
      async (domain: string, provider: string | undefined, opts: StoreOptions & { aliasOf?: string }) => {
        if ((provider === undefined) === (opts.aliasOf === undefined)) {
          console.error("mailconf: give either a provider id or --alias-of <domain>");
          process.exitCode = 2;
          return;
        }
        const { withStore } = await store();
        await withStore(opts, async (store) => {
          const target = provider !== undefined ? { provider } : { aliasOf: opts.aliasOf as string };
          const { created, entry } = await store.putDomain(domain, target);
          const what = entry.provider ? `provider ${entry.provider}` : `alias of ${entry.aliasOf}`;
          console.log(`${created ? "added" : "updated"} ${entry.domain}: ${what}`);
        });
      },
    );

  domains
    .command("remove")
    .description("delete assigned domains")
    .argument("<domains...>", "mail domains")
    .addOption(dbOption())
    .option("--cascade", "also delete the aliases pointing at it")
    .action(async (names: string[], opts: StoreOptions & { cascade?: boolean }) => {
      const { withStore } = await store();
      const { normalizeDomain } = await import("../providers/domain.ts");
      const { ListedDomainError, WriteError } = await import("../store/sql-store.ts");
      await withStore(opts, async (store) => {
        for (const name of names) {
          const domain = normalizeDomain(name, { wildcard: true });
          if (!domain)
            throw new WriteError("invalid", [
              { path: ["domain"], message: `expected a domain name, got ${JSON.stringify(name)}` },
            ]);
          try {
            await store.deleteDomain(domain, { cascade: opts.cascade });
          } catch (e) {
            if (!(e instanceof ListedDomainError)) throw e;
            // The CLI way to publish the provider again (the admin API's is PUT /api/v1/providers/<id>).
            const file = `${e.provider}.yaml`;
            throw new WriteError("conflict", [
              {
                path: ["domain"],
                message: `${e.errors[0]?.message}: mailconf providers add ${file}, with a settings file whose domains leave ${domain} out`,
              },
            ]);
          }
          console.log(`removed ${domain}`);
        }
      });
    });
}
