/**
 * `mailconf check <address>`: what each client would receive for an address (the report is
 * src/cli/check-report.ts). Settings and templates are imported when the command runs.
 */
import { existsSync } from "node:fs";
import { type Command, Option } from "commander";
import type { DirectoryLookup } from "../providers/directory.ts";
import { collect, DEFAULT_DB, parseDnsServerOption } from "./options.ts";

interface CheckCommandOptions {
  config: string[];
  ispdb?: string;
  db?: string;
  mx: boolean;
  dnsServer: string[];
}

/** Adds `check` to the program. */
export function registerCheck(cmd: Command): void {
  cmd
    .command("check")
    .description("show what each client would receive for an address")
    .argument("<address>", "e-mail address, e.g. user@example.com")
    .option("-c, --config <file>", "settings file, YAML or JSON (repeatable)", collect, [])
    .option("--ispdb <folder>", "Mozilla ISPDB folder")
    .addOption(
      new Option(
        "--db <path|url>",
        `SQLite file or postgres:// URL of published settings (default ${DEFAULT_DB} if it exists)`,
      ).env("MAILCONF_DB"),
    )
    .option("--no-mx", "do not resolve unknown domains by their MX records")
    .option("--dns-server <ip[:port]>", "DNS server for MX lookups (repeatable)", parseDnsServerOption, [])
    .action(check);
}

async function check(address: string, opts: CheckCommandOptions): Promise<void> {
  const { loadSettings } = await import("../node/settings.ts");
  const { nodeMxResolver } = await import("../node/mx-resolver.ts");
  const { checkAddress } = await import("./check-report.ts");
  const loaded = await loadSettings({
    configFiles: opts.config,
    ispdb: opts.ispdb,
    db: opts.db ?? (existsSync(DEFAULT_DB) ? DEFAULT_DB : undefined),
    mxResolver: opts.mx ? nodeMxResolver({ servers: opts.dnsServer }) : undefined,
  });
  try {
    // The LDAP client is loaded only for a provider that names a directory.
    const directory: DirectoryLookup = async (dir, addr) => {
      const { ldapDirectory } = await import("../node/ldap.ts");
      return await ldapDirectory({ log: (m) => console.error(m) })(dir, addr);
    };
    const result = await checkAddress(loaded.store, address, directory);
    for (const line of result.lines) console.log(line);
    if (!result.ok) process.exitCode = 1;
  } finally {
    await loaded.close();
  }
}
