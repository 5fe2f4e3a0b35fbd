/**
 * `mailconf domains list|add|remove`: published domains (the SQL store, src/cli/store.ts).
 *
 *   mailconf domains list [--provider ID] [--json]
 *   mailconf domains add <domain> <provider id>    or: domains add <domain> --alias-of <domain>
 *   mailconf domains add --provider <id> <domain>… [--from-file <file|->]   many domains, one transaction
 *   mailconf domains remove [--cascade] <domain>…   --cascade: also the aliases pointing at it
 *
 * A domain can be assigned to a provider of any source (published, `--config`, `--ispdb`, built-in).
 * Exit codes: 0 ok, 1 refused (validation, conflict, not found), 2 bad usage or configuration.
 */
import type { Command } from "commander";
import { collect, dbOption } from "./options.ts";
import type { StoreOptions } from "./store.ts";

const store = () => import("./store.ts");

interface AddOptions extends StoreOptions {
  provider?: string;
  fromFile?: string;
  aliasOf?: string;
}

/**
 * The domains of a `--from-file`: one a line; blank lines and `#` comments are skipped.
 * @param file a path, or `-` for standard input
 */
async function readDomainList(file: string): Promise<string[]> {
  let text: string;
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString("utf8");
  } else {
    const { readFile } = await import("node:fs/promises");
    const { ConfigError } = await import("../compose.ts");
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new ConfigError([
        `--from-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      ]);
    }
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "");
}

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
    .description(
      "serve domains with a provider (any source, by id), or one domain as an alias of another; one transaction",
    )
    .usage(
      "<domain> <provider> | <domain> --alias-of <domain> | --provider <id> [domains...] [--from-file <file|->]",
    )
    .argument("[args...]", "<domain> <provider id>, or the domains of --provider / the domain of --alias-of")
    .option("--provider <id>", "serve every domain given (arguments and --from-file) with this provider")
    .option("--from-file <file>", "with --provider: more domains, one a line (# comments); - reads stdin")
    .option("--alias-of <domain>", "serve the one domain given as this domain instead")
    .addOption(dbOption())
    .option("-c, --config <file>", "settings file whose providers may be named (repeatable)", collect, [])
    .option("--ispdb <folder>", "ISPDB folder whose providers may be named")
    .action(async (args: string[], opts: AddOptions) => {
      const usage = (message: string) => {
        console.error(`mailconf domains add: ${message}`);
        process.exitCode = 2;
      };
      if (opts.provider !== undefined || opts.fromFile !== undefined) {
        if (opts.provider === undefined) return usage("--from-file needs --provider <id>");
        if (opts.aliasOf !== undefined) return usage("give either --provider or --alias-of");
        const list = [...args, ...(opts.fromFile !== undefined ? await readDomainList(opts.fromFile) : [])];
        if (list.length === 0) return usage("no domains: name them or give --from-file <file|->");
        const { withStore } = await store();
        const provider = opts.provider;
        await withStore(opts, async (store) => {
          const r = await store.putDomains(list, provider);
          console.log(
            `provider ${provider}: ${r.created.length} added, ${r.updated.length} updated, ${r.unchanged.length} already in its own domains`,
          );
        });
        return;
      }
      const [domain, provider, ...extra] = args;
      const expected = opts.aliasOf === undefined ? 2 : 1;
      if (domain === undefined || args.length !== expected || extra.length > 0)
        return usage(
          "give <domain> <provider id>, <domain> --alias-of <domain>, or --provider <id> <domain>…",
        );
      const { withStore } = await store();
      await withStore(opts, async (store) => {
        const target = provider !== undefined ? { provider } : { aliasOf: opts.aliasOf as string };
        const { created, entry } = await store.putDomain(domain, target);
        const what = entry.provider ? `provider ${entry.provider}` : `alias of ${entry.aliasOf}`;
        console.log(`${created ? "added" : "updated"} ${entry.domain}: ${what}`);
      });
    });

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
