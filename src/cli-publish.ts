/**
 * Node-only: the `mailconf` commands that publish to the SQL store (the same store as the admin API):
 *
 *   mailconf providers list [--json]
 *   mailconf providers add <settings file>…        publish every provider (and alias) in the files
 *   mailconf providers remove <id>…
 *   mailconf providers export [id…] [--json]       a settings file of what is published
 *   mailconf domains list [--provider ID] [--json]
 *   mailconf domains add <domain> <provider id>    or: domains add <domain> --alias-of <domain>
 *   mailconf domains remove <domain>…
 *   mailconf import-ispdb <folder|file>            Mozilla ISPDB files into the SQL store
 *   mailconf hash-token [token|-]                  a `sha256:` line for the admin token file (stdout;
 *                                                  a token it makes is shown on stderr)
 *
 * Every command takes `--db <path>` (env MAILCONF_DB, default ./mailconf.db); the ones naming
 * providers also `--config` and `--ispdb`, so a domain can be assigned to a provider of those sources.
 * Each write is one transaction: a failed write changes nothing. A running server sees it at once.
 * Exit codes: 0 ok, 1 refused (validation, conflict, not found), 2 bad usage or configuration.
 */

import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Command, Option } from "commander";
import { stringify } from "yaml";
import { loadIspdb, readSettingsFile } from "./config-files.ts";
import { MIN_TOKEN_LENGTH, tokenHashLine } from "./handlers/admin-auth.ts";
import { loadSettings } from "./node.ts";
import { normalizeDomain } from "./providers/domain.ts";
import { type FieldError, formatPath, type Provider } from "./providers/model.ts";
import { type DomainEntry, ListedDomainError, type SqlStore, WriteError } from "./providers/sql-store.ts";

/** Default SQLite file of `mailconf serve` and the publishing commands. */
export const DEFAULT_DB = "./mailconf.db";

const dbOption = () =>
  new Option("--db <path>", "SQLite file of published settings").env("MAILCONF_DB").default(DEFAULT_DB);

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface StoreOptions {
  db: string;
  config?: string[];
  ispdb?: string;
}

/** Opens the store (with the other sources as fallback for provider ids), runs `fn`, closes it. */
async function withStore<T>(opts: StoreOptions, fn: (store: SqlStore) => Promise<T>): Promise<T> {
  const loaded = await loadSettings({ db: opts.db, configFiles: opts.config ?? [], ispdb: opts.ispdb });
  try {
    return await fn(loaded.sql as SqlStore);
  } catch (e) {
    if (!(e instanceof WriteError)) throw e;
    for (const err of e.errors) console.error(`${formatPath(err.path)}: ${err.message}`);
    process.exitCode = 1;
    return undefined as T;
  } finally {
    loaded.close();
  }
}

/** Every page of a listing. */
async function all<T>(page: (after?: string) => Promise<{ items: T[]; next: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await page(after);
    out.push(...p.items);
    if (p.next === null) return out;
    after = p.next;
  }
}

const allDomains = (store: SqlStore, provider?: string) =>
  all<DomainEntry>((after) => store.listDomains({ after, limit: 10_000, provider }));

