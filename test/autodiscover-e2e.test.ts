/**
 * Autodiscover on the running Node server (127.0.0.1): every fixture of test/fixtures/autodiscover
 * (requests of every client shape, attack bodies, reference answers) gets the behaviour its README
 * gives, the answers say what the response fixtures say, and the hostile bodies are refused before
 * the XML parser is reached. The reference corpus of ../shared/corpus/autodiscover runs through the
 * same tests where it is present.
 * Speed and memory of the refusals are measured by `npm run bench`, not here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunningServer } from "../src/node/server.ts";
import { describeShared } from "./helpers/external.ts";
import { fetchBounded, rawRequest, startTestServer } from "./helpers/server.ts";
import { AUTODISCOVER_DIR, FIXTURE_AUTODISCOVER_DIR, tempFile, wellFormed } from "./helpers/shared.ts";
import { at, childrenNamed, missingFrom, parseTree, type XmlTree } from "./helpers/xml-tree.ts";

const ROOT_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
const OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
const MOBILESYNC_NS = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";

/**
 * Providers shaped after the response fixtures: example.com = response-outlook-imap-smtp.xml,
 * pop.example.org = response-outlook-pop3-plain.xml, example.net an alias of mail.example.net
 * (response-redirect-addr.xml), mail.example.net with ActiveSync (response-mobilesync-settings.xml)
 * and CalDAV/CardDAV (eM Client).
 */
const SETTINGS = `
publicUrl: https://autodiscover.example.com
providers:
  - id: example.com
    displayName: Example Mail
    domains: [example.com]
    incoming:
      - { type: imap, hostname: imap.example.com, port: 993, socketType: SSL }
    outgoing:
      - { hostname: smtp.example.com, port: 587, socketType: STARTTLS }
  - id: pop.example.org
    displayName: Example POP
    domains: [pop.example.org]
    incoming:
      - { type: pop3, hostname: pop.example.com, port: 995, socketType: SSL, username: "%EMAILLOCALPART%" }
    outgoing:
      - { hostname: smtp.example.com, port: 25, socketType: plain, username: "%EMAILLOCALPART%" }
  - id: mail.example.net
    displayName: Example Net
    domains: [mail.example.net]
    incoming:
      - { type: imap, hostname: imap.example.net, port: 143, socketType: STARTTLS }
    outgoing:
      - { hostname: smtp.example.net, port: 465, socketType: SSL }
    activeSync: { url: https://eas.example.com/Microsoft-Server-ActiveSync }
    caldav: { hostname: dav.example.net, principalUrl: "/dav/%EMAILADDRESS%/" }
    carddav: { hostname: dav.example.net, port: 8443 }
    ttlHours: 4
aliases:
  example.net: mail.example.net
`;

let server: RunningServer;
const logs: string[] = [];
beforeAll(async () => {
  server = await startTestServer({
    configFiles: [tempFile("autodiscover.yaml", SETTINGS)],
    publicUrl: "https://autodiscover.example.com",
    log: (m) => logs.push(m),
  });
});
afterAll(() => server.close());
afterEach(() => {
  vi.restoreAllMocks();
});

const fixture = (name: string) => readFileSync(join(FIXTURE_AUTODISCOVER_DIR, name));
const fixtureText = (name: string) => fixture(name).toString("utf8");

