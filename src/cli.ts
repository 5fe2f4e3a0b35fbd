/**
 * The `mailconf` command (Node entry). `npm start` = `mailconf serve`; from a checkout,
 * `npm run cli -- <command>`.
 *
 *   mailconf serve [--port 8080] [--host 127.0.0.1] [--config FILE]… [--ispdb DIR] [--public-url URL]
 *                  [--db ./mailconf.db] [--admin-token-file FILE] [--no-mx] [--dns-server IP[:PORT]]…
 *   mailconf check <address> [--config FILE]… [--ispdb DIR] [--db FILE] [--no-mx]
 *   mailconf validate <settings file>…
 *   mailconf providers|domains|import-ispdb|hash-token …   (src/cli-publish.ts)
 *
 * Exit codes: 0 ok, 1 the check found nothing / validation failed, 2 bad usage or configuration.
 */

import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { Command, InvalidArgumentError, Option } from "commander";
import { checkAddress } from "./check.ts";
import { DEFAULT_DB, registerPublishCommands } from "./cli-publish.ts";
import { ConfigError, loadSettingsFile } from "./config-files.ts";
import { nodeMxResolver } from "./mx-resolver.ts";
import { loadSettings, startServer } from "./node.ts";

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError("expected an integer 0-65535");
  return Number(value);
}

function parseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error();
    return url.href.replace(/\/+$/, "");
  } catch {
    throw new InvalidArgumentError("expected an absolute http(s) URL, e.g. https://autoconfig.example.com");
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--dns-server`: an IPv4/IPv6 address, optionally with a port (`127.0.0.1:5353`, `[::1]:5353`). */
function collectDnsServer(value: string, previous: string[] = []): string[] {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$|^([^:]+)(?::(\d{1,5}))?$|^([0-9a-f:]+)$/i.exec(value);
  const host = m?.[1] ?? m?.[3] ?? m?.[5];
  const port = m?.[2] ?? m?.[4];
  if (!host || isIP(host) === 0 || (port !== undefined && Number(port) > 65535))
    throw new InvalidArgumentError("expected an IP address, optionally with :port, e.g. 127.0.0.1:5353");
  return [...previous, value];
}

/** Builds the command-line program (exported for tests). */
export function program(): Command {
  const cmd = new Command("mailconf")
    .description(
      "Tells mail clients how to connect: Thunderbird autoconfig, Outlook Autodiscover, Apple profiles",
    )
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });

  cmd
    .command("serve")
    .description("serve autoconfig, Autodiscover and profiles over HTTP")
    .addOption(new Option("-p, --port <port>", "TCP port").env("PORT").default(8080).argParser(parsePort))
    .addOption(new Option("--host <address>", "listen address").env("HOST").default("127.0.0.1"))
    .option("-c, --config <file>", "settings file, YAML or JSON (repeatable; first wins)", collect, [])
    .option("--ispdb <folder>", "serve every Mozilla ISPDB *.xml file in this folder")
    .addOption(
      new Option("--public-url <url>", "URL clients reach this server at")
        .env("MAILCONF_PUBLIC_URL")
        .argParser(parseUrl),
    )
    .addOption(
      new Option("--db <path>", "SQLite file of published settings (created if missing)")
        .env("MAILCONF_DB")
        .default(DEFAULT_DB),
    )
    .option(
      "--admin-token-file <file>",
      "admin API tokens, one token or sha256:<hex> a line (env MAILCONF_ADMIN_TOKENS)",
    )
    .option("--no-mx", "do not resolve unknown domains by their MX records")
    .option(
      "--dns-server <ip[:port]>",
      "DNS server for MX lookups (repeatable; default: the system's)",
      collect,
      [],
    )
    .action(
      async (opts: {
        port: number;
        host: string;
        config: string[];
        ispdb?: string;
        publicUrl?: string;
        db: string;
        adminTokenFile?: string;
        mx: boolean;
        dnsServer: string[];
      }) => {
        const server = await startServer({
          port: opts.port,
          host: opts.host,
          configFiles: opts.config,
          ispdb: opts.ispdb,
          publicUrl: opts.publicUrl,
          db: opts.db,
          adminTokenFile: opts.adminTokenFile,
          adminTokens: process.env.MAILCONF_ADMIN_TOKENS,
          mxResolver: opts.mx ? nodeMxResolver({ servers: opts.dnsServer }) : undefined,
          log: (m) => console.error(m),
        });
        for (const line of server.report) console.log(line);
        console.log("Apple profiles are unsigned (no signing certificate configured).");
        console.log(`mailconf listening on ${server.url} (public URL ${server.publicUrl})`);
        console.log(
          `  Thunderbird autoconfig  ${server.url}/mail/config-v1.1.xml?emailaddress=user@example.com`,
        );
        console.log(`                          ${server.url}/.well-known/autoconfig/mail/config-v1.1.xml`);
        console.log(`                          ${server.url}/v1.1/example.com`);
        console.log(`  Outlook Autodiscover    POST ${server.url}/autodiscover/autodiscover.xml`);
        console.log(`  Apple profile           ${server.url}/mobileconfig?email=user@example.com`);
        const stop = () => {
          console.log("mailconf stopping");
          server.close().then(() => process.exit(0));
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      },
    );

  cmd
    .command("check")
    .description("show what each client would receive for an address")
    .argument("<address>", "e-mail address, e.g. user@example.com")
    .option("-c, --config <file>", "settings file, YAML or JSON (repeatable)", collect, [])
    .option("--ispdb <folder>", "Mozilla ISPDB folder")
    .addOption(
      new Option("--db <path>", `SQLite file of published settings (default ${DEFAULT_DB} if it exists)`).env(
        "MAILCONF_DB",
      ),
    )
    .option("--no-mx", "do not resolve unknown domains by their MX records")
    .option("--dns-server <ip[:port]>", "DNS server for MX lookups (repeatable)", collectDnsServer, [])
    .action(
      async (
        address: string,
        opts: { config: string[]; ispdb?: string; db?: string; mx: boolean; dnsServer: string[] },
      ) => {
        const loaded = await loadSettings({
          configFiles: opts.config,
          ispdb: opts.ispdb,
          db: opts.db ?? (existsSync(DEFAULT_DB) ? DEFAULT_DB : undefined),
          mxResolver: opts.mx ? nodeMxResolver({ servers: opts.dnsServer }) : undefined,
        });
        try {
          const result = await checkAddress(loaded.store, address);
          for (const line of result.lines) console.log(line);
          if (!result.ok) process.exitCode = 1;
        } finally {
          loaded.close();
        }
      },
    );

  cmd
    .command("validate")
    .description("check settings files and report every mistake with its line and field")
    .argument("<files...>", "settings files")
    .action(async (files: string[]) => {
      let failed = false;
      for (const file of files) {
        try {
          const settings = await loadSettingsFile(file);
          console.log(`${file}: ok, ${settings.providers.length} provider(s)`);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          for (const p of e.problems) console.error(p);
          failed = true;
        }
      }
      if (failed) process.exitCode = 1;
    });

  registerPublishCommands(cmd);
  return cmd;
}

/** Runs the CLI; configuration errors are printed without a stack trace and exit with 2. */
export async function main(argv = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error("mailconf: invalid configuration, not starting:");
      for (const p of e.problems) console.error(`  ${p}`);
      process.exit(2);
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL") {
      console.error(`mailconf: cannot listen: ${err.message}`);
      process.exit(2);
    }
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
