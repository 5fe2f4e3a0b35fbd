/**
 * Property tests (fast-check) of the Autodiscover endpoints, in process through `app.request`:
 * for any address, any body, any store value and any v2 query, the answer is well-formed, in the
 * right namespaces, carries every inserted value escaped (it reads back exactly), echoes no request
 * text, and is never a 5xx. All the XML answers are finally checked by xmllint in one run.
 */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { expandPlaceholders } from "../src/providers/account.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { parseEmailAddress } from "../src/providers/domain.ts";
import { parseProvider } from "../src/providers/model.ts";
import { LayeredStore, MemoryStore } from "../src/providers/store.ts";
import { sanitizeProtocol } from "../src/templates/autodiscover-v2.ts";
import { escapeXml } from "../src/templates/xml.ts";
import { tempFile } from "./helpers/shared.ts";
import { at, childrenNamed, parseTree, type XmlTree } from "./helpers/xml-tree.ts";

const ROOT_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
const OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
const MOBILESYNC_NS = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";
const REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
const RUNS = { numRuns: 150 };

function provider(input: Record<string, unknown>) {
  const parsed = parseProvider({
    displayName: "Test",
    incoming: [{ type: "imap", hostname: "imap.%EMAILDOMAIN%", port: 993, socketType: "SSL" }],
    outgoing: [{ hostname: "smtp.%EMAILDOMAIN%", port: 587, socketType: "STARTTLS" }],
    ...input,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

const FILE_PROVIDERS = [
  provider({
    id: "dav.test",
    domains: ["dav.test"],
    caldav: { hostname: "dav.dav.test", principalUrl: "/dav/%EMAILADDRESS%/" },
    carddav: { hostname: "dav.dav.test" },
    activeSync: { url: "https://eas.dav.test/Microsoft-Server-ActiveSync" },
  }),
];
const baseLayers = [
  new MemoryStore(
    FILE_PROVIDERS.map((p) => ({ provider: p, source: "test" })),
    { "alias.test": "dav.test" },
  ),
  new MemoryStore(BUILTIN_PROVIDERS.map((p) => ({ provider: p, source: "built-in" }))),
];
const app = createApp({ store: new LayeredStore(baseLayers), publicUrl: "https://ad.example.org" });

/** Every XML answer seen, for one xmllint run at the end. */
const answers = new Set<string>();

async function post(body: string | Uint8Array, method = "POST", appToUse = app) {
  const res = await appToUse.request("/autodiscover/autodiscover.xml", {
    method,
    body:
      method === "GET" || method === "HEAD"
        ? undefined
        : typeof body === "string"
          ? body
          : new Uint8Array(body),
    headers: { "Content-Type": "text/xml; charset=utf-8" },
  });
  const text = await res.text();
  if (method !== "HEAD") answers.add(text);
  return { status: res.status, text };
}

/** The answer's shape, or throws: well-formed, root namespace exact, payload namespace one of ours. */
function checkShape(text: string): XmlTree {
  expect(text.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns=')).toBe(true);
  const tree = parseTree(text);
  expect(tree.name).toBe("Autodiscover");
  expect(tree.attrs).toEqual({ xmlns: ROOT_NS });
  const responses = childrenNamed(tree, "Response");
  expect(responses).toHaveLength(1);
  expect([OUTLOOK_NS, MOBILESYNC_NS, undefined]).toContain(responses[0]?.attrs.xmlns);
  return tree;
}

const SCHEMAS = [
  OUTLOOK_NS,
  MOBILESYNC_NS,
  OUTLOOK_NS.replace("http:", "https:"),
  "http://schemas.microsoft.com/exchange/autodiscover/certenroll/responseschema/2006",
];

/** Local parts: dot-atoms over every atext character plus some that are not allowed, and quoted strings. */
const localPart = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}){0,2}$/),
  fc.string({ unit: fc.constantFrom(..."ab<>&\"'é😀 ;:,.@\\\u0000\u0007"), minLength: 1, maxLength: 16 }),
  fc.string({ unit: fc.constantFrom(..."ab<>&' ,;:@"), maxLength: 12 }).map((s) => `"${s}"`),
);
const domain = fc.oneof(
  fc.constantFrom(
    "example.com",
    "gmail.com",
    "icloud.com",
    "outlook.com",
    "dav.test",
    "alias.test",
    "Example.COM.",
  ),
  fc.domain(),
);