async function post(
  body: string | Uint8Array,
  opts: { path?: string; contentType?: string | null; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.contentType !== null) headers["Content-Type"] = opts.contentType ?? "text/xml; charset=utf-8";
  const res = await fetchBounded(server.url + (opts.path ?? "/autodiscover/autodiscover.xml"), {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** What a response is, in the terms of the fixtures' README. */
function kind(body: string): { tree: XmlTree; code?: string; action?: string; responseNs?: string } {
  const tree = parseTree(body);
  const response = at(tree, "Response");
  return {
    tree,
    code: at(tree, "Response", "Error", "ErrorCode")?.text,
    action:
      at(tree, "Response", "Account", "Action")?.text ??
      (at(tree, "Response", "Action", "Settings") ? "mobilesync-settings" : undefined),
    responseNs: response?.attrs.xmlns,
  };
}

/** What a request fixture must get: an error code, or an action (with the Response namespace). */
interface RequestExpectation {
  code?: string;
  action?: string;
  responseNs?: string;
}

const SETTINGS_ANSWER: RequestExpectation = { action: "settings", responseNs: OUTLOOK_NS };

/** The expectation of test/fixtures/autodiscover/README.md for each request fixture. */
const REQUEST_EXPECTATIONS: Record<string, RequestExpectation> = {
  "request-outlook.xml": SETTINGS_ANSWER,
  "request-outlook-utf8-bom.xml": SETTINGS_ANSWER,
  "request-outlook-utf16le-bom.xml": SETTINGS_ANSWER,
  "request-outlook-utf16be-bom.xml": SETTINGS_ANSWER,
  "request-outlook-utf16le-no-bom.xml": SETTINGS_ANSWER, // .NET's Encoding.Unicode without a preamble
  "request-utf16-declared-utf8-bytes.xml": SETTINGS_ANSWER, // the declaration lies; the bytes decide
  "request-prefixed.xml": SETTINGS_ANSWER, // <a:Autodiscover xmlns:a=…>: matched by namespace and local name
  "request-no-namespace.xml": SETTINGS_ANSWER, // (decision) lenient
  "request-https-namespace-typo.xml": SETTINGS_ANSWER,
  "request-legacydn-and-email.xml": SETTINGS_ANSWER, // (decision) the address wins
  "request-legacydn-only.xml": { code: "600" }, // no LegacyDN directory
  "request-mobilesync.xml": { code: "601", responseNs: MOBILESYNC_NS }, // example.com has no ActiveSync URL
  "request-unknown-schema.xml": { code: "601" },
  "request-two-requests.xml": { code: "600" },
  "request-xml-injection.xml": { code: "600" }, // refused as an invalid address
  "request-empty.xml": { code: "600" },
  "request-not-xml.xml": { code: "600" },
  "attack-xxe-file.xml": { code: "600" },
  "attack-xxe-parameter-entity.xml": { code: "600" },
  "attack-billion-laughs.xml": { code: "600" },
};

/** The expectation of ../shared/corpus/autodiscover/README.md for each of its request fixtures. */
const SHARED_REQUEST_EXPECTATIONS: Record<string, RequestExpectation> = {
  "request-outlook.xml": SETTINGS_ANSWER,
  "request-no-namespace.xml": SETTINGS_ANSWER, // (decision) lenient
  "request-https-namespace-typo.xml": SETTINGS_ANSWER,
  "request-legacydn-and-email.xml": SETTINGS_ANSWER, // (decision) address wins
  "request-mobilesync.xml": { code: "601", responseNs: MOBILESYNC_NS }, // example.com has no ActiveSync URL
  "request-unknown-schema.xml": { code: "601" },
  "request-two-requests.xml": { code: "600" },
  "request-xml-injection.xml": { code: "600" }, // refused as an invalid address
  "request-outlook-utf8-bom.xml": SETTINGS_ANSWER,
  "request-outlook-utf16le-bom.xml": SETTINGS_ANSWER,
  "request-empty.xml": { code: "600" },
  "attack-xxe-file.xml": { code: "600" },
  "attack-xxe-parameter-entity.xml": { code: "600" },
  "attack-billion-laughs.xml": { code: "600" },
};

describe("attack fixtures are refused before the XML parser", () => {
  for (const name of [
    "attack-xxe-file.xml",
    "attack-xxe-parameter-entity.xml",
    "attack-billion-laughs.xml",
  ]) {
    it(`${name}: error 600, nothing read or fetched, parser never reached`, async () => {
      const parse = vi.spyOn(XMLParser.prototype, "parse");
      const validate = vi.spyOn(XMLValidator, "validate");
      const fetchSpy = vi.spyOn(globalThis, "fetch");
      logs.length = 0;
      const res = await post(fixture(name));
      // Checked before this test parses the answer (with the same parser).
      expect(parse).not.toHaveBeenCalled();
      expect(validate).not.toHaveBeenCalled();
      // The only fetch is the test's own request to the server: nothing went to attacker.invalid.
      expect(fetchSpy.mock.calls.map((c) => String(c[0]))).toEqual([
        `${server.url}/autodiscover/autodiscover.xml`,
      ]);
      expect(logs).toContain("autodiscover: request refused (doctype)");
      expect(res.status).toBe(200);
      expect(kind(res.body).code).toBe("600");
      expect(res.body).not.toMatch(/root:|lol|passwd|fileContents|attacker/);
    });
  }

  it("a DOCTYPE is also found in UTF-16 and after a BOM", async () => {
    const parse = vi.spyOn(XMLParser.prototype, "parse");
    const text = fixtureText("attack-xxe-file.xml");
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    const answers = [await post(utf16), await post(bom)];
    expect(parse).not.toHaveBeenCalled();
    for (const res of answers) expect(kind(res.body).code).toBe("600");
  });

  it("a body declared larger than 16 KiB is refused (413, error 600 document) before it is sent", async () => {
    // Only the head goes out; an answer can only come if the server did not wait for the 10 MiB.
    const head = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(server.url);
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(
          "POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: autodiscover.example.com\r\n" +
            "Content-Type: text/xml\r\nContent-Length: 10485760\r\n\r\n<?xml",
        );
      });
      let data = "";
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("no answer within 5 s"));
      }, 5000);
      socket.on("data", (d) => {
        data += d.toString("utf8");
        if (data.includes("</Autodiscover>")) {
          clearTimeout(timer);
          socket.destroy();
          resolve(data);
        }
      });
      socket.on("error", reject);
    });
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head).toContain("<ErrorCode>600</ErrorCode>");
  });

  it("a chunked body over 16 KiB (no Content-Length) is refused with 413", async () => {
    const chunk = `<!-- ${"x".repeat(8 * 1024)} -->`;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    const res = await fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(kind(await res.text()).code).toBe("600");
  });

  it("a body of exactly 16 KiB is read (the cap is not off by one)", async () => {
    const base = fixtureText("request-outlook.xml");
    const body = base + " ".repeat(16 * 1024 - Buffer.byteLength(base));
    expect(Buffer.byteLength(body)).toBe(16 * 1024);
    expect(kind((await post(body)).body).action).toBe("settings");
    expect((await post(`${body} `)).status).toBe(413);
  });
});

