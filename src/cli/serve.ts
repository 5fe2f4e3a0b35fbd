/**
 * `mailconf serve`: serve autoconfig, Autodiscover, profiles, pages and the admin API over HTTP
 * (src/node/server.ts). The server modules are imported when the command runs, not before.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_MAX_PIPELINED, DEFAULT_RATE_LIMIT } from "../node/defaults.ts";
import { collect, DEFAULT_DB, parseDnsServerOption, parseIntegerIn, parsePort, parseUrl } from "./options.ts";

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
  rateLimit: number;
  trustProxy?: string[];
  logFormat: "text" | "json";
  accessLog: boolean;
  metrics?: { host: string; port: number };
  shutdownGrace: number;
  maxPipelined: number;
  watch?: boolean;
  pidFile?: string;
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
    .addOption(
      new Option(
        "--rate-limit <n>",
        "requests per client and minute (expensive routes a fifth, failures a tenth); 0 = off",
      )
        .env("MAILCONF_RATE_LIMIT")
        .default(DEFAULT_RATE_LIMIT)
        .argParser(parseIntegerIn(0, 1_000_000)),
    )
    .addOption(
      new Option(
        "--trust-proxy <addresses>",
        "honour Forwarded/X-Forwarded-* from these proxies: IPs, CIDRs, loopback (repeatable, comma-separated)",
      )
        .env("MAILCONF_TRUST_PROXY")
        .argParser(collect),
    )
    .addOption(
      new Option("--log-format <format>", "access log format")
        .choices(["text", "json"])
        .env("MAILCONF_LOG_FORMAT")
        .default("text"),
    )
    .option("--no-access-log", "do not write an access-log line per request to standard output")
    .addOption(
      new Option("--metrics <host:port>", "serve Prometheus metrics at http://<host:port>/metrics")
        .env("MAILCONF_METRICS")
        .argParser(parseListen),
    )
    .addOption(
      new Option("--shutdown-grace <seconds>", "on SIGTERM, how long requests in flight may take")
        .default(10)
        .argParser(parseIntegerIn(0, 3600)),
    )
    .addOption(
      new Option("--max-pipelined <n>", "most requests in flight per connection; more closes it")
        .default(DEFAULT_MAX_PIPELINED)
        .argParser(parseIntegerIn(1, 1000)),
    )
    .option("--watch", "reload settings files and the ISPDB folder when they change (SIGHUP always does)")
    .addOption(
      new Option("--pid-file <file>", "write the process id here once listening (for mailconf reload)").env(
        "MAILCONF_PID_FILE",
      ),
    )
    .action(serve);
}

/** `--metrics host:port` (`127.0.0.1:9464`, `[::1]:9464`, `:9464` = every interface). */
function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[3]) > 65535) throw new InvalidArgumentError("expected host:port, e.g. 127.0.0.1:9464");
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port: Number(m[3]) };
}

async function serve(opts: ServeCommandOptions): Promise<void> {
  // A SIGHUP while starting must not end the process (Node's default): it reloads once started.
  let reload: () => void = () => {};
  process.on("SIGHUP", () => {
    console.error("mailconf: SIGHUP: reloading the settings files");
    reload();
  });
  const { loadProfileSigner, signingReport, startServer, WARNINGS_PER_MINUTE } = await import(
    "../node/server.ts"
  );
  const { nodeMxResolver } = await import("../node/mx-resolver.ts");
  const { bufferedWriter } = await import("../node/observability.ts");
  const signer = await loadProfileSigner({
    cert: opts.signCert,
    key: opts.signKey,
    chain: opts.signChain,
  });
  const accessLog = opts.accessLog ? bufferedWriter(1) : undefined;
  // What the server logs while starting waits for the start-up report: the published settings load
  // in the background once listening and may finish first, and "database: N published domain(s)
  // held in memory" belongs after "database: <file>, applied …", not before it.
  let held: string[] | undefined = [];
  const release = () => {
    for (const m of held ?? []) console.error(m);
    held = undefined;
  };
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
    log: (m) => (held ? held.push(m) : console.error(m)),
    warningsPerMinute: WARNINGS_PER_MINUTE,
    rateLimit: opts.rateLimit,
    trustProxy: opts.trustProxy,
    accessLog,
    logFormat: opts.logFormat,
    metrics: opts.metrics,
    shutdownGraceMs: opts.shutdownGrace * 1000,
    maxPipelined: opts.maxPipelined,
    watch: opts.watch,
  }).catch((e: unknown) => {
    release();
    throw e;
  });
  reload = () => void server.reload();
  // The pid file exists before the listening line, so whoever waits for that line can use it.
  if (opts.pidFile !== undefined) {
    const { removePidFile, writePidFile } = await import("../node/pid-file.ts");
    const pidFile = opts.pidFile;
    try {
      writePidFile(pidFile);
    } catch (e) {
      release();
      console.error(`mailconf: --pid-file ${pidFile}: ${(e as Error).message}`);
      await server.close();
      process.exit(2);
    }
    process.on("exit", () => removePidFile(pidFile));
  }
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
  release();
  // SIGTERM/SIGINT: drain (answers in flight finish, up to --shutdown-grace), then exit; a second
  // signal exits at once. SIGHUP (above): reload the settings files (systemd ExecReload).
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    const closed = server.close(); // stops accepting at once
    console.error(`mailconf: ${signal}: stopping (requests in flight get up to ${opts.shutdownGrace} s)`);
    closed.then(() => {
      console.error("mailconf: stopped");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
