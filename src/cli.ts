/**
 * The `mailconf` command (Node entry). `npm start` = `mailconf serve`; from a checkout,
 * `npm run cli -- <command>`.
 *
 *   mailconf serve [--port 8080] [--host 127.0.0.1] [--config FILE]… [--ispdb DIR] [--public-url URL]
 *                  [--sign-cert PEM --sign-key PEM [--sign-chain PEM]]
 *                  [--db ./mailconf.db|postgres://…] [--admin-token-file FILE] [--no-mx] [--dns-server IP[:PORT]]…
 *   mailconf check <address> [--config FILE]… [--ispdb DIR] [--db FILE] [--no-mx]
 *   mailconf validate <settings file>…
 *   mailconf dns <domain> [--public-url URL] [--config FILE]… [--ispdb DIR] [--ttl S] [--check [--dns-server IP[:PORT]]… [--timeout MS]]
 *   mailconf providers|domains|import-ispdb|hash-token …   (src/cli-publish.ts)
 *
 * Exit codes: 0 ok, 1 the check found nothing / validation failed / DNS records missing or
 * different, 2 bad usage or configuration, 3 `dns --check` could not look records up.
 * A reader that closes the output early (`| head`) ends the output quietly, not the command.
 */

import { existsSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { checkAddress } from "./check.ts";
import { DEFAULT_DB, registerPublishCommands } from "./cli-publish.ts";
import { ConfigError, loadSettingsFile } from "./config-files.ts";
import { checkDnsRecords, formatDnsCheck, parseDnsServer } from "./dns-check.ts";
import { domainInput } from "./handlers/dns.ts";
import { nodeMxResolver } from "./mx-resolver.ts";
import { loadProfileSigner, loadSettings, signingReport, startServer } from "./node.ts";
import { accountSettings } from "./providers/account.ts";
import { SigningConfigError } from "./signing/signer.ts";
import { dnsRecords, renderZoneLines } from "./templates/dns-records.ts";

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

function parseDnsServerOption(value: string, previous: string[] = []): string[] {
  const server = parseDnsServer(value);
  if (!server)
    throw new InvalidArgumentError("expected an IP address with an optional port, e.g. 127.0.0.1:5353");
  return [...previous, server];
}

function parseIntegerIn(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(`expected an integer ${min}-${max}`);
    return Number(value);
  };
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
      new Option("--sign-cert <pem>", "sign Apple profiles with this certificate (file or PEM text)").env(
        "MAILCONF_SIGN_CERT",
      ),
    )
    .addOption(
      new Option("--sign-key <pem>", "its private key, unencrypted PKCS#8 (file or PEM text)").env(
        "MAILCONF_SIGN_KEY",
      ),
    )
    .addOption(
      new Option("--sign-chain <pem>", "intermediate certificates (file or PEM text)").env(
        "MAILCONF_SIGN_CHAIN",
      ),
    )
    .addOption(
      new Option(
        "--db <path|url>",
        "SQLite file (created if missing) or postgres:// URL of published settings",
      )
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
      parseDnsServerOption,
      [],
    )
    .action(
      async (opts: {
        port: number;
        host: string;
        config: string[];
        ispdb?: string;
        publicUrl?: string;
        signCert?: string;
        signKey?: string;
        signChain?: string;
        db: string;
        adminTokenFile?: string;
        mx: boolean;
        dnsServer: string[];
      }) => {
        const signer = await loadProfileSigner({
          cert: opts.signCert,
          key: opts.signKey,
          chain: opts.signChain,
        });
        const server = await startServer({
          signProfile: signer?.sign,
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
        for (const line of signingReport(signer)) console.log(line);
        console.log(`mailconf listening on ${server.url} (public URL ${server.publicUrl})`);
        console.log(
          `  Thunderbird autoconfig  ${server.url}/mail/config-v1.1.xml?emailaddress=user@example.com`,
        );
        console.log(`                          ${server.url}/.well-known/autoconfig/mail/config-v1.1.xml`);
        console.log(`                          ${server.url}/v1.1/example.com`);
        console.log(`  Outlook Autodiscover    POST ${server.url}/autodiscover/autodiscover.xml`);
        console.log(`  Apple profile           ${server.url}/mobileconfig?email=user@example.com`);
        console.log(`  Settings guide          ${server.url}/   (JSON: /api/v1/settings?email=…)`);
        console.log(`  DNS records             ${server.url}/dns?domain=example.com`);
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
      new Option(
        "--db <path|url>",
        `SQLite file or postgres:// URL of published settings (default ${DEFAULT_DB} if it exists)`,
      ).env("MAILCONF_DB"),
    )
    .option("--no-mx", "do not resolve unknown domains by their MX records")
    .option("--dns-server <ip[:port]>", "DNS server for MX lookups (repeatable)", parseDnsServerOption, [])
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
          await loaded.close();
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
          // Alias targets must be served: by this file or a built-in provider.
          await (await loadSettings({ configFiles: [file] })).close();
          console.log(`${file}: ok, ${settings.providers.length} provider(s)`);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          for (const p of e.problems) console.error(p);
          failed = true;
        }
      }
      if (failed) process.exitCode = 1;
    });
  cmd
    .command("dns")
    .description("print the DNS records that make clients find this server and the mail servers")
    .argument("<domain>", "mail domain, e.g. example.com (an address works too)")
    .option("-c, --config <file>", "settings file, YAML or JSON (repeatable)", collect, [])
    .option("--ispdb <folder>", "Mozilla ISPDB folder")
    .addOption(
      new Option(
        "--public-url <url>",
        "URL clients reach mailconf at (default: publicUrl of the settings file)",
      )
        .env("MAILCONF_PUBLIC_URL")
        .argParser(parseUrl),
    )
    .addOption(
      new Option("--ttl <seconds>", "TTL of every record")
        .default(3600)
        .argParser(parseIntegerIn(0, 2147483647)),
    )
    .option(
      "--check",
      "compare with live DNS: exit 1 if a record is missing or different, 3 if lookups failed",
    )
    .option(
      "--dns-server <ip[:port]>",
      "resolver to ask with --check (repeatable; default: the system's)",
      parseDnsServerOption,
    )
    .addOption(
      new Option("--timeout <ms>", "per-query timeout with --check")
        .default(3000)
        .argParser(parseIntegerIn(1, 60000)),
    )
    .action(
      async (
        typed: string,
        opts: {
          config: string[];
          ispdb?: string;
          publicUrl?: string;
          ttl: number;
          check?: boolean;
          dnsServer?: string[];
          timeout: number;
        },
      ) => {
        const domain = domainInput(typed);
        if (!domain) {
          console.error(`mailconf dns: ${JSON.stringify(typed)} is not a domain name`);
          process.exitCode = 2;
          return;
        }
        const loaded = await loadSettings({ configFiles: opts.config, ispdb: opts.ispdb });
        // The domain first: records for a domain without settings cannot be made, whatever the URL.
        const resolution = await loaded.store.resolve(domain);
        if (!resolution) {
          console.error(
            `mailconf dns: no settings for ${domain} (not in the settings files, the ISPDB folder or the built-in providers)`,
          );
          process.exitCode = 1;
          return;
        }
        const publicUrl = opts.publicUrl ?? loaded.publicUrl;
        if (!publicUrl) {
          console.error(
            "mailconf dns: no public URL: pass --public-url https://autoconfig.example.org (or set publicUrl in a settings file)",
          );
          process.exitCode = 2;
          return;
        }
        const set = dnsRecords({ account: accountSettings(resolution), publicUrl, ttl: opts.ttl });
        if (!opts.check) {
          process.stdout.write(renderZoneLines(set, publicUrl));
          return;
        }
        const results = await checkDnsRecords(set.records, {
          servers: opts.dnsServer,
          timeoutMs: opts.timeout,
        });
        const report = formatDnsCheck(results);
        for (const line of report.lines) console.log(line);
        process.exitCode = report.exitCode;
      },
    );

  registerPublishCommands(cmd);
  return cmd;
}

/**
 * Makes a closed pipe on stdout or stderr (`mailconf check … | head -3`) a non-event: the first
 * EPIPE stops output to that stream, silently, and the command finishes with its own exit code
 * (Node ignores SIGPIPE, so without this the write error is an unhandled 'error' event: a stack
 * trace and exit 1). Any other stream error is thrown as before.
 */
export function ignoreClosedPipes(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE" && e.code !== "ERR_STREAM_DESTROYED") throw e;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}

/** Runs the CLI; configuration errors are printed without a stack trace and exit with 2. */
export async function main(argv = process.argv): Promise<void> {
  ignoreClosedPipes();
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error("mailconf: invalid configuration; nothing was started or changed:");
      for (const p of e.problems) console.error(`  ${p}`);
      process.exit(2);
    }
    if (e instanceof SigningConfigError) {
      console.error(`mailconf: cannot sign Apple profiles, not starting: ${e.message}`);
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