describe("answers", () => {
  it("one User, one Account, one Protocol per server in order of preference, Type first; exact http:// namespaces", async () => {
    const res = await post(fixtureText("request-outlook.xml").replace("example.com", "mail.example.net"));
    const tree = parseTree(res.body);
    expect(tree.attrs.xmlns).toBe(ROOT_NS);
    expect(res.body).not.toContain("https://schemas");
    const response = at(tree, "Response") as XmlTree;
    expect(response.attrs.xmlns).toBe(OUTLOOK_NS);
    expect(childrenNamed(response, "User")).toHaveLength(1);
    expect(childrenNamed(response, "Account")).toHaveLength(1);
    const protocols = childrenNamed(at(response, "Account") as XmlTree, "Protocol");
    expect(protocols.map((p) => p.children[0]?.name)).toEqual(["Type", "Type", "Type", "Type"]);
    const field = (p: XmlTree, n: string) => at(p, n)?.text;
    expect(protocols.map((p) => [field(p, "Type"), field(p, "Server"), field(p, "Port")])).toEqual([
      ["IMAP", "imap.example.net", "143"],
      ["SMTP", "smtp.example.net", "465"],
      ["CalDAV", "https://dav.example.net/dav/jane.doe@mail.example.net/", "443"],
      ["CardDAV", "https://dav.example.net:8443/.well-known/carddav", "8443"],
    ]);
    // TLS mapping of DESIGN.md: STARTTLS → on/TLS, SSL (implicit) → on/SSL; never TLS on an implicit port.
    expect([field(protocols[0] as XmlTree, "SSL"), field(protocols[0] as XmlTree, "Encryption")]).toEqual([
      "on",
      "TLS",
    ]);
    expect([field(protocols[1] as XmlTree, "SSL"), field(protocols[1] as XmlTree, "Encryption")]).toEqual([
      "on",
      "SSL",
    ]);
    for (const p of protocols) {
      expect(field(p, "SPA")).toBe("off");
      expect(field(p, "AuthRequired")).toBe("on");
      expect(field(p, "DomainRequired")).toBe("off");
      expect(field(p, "LoginName")).toBe("jane.doe@mail.example.net");
      expect(field(p, "TTL")).toBe("4");
    }
  });

  it("every local part of a known domain gets the same answer, its own address filled in (no enumeration)", async () => {
    const answer = async (local: string) =>
      (await post(fixtureText("request-outlook.xml").replace("jane.doe", local))).body.replaceAll(
        `${local}@example.com`,
        "ADDRESS",
      );
    const first = await answer("jane.doe");
    for (const local of ["nobody-here", "postmaster", "x.y+tag"]) expect(await answer(local)).toBe(first);
  });

  it("an ActiveSync client gets settings or a Redirect for a provider with an ActiveSync URL", async () => {
    const settings = kind(
      (await post(fixtureText("request-mobilesync.xml").replace("example.com", "mail.example.net"))).body,
    );
    expect(settings.action).toBe("mobilesync-settings");
    expect(at(settings.tree, "Response", "Action", "Settings", "Server", "Url")?.text).toBe(
      "https://eas.example.com/Microsoft-Server-ActiveSync",
    );
    const redirect = kind(
      (await post(fixtureText("request-mobilesync.xml").replace("example.com", "example.net"))).body,
    );
    expect(redirect.responseNs).toBe(MOBILESYNC_NS);
    expect(at(redirect.tree, "Response", "Action", "Redirect")?.text).toBe("jane.doe@mail.example.net");
  });

  it("the requested schema is never echoed, whatever it is", async () => {
    const marker = "urn:x-evil-schema-7f3a";
    const body = fixtureText("request-outlook.xml").replace(
      /<AcceptableResponseSchema>.*</,
      `<AcceptableResponseSchema>${marker}<`,
    );
    const res = await post(body);
    expect(kind(res.body).code).toBe("601");
    expect(res.body).not.toContain("evil");
  });

  it("headers: text/xml; charset=utf-8, private no-store, nosniff; never 401 or WWW-Authenticate, Authorization changes nothing", async () => {
    const plain = await post(fixture("request-outlook.xml"));
    const withAuth = await post(fixture("request-outlook.xml"), {
      headers: { Authorization: `Basic ${Buffer.from("jane.doe@example.com:secret").toString("base64")}` },
    });
    expect(withAuth.status).toBe(200);
    expect(withAuth.headers.get("www-authenticate")).toBeNull();
    expect(withAuth.body).toBe(plain.body);
    expect(plain.headers.get("cache-control")).toBe("private, no-store");
    expect(plain.headers.get("x-content-type-options")).toBe("nosniff");
    expect(logs.join("\n")).not.toContain("secret");
  });
});