describe("any address", () => {
  it("answer is well-formed, in our namespaces, the address reads back exactly, nothing is echoed", async () => {
    const marker = "zq7marker";
    await fc.assert(
      fc.asyncProperty(
        localPart,
        domain,
        fc.option(fc.constantFrom(...SCHEMAS, `urn:${marker}`), { nil: undefined }),
        async (local, dom, schema) => {
          const address = `${local}@${dom}`;
          const body =
            `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="${REQUEST_NS}"><Request>` +
            `<EMailAddress>${escapeXml(address)}</EMailAddress>` +
            (schema ? `<AcceptableResponseSchema>${escapeXml(schema)}</AcceptableResponseSchema>` : "") +
            "</Request></Autodiscover>";
          const res = await post(body);
          expect(res.status).toBe(200);
          const tree = checkShape(res.text);
          expect(res.text).not.toContain(marker);
          // escapeXml drops the C0 controls XML cannot carry, so the server reads the address without them.
          const sent = [...address].filter((ch) => ch >= " " || "\t\n\r".includes(ch)).join("");
          const parsed = parseEmailAddress(sent);
          const code = at(tree, "Response", "Error", "ErrorCode")?.text;
          if (!parsed) {
            expect(["600", "601"]).toContain(code);
            return;
          }
          const smtp = at(tree, "Response", "User", "AutoDiscoverSMTPAddress");
          if (smtp) {
            expect(smtp.text).toBe(parsed.address);
            expect(at(tree, "Response")?.attrs.xmlns).toBe(OUTLOOK_NS);
            for (const p of childrenNamed(at(tree, "Response", "Account") as XmlTree, "Protocol")) {
              expect(at(p, "LoginName")?.text).not.toMatch(/%EMAIL/);
              expect(["on", "off"]).toContain(at(p, "SSL")?.text);
            }
          }
          const redirect =
            at(tree, "Response", "Account", "RedirectAddr") ?? at(tree, "Response", "Action", "Redirect");
          if (redirect) expect(redirect.text).toBe(`${parsed.localPart}@dav.test`);
        },
      ),
      RUNS,
    );
  });
});

describe("any store value", () => {
  it("login names and DAV URLs from arbitrary templates read back exactly", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Printable ASCII (fast-check's default unit), so every character survives into XML.
        // Without `%WORD%` tokens: the model refuses placeholders other than its three (seed -563486635 found "%A%").
        fc
          .string({ minLength: 1, maxLength: 30 })
          .filter((s) => s.trim().length > 0 && !/%[A-Za-z_]+%/.test(s)),
        // Any printable path without white space (the model refuses white space in a principal URL).
        fc.string({ maxLength: 30 }).map((s) => s.replace(/\s/g, "")),
        async (literal, path) => {
          const username = `${literal.trim()}\\%EMAILLOCALPART%`;
          const p = provider({
            id: "store.test",
            domains: ["store.test"],
            incoming: [
              { type: "pop3", hostname: "pop.store.test", port: 110, socketType: "plain", username },
            ],
            caldav: { hostname: "dav.store.test", principalUrl: `/${path}` },
          });
          const own = createApp({
            store: new MemoryStore([{ provider: p, source: "t" }]),
            publicUrl: "https://ad.example.org",
          });
          const body = `<Autodiscover><Request><EMailAddress>jane@store.test</EMailAddress></Request></Autodiscover>`;
          const res = await post(body, "POST", own);
          const tree = checkShape(res.text);
          const [pop, , caldav] = childrenNamed(at(tree, "Response", "Account") as XmlTree, "Protocol");
          const expected = expandPlaceholders(p.incoming[0]?.username ?? "", {
            domain: "store.test",
            address: { address: "jane@store.test", localPart: "jane", domain: "store.test" },
          });
          expect(at(pop as XmlTree, "LoginName")?.text).toBe(expected.trim());
          expect(at(caldav as XmlTree, "Type")?.text).toBe("CalDAV");
          expect(at(caldav as XmlTree, "Server")?.text.startsWith("https://dav.store.test/")).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Bodies: random bytes, random text, mutated real requests, and random element trees. */
const REAL = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="${REQUEST_NS}">
  <Request>
    <EMailAddress>jane.doe@example.com</EMailAddress>
    <AcceptableResponseSchema>${OUTLOOK_NS}</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;
const NAMES = [
  "Autodiscover",
  "Request",
  "EMailAddress",
  "LegacyDN",
  "AcceptableResponseSchema",
  "x",
  "a:Request",
  "__proto__",
  "constructor",
];
const element: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.string({ unit: fc.constantFrom(..."ab@.&;<>#x0 \n"), maxLength: 12 }),
    fc
      .tuple(
        fc.constantFrom(...NAMES),
        fc.option(
          fc.constantFrom(` xmlns="${REQUEST_NS}"`, ' xmlns="urn:x"', ' xmlns:a="urn:y"', ' a:b="c"'),
          { nil: "" },
        ),
        fc.array(tie("node"), { maxLength: 4 }),
      )
      .map(([name, attr, kids]) => `<${name}${attr}>${kids.join("")}</${name}>`),
  ),
})).node;
const body = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.string({ maxLength: 512 }),
  fc
    .tuple(fc.nat(REAL.length), fc.nat(40), fc.string({ maxLength: 40 }))
    .map(([at, cut, insert]) => REAL.slice(0, at) + insert + REAL.slice(Math.min(REAL.length, at + cut))),
  element.map((e) => `<Autodiscover xmlns="${REQUEST_NS}">${e}</Autodiscover>`),
  element,
  fc.constantFrom("", "\uFEFF", "<!DOCTYPE x>", "<?xml version='1.0'?>", `${REAL}${REAL}`),
);

