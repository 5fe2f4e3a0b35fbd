/**
 * The Node fast path (src/node/fast-path.ts) sends exactly the bytes the app sends: two real
 * servers with the same settings, one with the fast path and one without (`fastPath: false`), get
 * the same requests over raw sockets, and their answers must be byte for byte the same (the Date
 * line aside): status line, every header in order, body. Also their access-log records, and their
 * rate-limit refusals. The fast server must have answered the hot requests itself.
 */
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/node/server.ts";
import { startTestServer } from "./helpers/server.ts";

const FIXTURES = join(import.meta.dirname, "fixtures/autodiscover");

interface Req {
  method: string;
  target: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

/**
 * The whole answer to one request on its own connection, as bytes, with the Date line and the time
 * of Autodiscover error documents (`<Error Time="…">`) removed.
 */
function exchange(url: string, r: Req): Promise<string> {
  const { hostname, port } = new URL(url);
  const headers = { Host: "mail.test.example", ...r.headers, Connection: "close" };
  const head =
    `${r.method} ${r.target} HTTP/1.1\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("") +
    (r.body ? `Content-Length: ${r.body.length}\r\n` : "") +
    "\r\n";
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error(`timeout: ${r.method} ${r.target}`)));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () =>
      resolve(
        Buffer.concat(chunks)
          .toString("latin1")
          .replace(/\r\nDate: [^\r]*/, "")
          .replace(/<Error Time="[^"]*"/, '<Error Time=""'),
      ),
    );
    socket.write(head);
    if (r.body) socket.write(r.body);
  });
}

const get = (target: string, headers?: Record<string, string>): Req => ({ method: "GET", target, headers });
const post = (target: string, body: string | Buffer, headers?: Record<string, string>): Req => ({
  method: "POST",
  target,
  headers: { "Content-Type": "text/xml; charset=utf-8", ...headers },
  body: Buffer.isBuffer(body) ? body : Buffer.from(body),
});

const ADDRESSES = [
  "jane.doe%40example.com",
  "Jane.Doe%40EXAMPLE.COM",
  "a%2Bb%40example.com",
  "a+b%40example.com",
  "jane%40gmail.com",
  "jane%40outlook.com",
  "jane%40nowhere.invalid",
  "jane%40m%C3%BCller.example",
  "not-an-address",
  "%40example.com",
  "jane%40",
  "%E0%A4%A",
  "",
];

/** Requests of every hot route and of their edges, valid and not. */
function requests(): Req[] {
  const out: Req[] = [];
  for (const path of [
    "/mail/config-v1.1.xml",
    "/.well-known/autoconfig/mail/config-v1.1.xml",
    "/.well-known/mail-v1.xml",
    "/v1.1/mail/config-v1.1.xml",
  ]) {
    for (const a of ADDRESSES) out.push(get(`${path}?emailaddress=${a}`));
    out.push(get(path), get(path, { Host: "autoconfig.example.com" }), get(path, { Host: "127.0.0.1" }));
    out.push(
      get(`${path}?EMAILADDRESS=jane%40example.com`),
      get(`${path}?x=1&emailaddress=jane%40example.com`),
    );
    out.push({ method: "HEAD", target: `${path}?emailaddress=jane%40example.com` });
    out.push({ method: "PUT", target: path });
  }
  for (const d of [
    "example.com",
    "EXAMPLE.com",
    "gmail.com",
    "nowhere.invalid",
    "bad_domain",
    "x",
    "%65xample.com",
  ])
    out.push(get(`/v1.1/${d}`));
  out.push(get("/v1.1/"), get("/v1.1/example.com/more"), get("/mail/config-v1.1.xml/"));
  out.push(get("/mail/../mail/config-v1.1.xml?emailaddress=jane%40example.com"));
  for (const file of readdirSync(FIXTURES).filter(
    (f) => f.startsWith("request-") || f.startsWith("attack-"),
  )) {
    const body = readFileSync(join(FIXTURES, file));
    out.push(post("/autodiscover/autodiscover.xml", body), post("/AutoDiscover/AutoDiscover.xml/", body));
  }
  out.push(
    post("/autodiscover/autodiscover.xml", ""),
    post("/autodiscover/autodiscover.xml", Buffer.alloc(20_000, "<a>")),
  );
  out.push(get("/autodiscover/autodiscover.xml"), get("/Autodiscover/Autodiscover.xml?x=1"));
  for (const a of ADDRESSES)
    for (const p of ["AutodiscoverV1", "ActiveSync", "activesync", "EWS", ""])
      out.push(get(`/autodiscover/autodiscover.json?Email=${a}&Protocol=${p}`));
  out.push(
    get("/autodiscover/autodiscover.json"),
    get("/autodiscover/autodiscover.json/v1.0/jane%40example.com?Protocol=AutodiscoverV1"),
    get("/AutoDiscover/AutoDiscover.json?email=jane%40example.com&protocol=autodiscoverv1"),
    get("/autodiscover/autodiscover.jsonx?Email=jane%40example.com"),
    get("/mail/config-v1.1.xml?emailaddress=autodiscover.json%40example.com"),
    post("/autodiscover/autodiscover.json?Email=jane%40example.com&Protocol=AutodiscoverV1", ""),
  );
  for (const path of ["/mobileconfig", "/email.mobileconfig"])
    for (const a of ADDRESSES) {
      out.push(get(`${path}?email=${a}`), get(`${path}?emailaddress=${a}`));
      out.push(get(`${path}?email=${a}`, { Accept: "text/html,application/xhtml+xml" }));
    }
  out.push(get("/mobileconfig"), get("/mobileconfig", { Accept: "text/html" }));
  // Hosts and targets the fast path leaves to the app.
  for (const host of ["EXAMPLE.com", "xn--a.com", "example.com:", "[::1]:80"])
    out.push(
      get("/mail/config-v1.1.xml", { Host: host }),
      get("/mobileconfig?email=jane%40example.com", { Host: host }),
    );
  out.push(get("/?email=jane%40example.com"), get("/healthz"), get("/nothing-here"));
  return out;
}

describe("the Node fast path", () => {
  let fast: RunningServer;
  let app: RunningServer;
  const lines: { fast: string[]; app: string[] } = { fast: [], app: [] };
  const writer = (list: string[]) => ({ write: (line: string) => void list.push(line), flush: () => {} });

  beforeAll(async () => {
    fast = await startTestServer({ accessLog: writer(lines.fast), logFormat: "json" });
    app = await startTestServer({ accessLog: writer(lines.app), logFormat: "json", fastPath: false });
  });
  afterAll(async () => {
    await fast?.close(100);
    await app?.close(100);
  });

  it("answers every hot request with the app's bytes, and logs it the same", async () => {
    const all = requests();
    const before = fast.fastPathAnswers();
    const toApp: string[] = [];
    for (const r of all) {
      const n = fast.fastPathAnswers();
      const [a, b] = await Promise.all([exchange(fast.url, r), exchange(app.url, r)]);
      const name = `${r.method} ${r.target}${r.headers?.Host ? ` Host: ${r.headers.Host}` : ""}`;
      expect(a, name).toBe(b);
      if (fast.fastPathAnswers() === n) toApp.push(name);
    }
    // Everything else was answered by the fast path itself.
    expect(toApp).toEqual([
      ...[
        "/mail/config-v1.1.xml",
        "/.well-known/autoconfig/mail/config-v1.1.xml",
        "/.well-known/mail-v1.xml",
        "/v1.1/mail/config-v1.1.xml",
      ].flatMap((p) => [`HEAD ${p}?emailaddress=jane%40example.com`, `PUT ${p}`]),
      "GET /v1.1/%65xample.com", // `%` in the path: Hono decodes it
      "GET /v1.1/", // no route
      "GET /v1.1/example.com/more",
      "GET /mail/config-v1.1.xml/",
      "GET /mail/../mail/config-v1.1.xml?emailaddress=jane%40example.com", // dot segment
      "POST /autodiscover/autodiscover.xml", // the 20,000-byte body: over the cap
      "GET /autodiscover/autodiscover.json/v1.0/jane%40example.com?Protocol=AutodiscoverV1",
      "GET /autodiscover/autodiscover.jsonx?Email=jane%40example.com",
      "POST /autodiscover/autodiscover.json?Email=jane%40example.com&Protocol=AutodiscoverV1",
      ...["EXAMPLE.com", "xn--a.com", "example.com:", "[::1]:80"].flatMap((h) => [
        `GET /mail/config-v1.1.xml Host: ${h}`,
        `GET /mobileconfig?email=jane%40example.com Host: ${h}`,
      ]),
      "GET /?email=jane%40example.com",
      "GET /healthz",
      "GET /nothing-here",
    ]);
    expect(fast.fastPathAnswers() - before).toBe(all.length - toApp.length);
    expect(app.fastPathAnswers()).toBe(0);
    const strip = (line: string) => {
      const { time: _t, ms: _ms, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return JSON.stringify(rest);
    };
    expect(lines.fast.length).toBe(all.length);
    expect(lines.fast.map(strip)).toEqual(lines.app.map(strip));
  }, 120_000);

  it("answers random addresses with the app's bytes (autoconfig, v2, profile, Autodiscover)", async () => {
    const local = fc.string({
      unit: fc.constantFrom(..."aZ09.+_-!#$%&'*/=?^`{|}~ \"@\\é😀".split(/(?:)/u)),
      minLength: 0,
      maxLength: 12,
    });
    const domain = fc.constantFrom(
      "example.com",
      "gmail.com",
      "EXAMPLE.COM",
      "nowhere.invalid",
      "outlook.com",
    );
    await fc.assert(
      fc.asyncProperty(local, domain, async (l, d) => {
        const q = encodeURIComponent(`${l}@${d}`);
        const xmlAddress = `${l}@${d}`.replace(/&/g, "&amp;").replace(/</g, "&lt;");
        const body = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${xmlAddress}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
        for (const r of [
          get(`/mail/config-v1.1.xml?emailaddress=${q}`),
          get(`/autodiscover/autodiscover.json?Email=${q}&Protocol=AutodiscoverV1`),
          get(`/mobileconfig?email=${q}`),
          post("/autodiscover/autodiscover.xml", body),
        ]) {
          const [a, b] = await Promise.all([exchange(fast.url, r), exchange(app.url, r)]);
          expect(a, r.target).toBe(b);
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});

describe("rate limits on the fast path", () => {
  let fast: RunningServer;
  let app: RunningServer;
  beforeAll(async () => {
    fast = await startTestServer({ rateLimit: 30 });
    app = await startTestServer({ rateLimit: 30, fastPath: false });
  });
  afterAll(async () => {
    await fast?.close(100);
    await app?.close(100);
  });

  it("counts and refuses as the app does: the same answers, 429s in the same places", async () => {
    // 30 requests a minute; profiles and Autodiscover POST a fifth (6), unknown domains a tenth (3).
    const outlook = readFileSync(join(FIXTURES, "request-outlook.xml"));
    const sequence: Req[] = [];
    for (let i = 0; i < 8; i++) sequence.push(get(`/mobileconfig?email=user${i}%40example.com`));
    for (let i = 0; i < 3; i++) sequence.push(post("/autodiscover/autodiscover.xml", outlook));
    for (let i = 0; i < 12; i++) sequence.push(get(`/mail/config-v1.1.xml?emailaddress=u${i}%40example.com`));
    for (let i = 0; i < 5; i++) sequence.push(get(`/v1.1/unknown${i}.invalid`));
    for (let i = 0; i < 5; i++) sequence.push(get("/mail/config-v1.1.xml?emailaddress=jane%40example.com"));
    const statuses: number[] = [];
    for (const r of sequence) {
      const [a, b] = await Promise.all([exchange(fast.url, r), exchange(app.url, r)]);
      const seconds = (s: string) => s.replace(/Retry-After: \d+/, "Retry-After: N");
      expect(seconds(a), r.target).toBe(seconds(b));
      statuses.push(Number(a.slice(9, 12)));
    }
    // Profiles: 6 then refused; autoconfig answered until the unknown domains use up the failure
    // budget (3), after which everything is refused.
    expect(statuses.slice(0, 8)).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    expect(statuses.slice(-5)).toEqual([429, 429, 429, 429, 429]);
    expect(fast.fastPathAnswers()).toBeGreaterThan(20);
  });

  it("does not keep reading the body of a refused POST: the connection closes as the app's does", async () => {
    // By now every request of this client is refused (test above). A refused client announcing
    // 100 MB and sending it slowly on a keep-alive connection gets its 429, then the connection is
    // closed by @hono/node-server's clean-up (500 ms), not read until the 30 s request timeout.
    const closesAfter429 = (url: string) =>
      new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(url);
        const socket = connect({ host: hostname, port: Number(port) });
        let received = "";
        let answeredAt = 0;
        const timer = setInterval(() => socket.writable && socket.write(Buffer.alloc(1024, 0x20)), 20);
        const give = setTimeout(() => socket.destroy(new Error("still open 5 s after the 429")), 5000);
        socket.on("data", (c: Buffer) => {
          received += c.toString("latin1");
          if (!answeredAt && received.includes("\r\n\r\n")) answeredAt = performance.now();
        });
        socket.on("error", (e) => {
          // A reset after the answer is a close too (the server stops reading).
          if (answeredAt && (e as NodeJS.ErrnoException).code !== undefined) return;
          clearInterval(timer);
          clearTimeout(give);
          reject(e);
        });
        socket.on("close", () => {
          clearInterval(timer);
          clearTimeout(give);
          if (!received.startsWith("HTTP/1.1 429 ")) reject(new Error(`no 429: ${received.slice(0, 80)}`));
          else resolve(performance.now() - answeredAt);
        });
        socket.write(
          "POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: mail.test.example\r\n" +
            "Content-Type: text/xml\r\nContent-Length: 100000000\r\nConnection: keep-alive\r\n\r\n",
        );
      });
    const [fastClose, appClose] = await Promise.all([closesAfter429(fast.url), closesAfter429(app.url)]);
    expect(fastClose).toBeLessThan(4000);
    expect(appClose).toBeLessThan(4000);
  }, 15_000);
});