describe("route variants and request reading", () => {
  for (const path of [
    "/AUTODISCOVER/autodiscover.XML",
    "/autodiscover/AutoDiscover.Xml",
    "/autodiscover/autodiscover.xml/",
  ]) {
    it(`POST ${path} answers with settings`, async () => {
      expect(kind((await post(fixture("request-outlook.xml"), { path })).body).action).toBe("settings");
    });
  }

  for (const host of ["autodiscover.example.com", "example.com", "mail.provider.test", "127.0.0.1"]) {
    it(`any Host (${host}) gets the same answer; the domain comes from the address`, async () => {
      const res = await rawRequest(`${server.url}/Autodiscover/Autodiscover.xml`, {
        method: "POST",
        headers: { Host: host, "Content-Type": "text/xml" },
        body: fixture("request-outlook.xml"),
      });
      expect(kind(res.body).action).toBe("settings");
    });
  }

  for (const method of ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]) {
    it(`${method} → HTTP 200 with error 600`, async () => {
      const res = await rawRequest(`${server.url}/Autodiscover/Autodiscover.xml`, { method });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("text/xml; charset=utf-8");
      if (method !== "HEAD") expect(kind(res.body).code).toBe("600");
      else expect(res.body).toBe("");
    });
  }

  for (const contentType of [
    "text/xml",
    "text/xml; charset=utf-8",
    "application/xml",
    'application/xml; charset="UTF-8"',
    "TEXT/XML; Charset=UTF-16",
    null,
    "application/x-www-form-urlencoded",
  ]) {
    it(`Content-Type ${contentType ?? "(none)"} is read`, async () => {
      const res = await post(fixture("request-outlook.xml"), { contentType });
      expect(kind(res.body).action).toBe("settings");
    });
  }

  it('UTF-16BE with BOM, UTF-16LE without BOM, and encoding="utf-16" declared on UTF-8 bytes', async () => {
    const text = fixtureText("request-outlook.xml");
    const le = Buffer.from(text, "utf16le");
    const be = Buffer.from(le).swap16();
    for (const body of [
      Buffer.concat([Buffer.from([0xfe, 0xff]), be]),
      le,
      Buffer.from(text.replace('encoding="utf-8"', 'encoding="utf-16"')),
    ]) {
      expect(kind((await post(body)).body).action).toBe("settings");
    }
  });

  it("prefixes, reversed order and foreign elements are read by local name and namespace", async () => {
    const body = `<a:Autodiscover xmlns:a="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006" xmlns:x="urn:other">
      <a:Request><x:EMailAddress>evil@example.com</x:EMailAddress>
        <a:AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</a:AcceptableResponseSchema>
        <a:EMailAddress>jane.doe@example.com</a:EMailAddress></a:Request></a:Autodiscover>`;
    const got = kind((await post(body)).body);
    expect(got.action).toBe("settings");
    expect(at(got.tree, "Response", "User", "AutoDiscoverSMTPAddress")?.text).toBe("jane.doe@example.com");
  });

  for (const [label, body] of [
    ["not XML", "hello"],
    ["malformed XML", "<Autodiscover><Request><EMailAddress>a@example.com</Request></Autodiscover>"],
    ["another root", "<Discover><Request><EMailAddress>a@example.com</EMailAddress></Request></Discover>"],
    [
      "a foreign root namespace",
      '<Autodiscover xmlns="urn:x"><Request><EMailAddress>a@example.com</EMailAddress></Request></Autodiscover>',
    ],
    ["no Request", "<Autodiscover><EMailAddress>a@example.com</EMailAddress></Autodiscover>"],
    ["no EMailAddress", "<Autodiscover><Request></Request></Autodiscover>"],
    [
      "two EMailAddress",
      "<Autodiscover><Request><EMailAddress>a@example.com</EMailAddress><EMailAddress>b@example.com</EMailAddress></Request></Autodiscover>",
    ],
    [
      "an address that is not one",
      "<Autodiscover><Request><EMailAddress>not-an-address</EMailAddress></Request></Autodiscover>",
    ],
    [
      "an undefined entity",
      "<Autodiscover><Request><EMailAddress>a&foo;@example.com</EMailAddress></Request></Autodiscover>",
    ],
    [
      "nesting 20 deep",
      `<Autodiscover><Request>${"<x>".repeat(20)}${"</x>".repeat(20)}</Request></Autodiscover>`,
    ],
    ["invalid UTF-8", Buffer.from([0x3c, 0x41, 0xff, 0xfe, 0x3e])],
  ] as const) {
    it(`${label} → error 600`, async () => {
      const res = await post(body);
      expect(res.status).toBe(200);
      expect(kind(res.body).code).toBe("600");
    });
  }
});