/** Adds the publishing commands to the program. */
export function registerPublishCommands(cmd: Command): void {
  const providers = cmd.command("providers").description("published providers (the SQL store)");

  providers
    .command("list")
    .description("list published providers")
    .addOption(dbOption())
    .option("--json", "print JSON")
    .action(async (opts: StoreOptions & { json?: boolean }) => {
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
      const list: Provider[] = [];
      const aliases: Record<string, string> = {};
      const assigned: Record<string, string> = {};
      // Where each provider, alias and assignment came from, so a refusal names its file and line.
      const origins: { file: string; lineOf: (path: (string | number)[]) => number; index: number }[] = [];
      const keyOrigin = new Map<string, { file: string; lineOf: (path: (string | number)[]) => number }>();
      for (const file of files) {
        const { settings, lineOf } = await readSettingsFile(file); // ConfigError: file:line: path: rule (exit 2)
        settings.providers.forEach((p, index) => {
          list.push(p);
          origins.push({ file, lineOf, index });
        });
        Object.assign(aliases, settings.aliases);
        Object.assign(assigned, settings.assignedDomains);
        for (const key of [...Object.keys(settings.aliases), ...Object.keys(settings.assignedDomains)])
          keyOrigin.set(key, { file, lineOf });
      }
      /** `file:line: path: message` for an error of putProviders (paths as documented there). */
      const located = (e: FieldError): string => {
        const [head, ...rest] = e.path;
        if (head === "aliases" || head === "assignedDomains") {
          const key = String(rest[0]);
          const from =
            keyOrigin.get(key) ??
            [...keyOrigin.entries()].find(([k]) => normalizeDomain(k, { wildcard: true }) === key)?.[1];
          if (from) return `${from.file}:${from.lineOf(e.path)}: ${formatPath(e.path)}: ${e.message}`;
        }
        const i = typeof head === "number" ? head : 0;
        const inner = typeof head === "number" ? rest : e.path;
        const from = origins[i];
        if (from && e.path.length > 0) {
          const path = ["providers", from.index, ...inner];
          return `${from.file}:${from.lineOf(path)}: ${formatPath(path)}: ${e.message}`;
        }
        return `${formatPath(e.path)}: ${e.message}`;
      };
      await withStore(opts, async (store) => {
        let result: { created: string[]; replaced: string[] };
        try {
          result = await store.putProviders(list, aliases, assigned);
        } catch (e) {
          if (!(e instanceof WriteError)) throw e;
          for (const err of e.errors) console.error(located(err));
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
        console.log(opts.json ? JSON.stringify(doc, null, 2) : stringify(doc, { lineWidth: 0 }).trimEnd());
      });
    });

  const domains = cmd.command("domains").description("published domains (the SQL store)");

  domains
    .command("list")
    .description("list published domains")
    .addOption(dbOption())
    .option("--provider <id>", "only the domains of this provider")
    .option("--json", "print JSON")
    .action(async (opts: StoreOptions & { provider?: string; json?: boolean }) => {
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

  cmd
    .command("import-ispdb")
    .description("publish Mozilla ISPDB files into the SQL store (replaces providers with the same id)")
    .argument("<path>", "ISPDB folder, or one clientConfig .xml file")
    .addOption(dbOption())
    .action(async (path: string, opts: StoreOptions) => {
      const folder = await loadIspdb(path);
      for (const s of folder.skipped) console.error(`skipped ${s.file}: ${s.reason}`);
      const folderPath = path.toLowerCase().endsWith(".xml") ? dirname(path) : path;
      /** `file:line` of a domain in an ISPDB file (its `<domain>` element), for messages. */
      const where = async (source: string, domain: string): Promise<string> => {
        const file = join(folderPath, source.replace(/^ispdb:/, ""));
        const text = await readFile(file, "utf8").catch(() => "");
        const at = text.search(
          new RegExp(`<domain>\\s*${domain.replace(/[.*]/g, "\\$&")}\\s*</domain>`, "i"),
        );
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
            if (
              current === undefined ||
              (current.provider === provider.id && current.origin === "provider")
            ) {
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
    });

  cmd
    .command("hash-token")
    .description(
      "print the sha256: line of an admin token for --admin-token-file (no token: make one, shown on stderr)",
    )
    .argument("[token]", "the token, or - to read it from standard input")
    .action(async (token?: string) => {
      let value = token;
      if (value === "-") {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        value = Buffer.concat(chunks).toString("utf8").trim();
      }
      if (value !== undefined && value.length < MIN_TOKEN_LENGTH) {
        // The same rule as tokens written in a token file: a short token is guessable.
        console.error(
          `mailconf: a token needs at least ${MIN_TOKEN_LENGTH} characters; run hash-token without one to make a random token`,
        );
        process.exitCode = 2;
        return;
      }
      if (value === undefined) {
        // The secret goes to the terminal (stderr), never to stdout: `hash-token >> admin-tokens`
        // must leave only the hash in the file.
        value = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
        console.error("mailconf: new admin token; clients send it as 'Authorization: Bearer <token>'.");
        console.error("Keep it secret; only the sha256: line (stdout) goes into the token file:");
        console.error(value);
      }
      console.log(await tokenHashLine(value));
    });
}