describe("any body", () => {
  it("is answered 200 (or 413) with a well-formed Autodiscover document, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom("POST", "POST", "POST", "GET", "PUT"), async (b, method) => {
        const res = await post(b, method);
        expect(res.status).toBeLessThan(500);
        expect([200, 413]).toContain(res.status);
        checkShape(res.text);
      }),
      { numRuns: 400 },
    );
  });
});

describe("any v2 query", () => {
  it("is answered with JSON, 200/400/404, the protocol never echoed raw, the Url from configuration", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 40 }), fc.emailAddress(), fc.constant("jane@gmail.com")),
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.constantFrom("AutodiscoverV1", "autodiscoverv1", "ActiveSync", "EWS"),
        ),
        fc.boolean(),
        async (email, protocol, pathForm) => {
          const q = `Protocol=${encodeURIComponent(protocol)}`;
          const url = pathForm
            ? `/autodiscover/autodiscover.json/v1.0/${encodeURIComponent(email)}?${q}`
            : `/autodiscover/autodiscover.json?Email=${encodeURIComponent(email)}&${q}`;
          const res = await app.request(url);
          expect([200, 400, 404]).toContain(res.status);
          expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
          const json = (await res.json()) as Record<string, string>;
          if (res.status === 200) {
            expect(Object.keys(json)).toEqual(["Protocol", "Url"]);
            if (json.Protocol === "AutodiscoverV1")
              expect(json.Url).toBe("https://ad.example.org/autodiscover/autodiscover.xml");
          } else {
            expect(Object.keys(json)).toEqual(["ErrorCode", "ErrorMessage"]);
            if (json.ErrorCode === "InvalidProtocol")
              expect(json.ErrorMessage).toBe(
                `The given protocol value '${sanitizeProtocol(protocol)}' is invalid. Supported values are 'AutodiscoverV1'`,
              );
            else
              expect([
                `${pathForm ? "the address after /v1.0/" : "Email"}: expected an e-mail address such as jane@example.com`,
                "No settings are published for this domain.",
              ]).toContain(json.ErrorMessage);
          }
        },
      ),
      RUNS,
    );
  });
});

describe("every XML answer above", () => {
  it("is accepted by xmllint (one run over all of them)", () => {
    expect(answers.size).toBeGreaterThan(100);
    const files = [...answers].slice(0, 500).map((a, i) => tempFile(`answer-${i}.xml`, a));
    const r = spawnSync("xmllint", ["--noout", ...files], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr.slice(0, 2000)).toBe("");
    expect(r.status).toBe(0);
  });
});
