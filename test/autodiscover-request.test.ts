/**
 * Request reading for Autodiscover, module by module: the byte cap, decoding, entity handling,
 * namespaces and the schema dispatch key; plus the DAV and redirect templates.
 */
import { describe, expect, it } from "vitest";
import {
  decodeText,
  decodeXmlBytes,
  detectEncoding,
  parseAutodiscoverRequest,
} from "../src/handlers/autodiscover-request.ts";
import { v2Email } from "../src/handlers/autodiscover-v2.ts";
import { readBodyCapped } from "../src/handlers/body.ts";
import { accountSettings, davUrl } from "../src/providers/account.ts";
import { parseEmailAddress } from "../src/providers/domain.ts";
import { type DavServer, parseProvider } from "../src/providers/model.ts";
import { renderRedirectAddr } from "../src/templates/autodiscover.ts";
import { renderV2InvalidProtocol } from "../src/templates/autodiscover-v2.ts";
import { renderMobilesyncRedirect } from "../src/templates/mobilesync.ts";
import { wellFormed } from "./helpers/shared.ts";
import { at, parseTree } from "./helpers/xml-tree.ts";

const OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
const MOBILESYNC = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";
const REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
const enc = (s: string) => new TextEncoder().encode(s);
const req = (inner: string, ns = REQUEST_NS) =>
  enc(`<Autodiscover${ns ? ` xmlns="${ns}"` : ""}><Request>${inner}</Request></Autodiscover>`);

describe("readBodyCapped: the cap is counted while reading", () => {
  /** An endless body in 1 KiB chunks that counts what was pulled and whether it was cancelled. */
  function endless() {
    const seen = { pulled: 0, cancelled: false };
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          seen.pulled += 1024;
          controller.enqueue(new Uint8Array(1024));
        },
        cancel() {
          seen.cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
    return { seen, body };
  }

  it("stops at the first byte over the cap and cancels the rest, Content-Length or not", async () => {
    const { seen, body } = endless();
    const request = new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit);
    const result = await readBodyCapped(request, 16 * 1024);
    expect(result.ok).toBe(false);
    expect(seen.pulled).toBeLessThanOrEqual(17 * 1024 + 1024);
    expect(seen.cancelled).toBe(true);
  });

  it("refuses a declared Content-Length over the cap without reading anything", async () => {
    const { seen, body } = endless();
    const request = new Request("http://x/", {
      method: "POST",
      body,
      duplex: "half",
      headers: { "Content-Length": String(10 * 1024 * 1024) },
    } as RequestInit);
    expect((await readBodyCapped(request, 16 * 1024)).ok).toBe(false);
    expect(seen.pulled).toBe(0);
  });

  it("reads a body of exactly the cap, and a body without a stream as empty", async () => {
    const exact = await readBodyCapped(
      new Request("http://x/", { method: "POST", body: new Uint8Array(100) }),
      100,
    );
    expect(exact).toMatchObject({ ok: true });
    expect(exact.ok && exact.bytes.byteLength).toBe(100);
    const none = await readBodyCapped(new Request("http://x/"), 100);
    expect(none.ok && none.bytes.byteLength).toBe(0);
  });
});