describe("Autodiscover v2 JSON", () => {
  const v2 = async (pathAndQuery: string) => {
    const res = await fetchBounded(server.url + pathAndQuery);
    return { status: res.status, type: res.headers.get("content-type"), json: await res.json() };
  };
  const POX = {
    Protocol: "AutodiscoverV1",
    Url: "https://autodiscover.example.com/autodiscover/autodiscover.xml",
  };

  for (const protocol of ["AutodiscoverV1", "Autodiscoverv1", "autodiscoverv1", "AUTODISCOVERV1"]) {
    it(`Protocol=${protocol} → the configured POX URL, in the query and the /v1.0/ path forms`, async () => {
      for (const url of [
        `/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=${protocol}&RedirectCount=1`,
        `/autodiscover/autodiscover.json/v1.0/jane.doe%40example.com?Protocol=${protocol}&RedirectCount=1`,
        `/Autodiscover/Autodiscover.json/v1.0/jane.doe@example.com?protocol=${protocol}&ServerLocation=true`,
      ]) {
        const res = await v2(url);
        expect(res.status).toBe(200);
        expect(res.type).toBe("application/json; charset=utf-8");
        expect(res.json).toEqual(POX);
      }
    });
  }

  it("the Url never comes from the Host header", async () => {
    const res = await rawRequest(
      `${server.url}/autodiscover/autodiscover.json?Email=a%40example.com&Protocol=AutodiscoverV1`,
      {
        headers: { Host: "evil.example", "X-Forwarded-Host": "evil.example" },
      },
    );
    expect(JSON.parse(res.body)).toEqual(POX);
  });

  for (const protocol of ["ActiveSync", "EWS", "REST", "Substrate", ""]) {
    it(`Protocol=${protocol || "(none)"} → 400 InvalidProtocol`, async () => {
      const res = await v2(
        `/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=${protocol}&RedirectCount=1`,
      );
      expect(res.status).toBe(400);
      expect(res.json).toEqual({
        ErrorCode: "InvalidProtocol",
        ErrorMessage: `The given protocol value '${protocol}' is invalid. Supported values are 'AutodiscoverV1'`,
      });
    });
  }

  it("the protocol value is filtered, never echoed raw", async () => {
    const res = await v2(
      `/autodiscover/autodiscover.json?Email=a%40example.com&Protocol=${encodeURIComponent("<script>alert('x')</script>")}`,
    );
    expect(res.status).toBe(400);
    expect(res.json.ErrorMessage).toBe(
      "The given protocol value 'scriptalertxscript' is invalid. Supported values are 'AutodiscoverV1'",
    );
  });

  it("ActiveSync with a configured URL → that URL", async () => {
    const res = await v2("/autodiscover/autodiscover.json?Email=jane%40mail.example.net&Protocol=ActiveSync");
    expect(res).toMatchObject({
      status: 200,
      json: { Protocol: "ActiveSync", Url: "https://eas.example.com/Microsoft-Server-ActiveSync" },
    });
  });

  it("400 for a missing or invalid Email, 404 for an unknown domain, JSON every time", async () => {
    for (const url of [
      "/autodiscover/autodiscover.json?Protocol=AutodiscoverV1",
      "/autodiscover/autodiscover.json?Email=nope&Protocol=AutodiscoverV1",
      "/autodiscover/autodiscover.json/v1.0/?Protocol=AutodiscoverV1",
      "/autodiscover/autodiscover.json/v1.0/%E0%A4%A?Protocol=AutodiscoverV1",
      "/autodiscover/autodiscover.json/v1.0/a%40example.com/x?Protocol=AutodiscoverV1",
    ]) {
      const res = await v2(url);
      expect(res.status, url).toBe(400);
      expect(res.json.ErrorCode).toBe("InvalidEmailAddress");
    }
    for (const url of [
      "/autodiscover/autodiscover.json?Email=a%40unknown-domain.test&Protocol=AutodiscoverV1",
      // ProxyShell's shape (CVE-2021-34473): just an address at an unknown domain here, nothing is proxied.
      "/autodiscover/autodiscover.json?@evil.example/mapi/nspi?&Email=autodiscover/autodiscover.json%3f@evil.example&Protocol=AutodiscoverV1",
    ]) {
      const res = await v2(url);
      expect(res.status, url).toBe(404);
      expect(res.json.ErrorCode).toBe("NotFound");
    }
  });
});

