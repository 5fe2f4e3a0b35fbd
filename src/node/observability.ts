/**
 * Watching a running server (Node): the access log (one line per request, text or JSON, written
 * through a buffered stream), rate-limited operator warnings, and Prometheus metrics (prom-client)
 * served on their own listener (`--metrics host:port`). See docs/operations.md.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import SonicBoomModule from "sonic-boom";
import type { RequestRecord } from "../handlers/operations.ts";

/** sonic-boom is CommonJS: its class is the module itself. */
const SonicBoom = SonicBoomModule as unknown as typeof SonicBoomModule.SonicBoom;

/** `--log-format`: `text` (one space-separated line) or `json` (one JSON object a line). */
export type LogFormat = "text" | "json";

/**
 * One access-log line, without the newline. Text: `<ISO time> <client> <method> <route> <status>
 * <ms>ms <domain or ->`; JSON: `{"time","client","method","route","status","ms","domain"}`. Only
 * the mail domain is logged, never a local part, a full address, a query string or a header.
 */
export function formatAccessLine(r: RequestRecord, format: LogFormat, time = new Date()): string {
  const ms = Math.round(r.durationMs * 10) / 10;
  if (format === "json")
    return JSON.stringify({
      time: time.toISOString(),
      client: r.client,
      method: r.method,
      route: r.route,
      status: r.status,
      ms,
      domain: r.domain ?? null,
    });
  return `${time.toISOString()} ${r.client} ${r.method} ${r.route} ${r.status} ${ms}ms ${r.domain ?? "-"}`;
}

/** A buffered line writer (sonic-boom): lines are joined and written asynchronously. */
export interface LineWriter {
  write(line: string): void;
  /** Writes what is buffered before the process exits. */
  flush(): void;
}

/**
 * A writer to a file descriptor (1 = standard output) through sonic-boom. Writes made while one is
 * in flight are joined into the next; over 16 MiB waiting (a reader that stopped), lines are dropped
 * rather than kept in memory.
 */
export function bufferedWriter(fd = 1): LineWriter {
  const stream = new SonicBoom({ fd, minLength: 0, maxLength: 16 * 1024 * 1024, sync: false });
  stream.on("error", () => {}); // a closed pipe must not end the server
  return {
    write: (line) => {
      stream.write(`${line}\n`);
    },
    flush: () => {
      try {
        stream.flushSync();
      } catch {
        // EAGAIN or a closed pipe at exit: nothing more can be done
      }
    },
  };
}

/**
 * Limits repeated warnings: messages of one kind (the text with domains, addresses and numbers
 * blanked, so "unknown domain for a***@x.example" and "…@y.example" are one kind) are written at
 * most `perMinute` times a minute; the next one written after a quiet stretch says how many were
 * suppressed.
 * @param write the real sink
 * @param now clock in ms (tests)
 */
export function rateLimitedLog(
  write: (message: string) => void,
  perMinute = 10,
  now: () => number = Date.now,
): (message: string) => void {
  const kinds = new Map<string, { windowStart: number; count: number; suppressed: number }>();
  return (message) => {
    const kind = message.replace(/[^\s:()]*[@.][^\s:()]*|\d+/g, "#");
    const t = now();
    let entry = kinds.get(kind);
    if (!entry || t - entry.windowStart >= 60_000) {
      if (kinds.size > 1000) kinds.clear();
      const suppressed = entry?.suppressed ?? 0;
      entry = { windowStart: t, count: 0, suppressed: 0 };
      kinds.set(kind, entry);
      if (suppressed > 0) write(`(${suppressed} more like the next line in the last minute)`);
    }
    if (entry.count < perMinute) {
      entry.count++;
      write(message);
    } else entry.suppressed++;
  };
}

/** The metrics of one server (prom-client, its own registry). */
export interface ServerMetrics {
  registry: Registry;
  /** Counts a finished request (requests by route and status, duration, domains, rate-limit hits). */
  request(record: RequestRecord): void;
  /** Counts an operator log line that reports a store or DNS error. */
  logLine(message: string): void;
  /** Counts a reload of the settings files. */
  reload(ok: boolean): void;
}

const STORE_ERROR = /settings store failed|database error|does not validate any more/i;
const DNS_ERROR = /^mx: lookup failed/;

/**
 * Creates the metrics: `mailconf_http_requests_total{route,status}`,
 * `mailconf_http_request_duration_seconds{route}` (histogram), `mailconf_domain_lookups_total{result}`
 * (known/unknown), `mailconf_store_errors_total`, `mailconf_dns_errors_total`,
 * `mailconf_reloads_total{result}`, `mailconf_rate_limited_total{limit}`, plus prom-client's
 * process metrics (`process_*`, `nodejs_*`).
 */
export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "mailconf_http_requests_total",
    help: "HTTP requests by route pattern and status",
    labelNames: ["route", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "mailconf_http_request_duration_seconds",
    help: "Time from the request reaching the app to its response, by route pattern",
    labelNames: ["route"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const lookups = new Counter({
    name: "mailconf_domain_lookups_total",
    help: "Mail-domain lookups by result (known: some source has settings; unknown: none)",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: "mailconf_store_errors_total",
    help: "Settings store (database) errors",
    registers: [registry],
  });
  const dnsErrors = new Counter({
    name: "mailconf_dns_errors_total",
    help: "MX lookups that failed (timeouts, SERVFAIL)",
    registers: [registry],
  });
  const reloads = new Counter({
    name: "mailconf_reloads_total",
    help: "Reloads of the settings files by result (ok, failed: the last good settings stayed)",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const limited = new Counter({
    name: "mailconf_rate_limited_total",
    help: "Requests refused with 429, by the limit they hit (request, expensive, failure)",
    labelNames: ["limit"] as const,
    registers: [registry],
  });
  for (const result of ["known", "unknown"]) lookups.inc({ result }, 0);
  for (const result of ["ok", "failed"]) reloads.inc({ result }, 0);
  return {
    registry,
    request(r) {
      requests.inc({ route: r.route, status: r.status });
      duration.observe({ route: r.route }, r.durationMs / 1000);
      if (r.known !== undefined) lookups.inc({ result: r.known ? "known" : "unknown" });
      if (r.limited) limited.inc({ limit: r.limited });
    },
    logLine(message) {
      if (DNS_ERROR.test(message)) dnsErrors.inc();
      else if (STORE_ERROR.test(message)) storeErrors.inc();
    },
    reload(ok) {
      reloads.inc({ result: ok ? "ok" : "failed" });
    },
  };
}

/**
 * `--metrics <host:port>`: parses the listen address (`127.0.0.1:9464`, `[::1]:9464`, `:9464` for
 * all interfaces).
 * @returns undefined if the value is not host:port with a port 0-65535
 */
export function parseListenAddress(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[3]) > 65535) return undefined;
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port: Number(m[3]) };
}

/**
 * Serves `GET /metrics` (Prometheus text format) on its own listener, apart from the public port.
 * @returns the server and its URL, e.g. `http://127.0.0.1:9464/metrics`
 */
export async function serveMetrics(
  metrics: ServerMetrics,
  listen: { host: string; port: number },
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(path === "/metrics" ? 405 : 404, { "Content-Type": "text/plain" }).end("Not found.\n");
      return;
    }
    const body = await metrics.registry.metrics();
    res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}/metrics` };
}
