/**
 * `mailconf serve`: serve autoconfig, Autodiscover, profiles, pages and the admin API over HTTP
 * (src/node/server.ts). The server modules are imported when the command runs, not before.
 */
import { type Command, Option } from "commander";
import { collect, DEFAULT_DB, parseDnsServerOption, parsePort, parseUrl } from "./options.ts";

interface ServeCommandOptions {
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
}

/** Adds `serve` to the program. */
export function registerServe(cmd: Command): void {
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
      parseDnsServerOption,
      [],
    )
    .action(serve);
}

async function serve(opts: ServeCommandOptions): Promise<void> {
  const { loadProfileSigner, signingReport, startServer } = await import("../node/server.ts");
  const { nodeMxResolver } = await import("../node/mx-resolver.ts");
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
  console.log(`  Thunderbird autoconfig  ${server.url}/mail/config-v1.1.xml?emailaddress=user@example.com`);
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
}