/**
 * The fixture-driven tests, for one folder of fixtures: every file has an expectation, every request
 * fixture gets its behaviour on every path spelling, and our answers say what the response fixtures say.
 */
function fixtureSuites(dir: string, requestExpectations: Record<string, RequestExpectation>): void {
  const fixture = (name: string) => readFileSync(join(dir, name));
  const fixtureText = (name: string) => fixture(name).toString("utf8");
  /** Response fixtures: our answer must say what each says (extra elements such as TTL allowed). */
  const RESPONSE_FIXTURES: Record<
    string,
    { request?: () => Promise<string>; ignore?: string[]; why?: string }
  > = {
    "response-outlook-imap-smtp.xml": {
      request: async () => (await post(fixture("request-outlook.xml"))).body,
      ignore: ["DisplayName"], // a person's name we do not know; we send the address
    },
    "response-outlook-pop3-plain.xml": {
      request: async () =>
        (await post(fixtureText("request-outlook.xml").replace("example.com", "pop.example.org"))).body,
      ignore: ["DisplayName"],
    },
    "response-redirect-addr.xml": {
      request: async () =>
        (await post(fixtureText("request-outlook.xml").replace("example.com", "example.net"))).body,
    },
    "response-redirect-url.xml": {
      why: "mailconf answers alias domains with redirectAddr; it never sends redirectUrl (Outlook asks the user to allow it)",
    },
    "response-error-600.xml": { request: async () => (await post("")).body },
    "response-error-500.xml": {
      request: async () =>
        (await post(fixtureText("request-outlook.xml").replace("example.com", "unknown-domain.test"))).body,
    },
    "response-mobilesync-error-601.xml": {
      request: async () => (await post(fixture("request-mobilesync.xml"))).body,
    },
    "response-mobilesync-settings.xml": {
      request: async () =>
        (await post(fixtureText("request-mobilesync.xml").replace("example.com", "mail.example.net"))).body,
      ignore: ["User"], // the fixture's user is jane.doe@example.com, a domain without ActiveSync here
    },
    "v2-autodiscoverv1.json": {
      request: async () =>
        (
          await fetchBounded(
            `${server.url}/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=AutodiscoverV1`,
          )
        ).text(),
    },
    "v2-error-invalid-protocol.json": {
      request: async () =>
        (
          await fetchBounded(
            `${server.url}/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=ActiveSync`,
          )
        ).text(),
    },
  };

  describe("every fixture is covered", () => {
    it("each file of the folder has an expectation", () => {
      const covered = new Set([
        ...Object.keys(requestExpectations),
        "request-get-no-body.txt",
        ...Object.keys(RESPONSE_FIXTURES),
        "README.md",
      ]);
      const files = readdirSync(dir);
      expect(files.filter((f) => !covered.has(f))).toEqual([]);
      expect([...covered].filter((f) => !files.includes(f))).toEqual([]);
    });
  });

  describe("request fixtures get the README's behaviour", () => {
    for (const [name, expected] of Object.entries(requestExpectations)) {
      for (const path of [
        "/autodiscover/autodiscover.xml",
        "/Autodiscover/Autodiscover.xml",
        "/AutoDiscover/AutoDiscover.xml",
      ]) {
        it(`${name} → ${expected.code ? `error ${expected.code}` : expected.action} (POST ${path})`, async () => {
          const res = await post(fixture(name), { path });
          expect(res.status).toBe(200);
          expect(res.headers.get("content-type")).toBe("text/xml; charset=utf-8");
          expect(res.body.startsWith('<?xml version="1.0" encoding="utf-8"?>\n')).toBe(true);
          expect(wellFormed(res.body).status).toBe(0);
          const got = kind(res.body);
          expect(got.tree.attrs.xmlns).toBe(ROOT_NS);
          expect(got.code).toBe(expected.code);
          expect(got.action).toBe(expected.action);
          expect(got.responseNs).toBe(expected.responseNs);
          if (got.action === "settings")
            expect(at(got.tree, "Response", "User", "AutoDiscoverSMTPAddress")?.text).toBe(
              "jane.doe@example.com",
            );
        });
      }
    }

    it("request-get-no-body.txt, sent as written (GET, Outlook's User-Agent) → HTTP 200, error 600", async () => {
      const [requestLine, ...headerLines] = fixtureText("request-get-no-body.txt").trim().split(/\r?\n/);
      const [method, path] = (requestLine ?? "").split(" ");
      const headers = Object.fromEntries(
        headerLines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
      );
      expect(method).toBe("GET");
      const res = await rawRequest(server.url + path, { method, headers });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("text/xml; charset=utf-8");
      expect(kind(res.body).code).toBe("600");
      expect(missingFrom(parseTree(fixtureText("response-error-600.xml")), parseTree(res.body))).toEqual([]);
    });

    it("request-xml-injection.xml never yields an unescaped <Server>evil, on any path", async () => {
      for (const path of ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"]) {
        const res = await post(fixture("request-xml-injection.xml"), { path });
        expect(res.body).not.toMatch(/<Server>\s*evil/i);
        expect(res.body).not.toContain("evil");
      }
    });

    it("request-legacydn-and-email.xml: the address decides, and the operator log says LegacyDN was ignored", async () => {
      logs.length = 0;
      await post(fixture("request-legacydn-and-email.xml"));
      expect(logs.join("\n")).toMatch(/LegacyDN ignored, EMailAddress used for j\*\*\*@example\.com/);
      expect(logs.join("\n")).not.toContain("jane.doe");
    });

    it("only a LegacyDN (no EMailAddress) → error 600", async () => {
      const body = fixtureText("request-legacydn-and-email.xml").replace(
        /<EMailAddress>.*<\/EMailAddress>/,
        "",
      );
      expect(kind((await post(body)).body).code).toBe("600");
    });
  });

  describe("answers say what the response fixtures say", () => {
    for (const [name, { request, ignore, why }] of Object.entries(RESPONSE_FIXTURES)) {
      if (!request) {
        it(`${name} is not produced: ${why}`, async () => {
          const alias = await post(fixtureText("request-outlook.xml").replace("example.com", "example.net"));
          expect(at(parseTree(alias.body), "Response", "Account", "Action")?.text).toBe("redirectAddr");
          expect(alias.body).not.toMatch(/redirectUrl|RedirectUrl/);
        });
        continue;
      }
      it(name, async () => {
        const ours = await request();
        if (name.endsWith(".json")) {
          expect(JSON.parse(ours)).toEqual(JSON.parse(fixtureText(name)));
          expect(ours).toBe(fixtureText(name).trim()); // same key order, byte for byte
          return;
        }
        const expected = parseTree(fixtureText(name));
        const actual = parseTree(ours);
        // Protocol children compare in any order: the fixture puts DomainRequired before LoginName, we
        // follow the POX reference order (LoginName, DomainRequired); Outlook reads either.
        expect(missingFrom(expected, actual, { ignore, unordered: ["Protocol"] })).toEqual([]);
        const protocols = (t: XmlTree) => childrenNamed(at(t, "Response", "Account") ?? t, "Protocol").length;
        expect(protocols(actual)).toBe(protocols(expected));
      });
    }
  });
}

describe("in-repo fixtures (test/fixtures/autodiscover)", () => {
  fixtureSuites(FIXTURE_AUTODISCOVER_DIR, REQUEST_EXPECTATIONS);
});

describeShared("the reference Autodiscover corpus (../shared/corpus/autodiscover)", () => {
  fixtureSuites(AUTODISCOVER_DIR, SHARED_REQUEST_EXPECTATIONS);
});
