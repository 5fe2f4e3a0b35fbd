/**
 * `mailconf dns <domain> [--check]`: the DNS records that make clients find this server and the
 * mail servers (src/templates/dns-records.ts), or with `--check` how live DNS compares
 * (src/node/dns-check.ts). Exit codes: 1 no settings / records missing or different, 2 bad usage,
 * 3 lookups failed.
 */
import { type Command, Option } from "commander";
import { collect, parseDnsServerOption, parseIntegerIn, parseUrl } from "./options.ts";

interface DnsCommandOptions {
  config: string[];
  ispdb?: string;
  publicUrl?: string;
  ttl: number;
  check?: boolean;
  dnsServer?: string[];
  timeout: number;
}

/** Adds `dns` to the program. */
export function registerDns(cmd: Command): void {
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
    .action(dns);
}

async function dns(typed: string, opts: DnsCommandOptions): Promise<void> {
  const { domainInput } = await import("../handlers/dns.ts");
  const domain = domainInput(typed);
  if (!domain) {
    console.error(`mailconf dns: ${JSON.stringify(typed)} is not a domain name`);
    process.exitCode = 2;
    return;
  }
  const { loadSettings } = await import("../node/settings.ts");
  const { accountSettings } = await import("../providers/account.ts");
  const { dnsRecords, renderZoneLines } = await import("../templates/dns-records.ts");
  const { paccDnsInput } = await import("../templates/pacc.ts");
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
  const account = accountSettings(resolution);
  const set = dnsRecords({ account, publicUrl, ttl: opts.ttl, ...(await paccDnsInput(account)) });
  if (!opts.check) {
    process.stdout.write(renderZoneLines(set, publicUrl));
    return;
  }
  const { checkDnsRecords, formatDnsCheck } = await import("../node/dns-check.ts");
  const results = await checkDnsRecords(set.records, {
    servers: opts.dnsServer,
    timeoutMs: opts.timeout,
  });
  const report = formatDnsCheck(results);
  for (const line of report.lines) console.log(line);
  process.exitCode = report.exitCode;
}