describe("decoding", () => {
  it("by BOM, by UTF-16 zero bytes, else UTF-8; invalid bytes are refused", () => {
    const text = "<a>é€😀</a>";
    const le = Buffer.from(text, "utf16le");
    const be = Buffer.from(le).swap16();
    expect(detectEncoding(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toEqual({
      encoding: "utf-16le",
      bom: 2,
    });
    expect(decodeXmlBytes(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toBe(text);
    expect(decodeXmlBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toBe(text);
    expect(decodeXmlBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]))).toBe(text);
    expect(decodeXmlBytes(le)).toBe(text);
    expect(decodeXmlBytes(be)).toBe(text);
    expect(decodeXmlBytes(Buffer.from(text))).toBe(text);
    expect(decodeXmlBytes(Buffer.from([0x3c, 0x61, 0xc3, 0x28]))).toBeUndefined(); // broken UTF-8 sequence
    expect(decodeXmlBytes(Buffer.from([0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00]))).toBeUndefined(); // lone surrogate
    expect(decodeXmlBytes(Buffer.from([0xff, 0xfe, 0x3c, 0x00, 0x61]))).toBeUndefined(); // odd byte count
  });

  it("the five predefined entities and character references, nothing else", () => {
    expect(decodeText("o&apos;brien&amp;co&#64;&#x65;xample.com &lt;&gt;&quot;")).toBe(
      "o'brien&co@example.com <>\"",
    );
    expect(decodeText("&#128512;")).toBe("😀");
    for (const bad of ["a & b", "&nbsp;", "&lol9;", "&#0;", "&#xD800;", "&#x110000;", "&amp", "&;", "&#;"])
      expect(decodeText(bad), bad).toBeUndefined();
  });
});

describe("parseAutodiscoverRequest", () => {
  const parse = (bytes: Uint8Array) => parseAutodiscoverRequest(bytes);
  const schema = (s: string) =>
    `<EMailAddress>a@example.com</EMailAddress><AcceptableResponseSchema>${s}</AcceptableResponseSchema>`;

  it("dispatch key: outlook, mobilesync or other; trimmed, any case, https read as http", () => {
    expect(parse(req(schema(OUTLOOK)))).toMatchObject({ ok: true, request: { schema: "outlook" } });
    expect(parse(req(schema(` ${OUTLOOK.toUpperCase().replace("HTTP:", "HTTPS:")}\n`)))).toMatchObject({
      request: { schema: "outlook" },
    });
    expect(parse(req(schema(MOBILESYNC)))).toMatchObject({ request: { schema: "mobilesync" } });
    for (const other of [
      "http://schemas.microsoft.com/exchange/autodiscover/certenroll/responseschema/2006",
      "schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
      `${OUTLOOK}x`,
      "ftp://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
    ])
      expect(parse(req(schema(other)))).toMatchObject({ request: { schema: "other" } });
  });

  it("without AcceptableResponseSchema, the request namespace decides (none → Outlook)", () => {
    expect(parse(req("<EMailAddress>a@example.com</EMailAddress>", ""))).toMatchObject({
      request: { schema: "outlook", emailAddress: "a@example.com" },
    });
    const mobileNs = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006";
    expect(parse(req("<EMailAddress>a@example.com</EMailAddress>", mobileNs))).toMatchObject({
      request: { schema: "mobilesync" },
    });
  });

  it("text is trimmed and decoded; CDATA is taken as it is; LegacyDN is read", () => {
    const got = parse(
      req(
        "<EMailAddress>\n o&apos;brien&amp;co@example.com </EMailAddress><LegacyDN><![CDATA[/o=X&Y/cn=Recipients]]></LegacyDN>",
      ),
    );
    expect(got).toEqual({
      ok: true,
      request: {
        emailAddress: "o'brien&co@example.com",
        legacyDN: "/o=X&Y/cn=Recipients",
        schema: "outlook",
      },
    });
  });

  it("refusals name their reason", () => {
    const cases: [string, Uint8Array][] = [
      ["empty", enc(" \r\n ")],
      ["encoding", Uint8Array.from([0x3c, 0xff])],
      ["doctype", enc("<!doctype x><Autodiscover/>")],
      ["doctype", enc('<Autodiscover><!ENTITY x "y"></Autodiscover>')],
      ["malformed", enc("<Autodiscover><Request></Autodiscover>")],
      ["malformed", enc("<Autodiscover><__proto__>1</__proto__></Autodiscover>")],
      ["too-deep", req(`${"<x>".repeat(20)}${"</x>".repeat(20)}`)],
      ["wrong-root", enc("<Request/>")],
      ["malformed", enc("<Autodiscover/><Autodiscover/>")], // two roots: not well-formed XML
      ["wrong-namespace", req("", "urn:other")],
      ["wrong-namespace", enc("<p:Autodiscover><Request/></p:Autodiscover>")],
      ["request-count", enc(`<Autodiscover xmlns="${REQUEST_NS}"/>`)],
      ["request-count", enc(`<Autodiscover xmlns="${REQUEST_NS}"><Request/><Request/></Autodiscover>`)],
      [
        "field-count",
        req("<EMailAddress>a@example.com</EMailAddress><EMailAddress>b@example.com</EMailAddress>"),
      ],
      ["bad-text", req("<EMailAddress><b>a@example.com</b></EMailAddress>")],
      ["malformed", req("<EMailAddress>a&nbsp;@example.com</EMailAddress>")], // undefined entity
    ];
    for (const [reason, bytes] of cases)
      expect(parse(bytes), new TextDecoder().decode(bytes)).toEqual({ ok: false, reason });
  });

  it("elements of other namespaces and unbound prefixes are not ours", () => {
    const got = parse(
      req(
        '<x:EMailAddress xmlns:x="urn:x">evil@example.com</x:EMailAddress><q:EMailAddress>q@example.com</q:EMailAddress><EMailAddress>a@example.com</EMailAddress>',
      ),
    );
    expect(got).toMatchObject({ ok: true, request: { emailAddress: "a@example.com" } });
  });
});

describe("templates", () => {
  const provider = parseProvider({
    id: "example.org",
    displayName: "Example",
    domains: ["example.org"],
    incoming: [{ type: "imap", hostname: "imap.example.org", port: 993, socketType: "SSL" }],
    outgoing: [{ hostname: "smtp.example.org", port: 587, socketType: "STARTTLS" }],
    caldav: { hostname: "dav.example.org", principalUrl: "/dav/%EMAILADDRESS%/" },
    carddav: { hostname: "dav.example.org", port: 80, socketType: "plain" },
  });
  if (!provider.ok) throw new Error("provider");
  const account = (addr: string) => {
    const address = parseEmailAddress(addr);
    if (!address) throw new Error(addr);
    return accountSettings(
      { provider: provider.value, domain: address.domain, via: "exact", source: "t" },
      address,
    );
  };

  it("DAV URLs: scheme from socketType, default port left out, placeholders encoded as path segments (@ kept)", () => {
    const a = account('"j/d"@example.org');
    if (!a.caldav || !a.carddav) throw new Error("dav");
    const server = (kind: string, s: DavServer) => davUrl(s, s.principalUrl ?? `/.well-known/${kind}`);
    expect(server("caldav", a.caldav)).toBe("https://dav.example.org/dav/%22j%2Fd%22@example.org/");
    expect(server("carddav", a.carddav)).toBe("http://dav.example.org/.well-known/carddav");
    expect(server("carddav", { ...a.carddav, port: 8080 })).toBe(
      "http://dav.example.org:8080/.well-known/carddav",
    );
    const absolute = accountSettings(
      {
        provider: {
          ...provider.value,
          caldav: { ...a.caldav, principalUrl: "https://cal.example.org/%EMAILLOCALPART%" },
        },
        domain: "example.org",
        via: "exact",
        source: "t",
      },
      parseEmailAddress('"j/d"@example.org'),
    );
    if (!absolute.caldav) throw new Error("dav");
    expect(server("caldav", absolute.caldav)).toBe("https://cal.example.org/%22j%2Fd%22");
  });

  it("redirects and the v2 error escape what they insert", () => {
    const weird = account("a&b'<c>@example.org".replace(/[<>]/g, "")); // < > are not valid in an address
    const redirect = renderRedirectAddr("o'b&c@example.net");
    expect(wellFormed(redirect).status).toBe(0);
    expect(at(parseTree(redirect), "Response", "Account", "RedirectAddr")?.text).toBe("o'b&c@example.net");
    const mobile = renderMobilesyncRedirect(weird, "x<y>@example.net");
    expect(mobile).toContain("<Redirect>x&lt;y&gt;@example.net</Redirect>");
    expect(at(parseTree(mobile), "Response", "User", "EMailAddress")?.text).toBe("a&b'c@example.org");
    expect(JSON.parse(renderV2InvalidProtocol('EWS"}<x>'))).toEqual({
      ErrorCode: "InvalidProtocol",
      ErrorMessage: "The given protocol value 'EWSx' is invalid. Supported values are 'AutodiscoverV1'",
    });
  });

  it("v2 addresses come from Email= or the single segment after /v1.0/, percent-decoded once", () => {
    expect(v2Email(new URL("http://h/autodiscover/autodiscover.json?EMAIL=a%40b.c"))).toEqual({
      email: "a@b.c",
      from: "Email",
    });
    expect(v2Email(new URL("http://h/AutoDiscover/AutoDiscover.JSON/v1.0/a%2540b.c"))).toEqual({
      email: "a%40b.c",
      from: "the address after /v1.0/",
    });
    expect(v2Email(new URL("http://h/autodiscover/autodiscover.json/v1.0/a/b"))).toEqual({
      email: undefined,
      from: "the address after /v1.0/",
    });
    // A segment that is not an address does not override a valid Email= (issue 11).
    expect(
      v2Email(new URL("http://h/autodiscover/autodiscover.json/v1.0/me?Email=jane%40example.com")),
    ).toEqual({
      email: "jane@example.com",
      from: "Email",
    });
    expect(
      v2Email(new URL("http://h/autodiscover/autodiscover.json/v1.0/c%40d.e?Email=jane%40example.com")),
    ).toEqual({
      email: "c@d.e",
      from: "the address after /v1.0/",
    });
    expect(v2Email(new URL("http://h/autodiscover/autodiscover.jsonx"))).toBeUndefined();
  });
});

describe("store faults", () => {
  it("a failing settings store is error 603 (HTTP 200) for POX and 404 JSON for v2, never a 5xx, and is logged", async () => {
    const { createApp } = await import("../src/app.ts");
    const logs: string[] = [];
    const app = createApp({
      store: {
        resolve: async () => {
          throw new Error("database is locked");
        },
        providers: async () => [],
      },
      publicUrl: "https://ad.example.org",
      log: (m) => logs.push(m),
    });
    const res = await app.request("/autodiscover/autodiscover.xml", {
      method: "POST",
      body: "<Autodiscover><Request><EMailAddress>jane@example.com</EMailAddress></Request></Autodiscover>",
    });
    expect(res.status).toBe(200);
    expect(at(parseTree(await res.text()), "Response", "Error", "ErrorCode")?.text).toBe("603");
    const v2 = await app.request(
      "/autodiscover/autodiscover.json?Email=jane%40example.com&Protocol=AutodiscoverV1",
    );
    expect(v2.status).toBe(404);
    expect(logs.join("\n")).toContain("database is locked");
    expect(logs.join("\n")).not.toContain("jane@");
  });
});
