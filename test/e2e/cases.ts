/**
 * The shared end-to-end cases: what real clients send, and what they must get back. The same
 * cases run against the Node server (test/e2e-node.test.ts), inside workerd
 * (test/workers/e2e.test.ts, where every answer must also equal the Node server's byte for byte)
 * and against `wrangler dev` (test/worker-dev.test.ts).
 *
 * Inputs are real files: the Autodiscover fixtures of test/fixtures/autodiscover (every request
 * fixture there must be classified below) and the golden answers of test/golden. They reach
 * workerd, which has no file system, through vitest's provide/inject (test/e2e/files.ts).
 * Web APIs only.
 */
import { expect } from "vitest";
import { outlookRequest } from "../helpers/outlook-request.ts";
import { E2E_ADMIN_TOKEN, E2E_PUBLIC_URL, type E2EAnswer, type E2ERequest, text } from "./http.ts";

/** Files the cases need: name → bytes. */
export interface E2EFiles {
  /** test/fixtures/autodiscover/* */
  autodiscover: Record<string, Uint8Array>;
  /** test/golden/** (e.g. `autoconfig/user@gmail.com.xml`) */
  golden: Record<string, Uint8Array>;
}

/** Checks only Node runs (test/helpers/checks; with ../shared also its Python validators). */
export interface E2EValidators {
  /** Thunderbird desktop and Thunderbird for Android must accept the clientConfig. */
  autoconfig?(xml: string): void;
  /** Apple's payload schemas and the plist DTD must accept the profile. */
  mobileconfig?(profile: Uint8Array): void;
  /** `openssl cms -verify` to the test root must accept the signed profile and give back `content`. */
  signedProfile?(signed: Uint8Array, content: Uint8Array): void;
}

/** Options of {@link e2eCases}. */
export interface E2ECaseOptions {
  /**
   * The fixed signing time (ISO 8601, whole seconds) both runtimes sign with; the signed-profile
   * cases are defined only with it (the `wrangler dev` run has no fixed clock).
   */
  signingTime?: string;
}

/**
 * A field that legitimately differs between two runs and is normalised before answers are
 * compared (test/e2e/suite.ts normaliseVolatile):
 * - `autodiscover-error-time`: the `Time` attribute of an Autodiscover `Error` (the time of day it
 *   was sent, MS-OXDSCLI §2.2.4.1.1.1; src/templates/autodiscover.ts);
 * - `admin-updated-at`: the time of a write to the SQL store, as `"updatedAt"` in admin API JSON
 *   and as the `Last-Modified` header (src/handlers/admin.ts).
 */
export type Volatile = "autodiscover-error-time" | "admin-updated-at";

/** One exchange (or a few related ones) and its checks. */
export interface E2ECase {
  /** Stable key: the Node answers recorded for workerd are looked up by it. */
  id: string;
  group: "autoconfig" | "autodiscover" | "pacc" | "profile" | "pages" | "admin" | "app";
  title: string;
  requests: E2ERequest[];
  volatile?: Volatile;
  /** Assertions on the answers (one per request, same order). */
  check(answers: E2EAnswer[], validators: E2EValidators): void;
}

/** The Host header every request carries unless a case sets one: an IP address names no mail domain. */
export const DEFAULT_HOST = "127.0.0.1";

/** A request with an explicit Host header (the Node server and the Worker then see the same one). */
export function withHost(request: Partial<E2ERequest> & { path: string }): E2ERequest {
  const headers = { Host: DEFAULT_HOST, ...request.headers };
  return { method: "GET", ...request, headers };
}

const get = (path: string, headers: Record<string, string> = {}) => withHost({ path, headers });
const post = (path: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
  withHost({
    method: "POST",
    path,
    headers: { "Content-Type": "text/xml", ...headers },
    body: typeof body === "string" ? new TextEncoder().encode(body) : body,
  });

const AUTODISCOVER = "/autodiscover/autodiscover.xml";
const XML_TYPE = "application/xml; charset=utf-8";
const AUTODISCOVER_TYPE = "text/xml; charset=utf-8";
const PROFILE_TYPE = "application/x-apple-aspen-config";

/** The four reference accounts of test/golden (built-in providers). */
export const GOLDEN_ADDRESSES = ["user@gmail.com", "user@outlook.com", "user@icloud.com", "user@example.com"];

export { outlookRequest };

/** Replays a raw HTTP request file (request line, headers, no body) such as request-get-no-body.txt. */
export function parseRawRequest(raw: Uint8Array): E2ERequest {
  const [requestLine = "", ...headerLines] = new TextDecoder().decode(raw).split(/\r?\n/);
  const [method = "GET", path = "/"] = requestLine.split(" ");
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return withHost({ method, path, headers });
}

function expectAutodiscoverError(answer: E2EAnswer, code: 500 | 600 | 601, mobilesync = false): void {
  expect(answer.status).toBe(200);
  expect(answer.headers["content-type"]).toBe(AUTODISCOVER_TYPE);
  const body = text(answer);
  expect(body).toContain(`<ErrorCode>${code}</ErrorCode>`);
  expect(body).toMatch(/<Error Time="\d\d:\d\d:\d\d\.\d{3}" Id="\d+">/);
  const mobilesyncNs =
    '<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">';
  if (mobilesync) expect(body).toContain(mobilesyncNs);
  else expect(body).not.toContain(mobilesyncNs);
}

/** Outlook settings for jane.doe@example.com (built-in example.com: IMAP 993 SSL, SMTP 587 STARTTLS). */
function expectJaneSettings(answer: E2EAnswer): void {
  expect(answer.status).toBe(200);
  expect(answer.headers["content-type"]).toBe(AUTODISCOVER_TYPE);
  const body = text(answer);
  expect(body).toContain("<AutoDiscoverSMTPAddress>jane.doe@example.com</AutoDiscoverSMTPAddress>");
  expect(body).toMatch(
    /<Type>IMAP<\/Type>[\s\S]*?<Port>993<\/Port>[\s\S]*?<SSL>on<\/SSL>\s*<Encryption>SSL<\/Encryption>/,
  );
  expect(body).toMatch(/<Port>587<\/Port>[\s\S]*?<SSL>on<\/SSL>\s*<Encryption>TLS<\/Encryption>/);
  expect(body).toContain("<LoginName>jane.doe@example.com</LoginName>");
}

/** How a request fixture must be answered; error documents carry the volatile `Time`. */
interface CorpusExpectation {
  volatile?: Volatile;
  check(answer: E2EAnswer): void;
}

const settingsForJane = (extra?: (a: E2EAnswer) => void): CorpusExpectation => ({
  check(a) {
    expectJaneSettings(a);
    extra?.(a);
  },
});

const autodiscoverError = (
  code: 500 | 600 | 601,
  opts: { mobilesync?: boolean; extra?: (a: E2EAnswer) => void } = {},
): CorpusExpectation => ({
  volatile: "autodiscover-error-time",
  check(a) {
    expectAutodiscoverError(a, code, opts.mobilesync);
    opts.extra?.(a);
  },
});

/**
 * What each request fixture of test/fixtures/autodiscover must get (its README.md; the answers of
 * docs/clients.md, "Autodiscover: clients and answers"). A fixture missing here fails the suite, so a new
 * fixture forces a decision.
 */
const CORPUS_EXPECTATIONS: Record<string, CorpusExpectation> = {
  "request-outlook.xml": settingsForJane(),
  "request-outlook-utf8-bom.xml": settingsForJane(),
  "request-outlook-utf16le-bom.xml": settingsForJane(),
  "request-outlook-utf16be-bom.xml": settingsForJane(),
  "request-outlook-utf16le-no-bom.xml": settingsForJane(),
  "request-utf16-declared-utf8-bytes.xml": settingsForJane(),
  "request-prefixed.xml": settingsForJane(),
  "request-https-namespace-typo.xml": settingsForJane((a) =>
    expect(text(a)).not.toContain("https://schemas.microsoft.com"),
  ),
  "request-legacydn-and-email.xml": settingsForJane(),
  "request-legacydn-only.xml": autodiscoverError(600),
  "request-no-namespace.xml": settingsForJane(),
  "request-mobilesync.xml": autodiscoverError(601, { mobilesync: true }),
  "request-unknown-schema.xml": autodiscoverError(601),
  "request-two-requests.xml": autodiscoverError(600),
  "request-empty.xml": autodiscoverError(600),
  "request-not-xml.xml": autodiscoverError(600),
  "request-get-no-body.txt": autodiscoverError(600),
  "request-xml-injection.xml": autodiscoverError(600, {
    extra: (a) => expect(text(a)).not.toContain("<Server>evil.example</Server>"),
  }),
  "attack-xxe-file.xml": autodiscoverError(600, { extra: (a) => expect(text(a)).not.toContain("root:") }),
  "attack-xxe-parameter-entity.xml": autodiscoverError(600),
  "attack-billion-laughs.xml": autodiscoverError(600, { extra: (a) => expect(text(a)).not.toContain("lol") }),
};

/** Request fixtures (responses and JSON are answers, not requests). */
export function isRequestFixture(name: string): boolean {
  return /^(request|attack)-/.test(name);
}

function golden(files: E2EFiles, name: string): Uint8Array {
  const bytes = files.golden[name];
  if (!bytes) throw new Error(`golden file test/golden/${name} is missing`);
  return bytes;
}

/** Where `needle` starts in `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** DER of the CMS signingTime attribute type, 1.2.840.113549.1.9.5 (RFC 5652 §11.3). */
const SIGNING_TIME_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];

/**
 * The signingTime of a DER CMS SignedData as ISO 8601: the attribute's `SET { UTCTime }`
 * (`YYMMDDHHMMSSZ`, years 1950-2049, RFC 5280 §4.1.2.5.1). `undefined` if absent.
 */
export function cmsSigningTime(der: Uint8Array): string | undefined {
  const at = indexOfBytes(der, new Uint8Array(SIGNING_TIME_OID));
  if (at < 0) return undefined;
  const p = at + SIGNING_TIME_OID.length;
  // SET (0x31) of length 15, holding UTCTime (0x17) of length 13.
  if (der[p] !== 0x31 || der[p + 1] !== 0x0f || der[p + 2] !== 0x17 || der[p + 3] !== 0x0d) return undefined;
  const t = new TextDecoder().decode(der.subarray(p + 4, p + 17));
  const m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(t);
  if (!m) return undefined;
  const year = Number(m[1]) < 50 ? `20${m[1]}` : `19${m[1]}`;
  return `${year}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
}

/** The PayloadIdentifier of a profile. */
function payloadIdentifier(profile: string): string | undefined {
  return /<key>PayloadIdentifier<\/key>\s*<string>([^<]+)/.exec(profile)?.[1];
}

/** Every case, in a stable order. */
export function e2eCases(files: E2EFiles, options: E2ECaseOptions = {}): E2ECase[] {
  const cases: E2ECase[] = [];

  // --- Thunderbird and other autoconfig clients (reference/autoconfig.md §2, §6)
  cases.push(
    {
      id: "autoconfig-thunderbird-url",
      group: "autoconfig",
      title: "Thunderbird's URL with a percent-encoded address",
      requests: [get("/mail/config-v1.1.xml?emailaddress=first.last%2Btag%40example.com")],
      check([a], v) {
        expect(a?.status).toBe(200);
        expect(a?.headers["content-type"]).toBe(XML_TYPE);
        expect(a?.headers["access-control-allow-origin"]).toBe("*");
        const body = text(a as E2EAnswer);
        expect(body).toContain('<emailProvider id="example.com">');
        expect(body).toContain("<hostname>mail.example.com</hostname>");
        v.autoconfig?.(body);
      },
    },
    {
      id: "autoconfig-host-name",
      group: "autoconfig",
      title: "without emailaddress, the domain comes from the Host name (Thunderbird for Android)",
      requests: [
        get("/.well-known/autoconfig/mail/config-v1.1.xml", { Host: "icloud.com" }),
        get("/mail/config-v1.1.xml", { Host: "autoconfig.gmail.com:443" }),
        get("/mail/config-v1.1.xml", { Host: "127.0.0.1" }),
        get("/.well-known/mail-v1.xml", { Host: "example.com" }),
      ],
      check([icloud, gmail, ip, gnome]) {
        expect(icloud?.status).toBe(200);
        expect(text(icloud as E2EAnswer)).toContain("<hostname>imap.mail.me.com</hostname>");
        expect(text(gmail as E2EAnswer)).toMatch(/^<\?xml[\s\S]*<domain>gmail.com<\/domain>/);
        expect(ip?.status).toBe(404);
        expect(ip?.headers["content-type"]).toMatch(/^text\/plain/);
        expect(gnome?.status).toBe(200);
        expect(text(gnome as E2EAnswer)).toContain('<emailProvider id="example.com">');
      },
    },
    {
      id: "autoconfig-ispdb-path",
      group: "autoconfig",
      title: "the ISPDB-style path /v1.1/<domain>, and HEAD",
      requests: [get("/v1.1/hotmail.de"), withHost({ method: "HEAD", path: "/v1.1/gmail.com" })],
      check([hotmail, head]) {
        expect(hotmail?.status).toBe(200);
        expect(text(hotmail as E2EAnswer)).toContain("<hostname>outlook.office365.com</hostname>");
        expect(head?.status).toBe(200);
        expect(head?.headers["content-type"]).toBe(XML_TYPE);
        expect(head?.body.byteLength).toBe(0);
      },
    },
    {
      id: "autoconfig-errors",
      group: "autoconfig",
      title: "404 with short plain text for an unknown domain, 400 for a broken address",
      requests: [
        get("/mail/config-v1.1.xml?emailaddress=a%40unknown-domain.test"),
        get("/mail/config-v1.1.xml?emailaddress=%3Cscript%3E"),
        get("/v1.1/not_a_domain!"),
      ],
      check([unknown, bad, badPath]) {
        expect(unknown?.status).toBe(404);
        expect(unknown?.headers["content-type"]).toMatch(/^text\/plain/);
        expect(text(unknown as E2EAnswer)).toBe("No settings for unknown-domain.test.\n");
        expect(bad?.status).toBe(400);
        expect(text(bad as E2EAnswer)).not.toContain("<script>");
        expect(badPath?.status).toBe(400);
      },
    },
    {
      id: "autoconfig-settings-file",
      group: "autoconfig",
      title: "a domain of the bundled settings file (examples/settings.yaml) and its alias",
      requests: [
        get("/mail/config-v1.1.xml?emailaddress=jane%40example.org"),
        get("/mail/config-v1.1.xml?emailaddress=jane%40example-old.org"),
      ],
      check([org, alias], v) {
        expect(org?.status).toBe(200);
        const body = text(org as E2EAnswer);
        expect(body).toContain('<emailProvider id="example.org">');
        expect(body).toContain("<hostname>imap.example.org</hostname>");
        expect(body).toContain("<displayName>Example Org Mail</displayName>");
        v.autoconfig?.(body);
        expect(alias?.status).toBe(200);
        expect(text(alias as E2EAnswer)).toContain("<hostname>smtp.example.org</hostname>");
      },
    },
  );
  for (const address of GOLDEN_ADDRESSES) {
    cases.push({
      id: `autoconfig-golden-${address}`,
      group: "autoconfig",
      title: `${address}: the answer is test/golden/autoconfig/${address}.xml`,
      requests: [get(`/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`)],
      check([a]) {
        expect(a?.status).toBe(200);
        expect(text(a as E2EAnswer)).toBe(
          new TextDecoder().decode(golden(files, `autoconfig/${address}.xml`)),
        );
      },
    });
  }

  // --- Outlook Autodiscover POX (reference/autodiscover.md §0, §7)
  const outlook = files.autodiscover["request-outlook.xml"];
  if (!outlook) throw new Error("fixture request-outlook.xml is missing");
  for (const path of [AUTODISCOVER, "/Autodiscover/Autodiscover.xml", "/AutoDiscover/AutoDiscover.xml"]) {
    cases.push({
      id: `autodiscover-path-${path}`,
      group: "autodiscover",
      title: `POST ${path} with Outlook's request body`,
      requests: [post(path, outlook)],
      check([a]) {
        expectJaneSettings(a as E2EAnswer);
      },
    });
  }
  for (const name of Object.keys(files.autodiscover).filter(isRequestFixture).sort()) {
    const bytes = files.autodiscover[name] as Uint8Array;
    const expectation = CORPUS_EXPECTATIONS[name];
    const request = name.endsWith(".txt") ? parseRawRequest(bytes) : post(AUTODISCOVER, bytes);
    cases.push({
      id: `autodiscover-fixture-${name}`,
      group: "autodiscover",
      title: `fixture ${name}`,
      requests: [request],
      volatile: expectation?.volatile,
      check([a]) {
        if (!expectation) throw new Error(`fixture ${name} has no expected behaviour in test/e2e/cases.ts`);
        expectation.check(a as E2EAnswer);
      },
    });
  }
  cases.push(
    {
      id: "autodiscover-get",
      group: "autodiscover",
      title: "GET answers HTTP 200 with error 600",
      requests: [get(AUTODISCOVER)],
      volatile: "autodiscover-error-time",
      check([a]) {
        expectAutodiscoverError(a as E2EAnswer, 600);
      },
    },
    {
      id: "autodiscover-unknown-domain",
      group: "autodiscover",
      title: "error 500 for an unknown domain",
      requests: [post(AUTODISCOVER, outlookRequest("jane@unknown-domain.test"))],
      volatile: "autodiscover-error-time",
      check([a]) {
        expectAutodiscoverError(a as E2EAnswer, 500);
      },
    },
    {
      id: "autodiscover-alias",
      group: "autodiscover",
      title: "an alias domain of the settings file answers redirectAddr to its target",
      requests: [post(AUTODISCOVER, outlookRequest("jane@example-old.org"))],
      check([a]) {
        expect(a?.status).toBe(200);
        const body = text(a as E2EAnswer);
        expect(body).toContain("<Action>redirectAddr</Action>");
        expect(body).toContain("<RedirectAddr>jane@example.org</RedirectAddr>");
      },
    },
    {
      id: "autodiscover-too-large",
      group: "autodiscover",
      title: "a body over 16 KiB is refused: HTTP 413 with an error 600 document",
      requests: [post(AUTODISCOVER, `${outlookRequest("jane@example.com")}${" ".repeat(17 * 1024)}`)],
      volatile: "autodiscover-error-time",
      check([a]) {
        expect(a?.status).toBe(413);
        expect(a?.headers["content-type"]).toBe(AUTODISCOVER_TYPE);
        expect(text(a as E2EAnswer)).toContain("<ErrorCode>600</ErrorCode>");
      },
    },
  );
  for (const address of GOLDEN_ADDRESSES) {
    cases.push({
      id: `autodiscover-golden-${address}`,
      group: "autodiscover",
      title: `${address}: the answer is test/golden/autodiscover/${address}.xml`,
      requests: [post(AUTODISCOVER, outlookRequest(address))],
      check([a]) {
        expect(a?.status).toBe(200);
        expect(text(a as E2EAnswer)).toBe(
          new TextDecoder().decode(golden(files, `autodiscover/${address}.xml`)),
        );
      },
    });
  }

  // --- Autodiscover v2 JSON (reference/autodiscover.md §3.7): the Url comes from the public URL.
  const fixtureJson = (name: string) => {
    const bytes = files.autodiscover[name];
    if (!bytes) throw new Error(`fixture ${name} is missing`);
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, string>;
  };
  const v2Type = "application/json; charset=utf-8";
  cases.push(
    {
      id: "autodiscover-v2-autodiscoverv1",
      group: "autodiscover",
      title: "v2 JSON, Protocol=AutodiscoverV1 (query and /v1.0/ path forms, any case): the POX URL",
      requests: [
        get("/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=AutodiscoverV1"),
        get(
          "/Autodiscover/Autodiscover.json/v1.0/jane.doe@example.com?Protocol=autodiscoverv1&RedirectCount=1",
        ),
      ],
      check(answers) {
        // The shape of v2-autodiscoverv1.json, with this server's public URL.
        const expected = JSON.stringify({
          ...fixtureJson("v2-autodiscoverv1.json"),
          Url: `${E2E_PUBLIC_URL}/autodiscover/autodiscover.xml`,
        });
        for (const a of answers) {
          expect(a.status).toBe(200);
          expect(a.headers["content-type"]).toBe(v2Type);
          expect(text(a)).toBe(expected);
        }
      },
    },
    {
      id: "autodiscover-v2-errors",
      group: "autodiscover",
      title:
        "v2 JSON errors: InvalidProtocol (as v2-error-invalid-protocol.json), InvalidEmailAddress, NotFound",
      requests: [
        get("/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=ActiveSync"),
        get("/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=EWS"),
        get("/autodiscover/autodiscover.json?Protocol=AutodiscoverV1"),
        get("/autodiscover/autodiscover.json?Email=a%40unknown-domain.test&Protocol=AutodiscoverV1"),
      ],
      check([activeSync, ews, noEmail, unknown]) {
        expect(activeSync?.status).toBe(400);
        expect(JSON.parse(text(activeSync as E2EAnswer))).toEqual(
          fixtureJson("v2-error-invalid-protocol.json"),
        );
        expect(ews?.status).toBe(400);
        expect(JSON.parse(text(ews as E2EAnswer))).toMatchObject({ ErrorCode: "InvalidProtocol" });
        expect(noEmail?.status).toBe(400);
        expect(JSON.parse(text(noEmail as E2EAnswer))).toMatchObject({ ErrorCode: "InvalidEmailAddress" });
        expect(unknown?.status).toBe(404);
        expect(JSON.parse(text(unknown as E2EAnswer))).toMatchObject({ ErrorCode: "NotFound" });
      },
    },
  );

  // --- PACC (draft-ietf-mailmaint-pacc-02, docs/pacc.md): one JSON document per domain, found
  // through the Host name ua-auto-config.<domain>, vouched for by a DNS digest of its bytes.
  cases.push(
    {
      id: "pacc-documents",
      group: "pacc",
      title: "the document of each built-in domain equals its golden file, byte for byte",
      requests: ["example.com", "gmail.com", "icloud.com", "yahoo.com", "outlook.com"].map((domain) =>
        get("/.well-known/user-agent-configuration.json", { Host: `ua-auto-config.${domain}` }),
      ),
      check(answers) {
        ["example.com", "gmail.com", "icloud.com", "yahoo.com", "outlook.com"].forEach((domain, i) => {
          const a = answers[i] as E2EAnswer;
          expect(a.status, domain).toBe(200);
          expect(a.headers["content-type"]).toBe("application/json");
          expect(a.headers["access-control-allow-origin"]).toBe("*");
          expect(a.headers["cache-control"]).toBe("public, max-age=3600");
          expect(text(a)).toBe(new TextDecoder().decode(golden(files, `pacc/${domain}.json`)));
        });
      },
    },
    {
      id: "pacc-dns-and-errors",
      group: "pacc",
      title: "the digest record on /dns; HEAD; 405; unknown domain and IP Host are 404",
      requests: [
        get("/dns?domain=example.com&format=zone"),
        withHost({
          method: "HEAD",
          path: "/.well-known/user-agent-configuration.json",
          headers: { Host: "example.com" },
        }),
        withHost({
          method: "POST",
          path: "/.well-known/user-agent-configuration.json",
          headers: { Host: "ua-auto-config.example.com" },
        }),
        get("/.well-known/user-agent-configuration.json", { Host: "ua-auto-config.unknown-domain.test" }),
        get("/.well-known/user-agent-configuration.json"),
      ],
      check([zone, head, post, unknown, ip]) {
        // The SHA-256 of test/golden/pacc/example.com.json (recomputed from the served bytes in test/pacc.test.ts).
        expect(text(zone as E2EAnswer)).toMatch(
          /\n_ua-auto-config\.example\.com\. +3600 IN TXT +"v=UAAC1; a=sha256; d=M1UFDC7PyXkv2RUrCKkDeD1I\/0UNOxzrEEnSRhyT6Mk="\n/,
        );
        expect(head?.status).toBe(200);
        expect(head?.headers["content-type"]).toBe("application/json");
        expect(head?.body.byteLength).toBe(0);
        expect(post?.status).toBe(405);
        expect(post?.headers.allow).toBe("GET, HEAD");
        expect(unknown?.status).toBe(404);
        expect(text(unknown as E2EAnswer)).toBe("No settings for unknown-domain.test.\n");
        expect(ip?.status).toBe(404);
        expect(ip?.headers["content-type"]).toMatch(/^text\/plain/);
      },
    },
  );

  // --- Apple profiles (reference/mobileconfig.md §8)
  cases.push(
    {
      id: "profile-download",
      group: "profile",
      title: "a plain GET downloads a valid, stable, per-account profile",
      requests: [
        get("/mobileconfig?email=jane.doe%40example.com"),
        get("/email.mobileconfig?email=jane.doe@example.com"),
        get("/mobileconfig?email=john@example.com"),
      ],
      check([first, second, other], v) {
        expect(first?.status).toBe(200);
        expect(first?.headers["content-type"]).toBe(PROFILE_TYPE);
        expect(first?.headers["content-disposition"]).toBe(
          'attachment; filename="jane.doe-at-example.com.mobileconfig"',
        );
        expect(first?.headers["cache-control"]).toBe("no-store");
        expect(second?.body).toEqual(first?.body);
        const id = payloadIdentifier(text(first as E2EAnswer));
        expect(id).toMatch(/^com\.example\.mailconf\./);
        expect(payloadIdentifier(text(other as E2EAnswer))).not.toBe(id);
        v.mobileconfig?.((first as E2EAnswer).body);
      },
    },
    {
      id: "profile-errors",
      group: "profile",
      title: "400 for a missing or malformed address, 404 for an unknown domain",
      requests: [
        get("/mobileconfig"),
        get("/mobileconfig?email=nope"),
        get("/mobileconfig?email=a@unknown-domain.test"),
      ],
      check([missing, malformed, unknown]) {
        expect(missing?.status).toBe(400);
        expect(malformed?.status).toBe(400);
        expect(unknown?.status).toBe(404);
        expect(unknown?.headers["content-type"]).toMatch(/^text\/plain/);
      },
    },
  );
  for (const address of GOLDEN_ADDRESSES) {
    cases.push({
      id: `profile-golden-${address}`,
      group: "profile",
      title: `${address}: the profile is test/golden/mobileconfig/${address}.mobileconfig (none for OAuth2-only Outlook.com)`,
      requests: [get(`/mobileconfig?email=${encodeURIComponent(address)}`)],
      check([a]) {
        if (address === "user@outlook.com") {
          expect(a?.status).toBe(409);
          expect(JSON.parse(text(a as E2EAnswer)).appleAccountType).toBe("Outlook.com");
          return;
        }
        expect(a?.status).toBe(200);
        expect(a?.body).toEqual(golden(files, `mobileconfig/${address}.mobileconfig`));
      },
    });
  }

  // --- Signed Apple profiles (reference/mobileconfig.md §9): RSA signatures are deterministic, so
  // with the same certificate, key and signing time both runtimes must send the same bytes.
  const { signingTime } = options;
  if (signingTime) {
    for (const address of ["jane.doe@example.com", "user@icloud.com"]) {
      const path = `/mobileconfig?email=${encodeURIComponent(address)}`;
      cases.push({
        id: `profile-signed-${address}`,
        group: "profile",
        title: `${address}: signed, DER CMS holding the unsigned profile unchanged, signed at the set time`,
        requests: [get(path), { ...get(path), server: "signed" }],
        check([plain, signed], v) {
          const unsigned = plain as E2EAnswer;
          const cms = signed as E2EAnswer;
          expect(cms.status).toBe(200);
          expect(cms.headers["content-type"]).toBe(PROFILE_TYPE);
          expect(cms.headers["content-disposition"]).toBe(unsigned.headers["content-disposition"]);
          expect(cms.headers["cache-control"]).toBe("no-store");
          expect(cms.body[0], "DER SEQUENCE").toBe(0x30);
          expect(indexOfBytes(cms.body, unsigned.body), "the unsigned profile, embedded").toBeGreaterThan(0);
          expect(cmsSigningTime(cms.body)).toBe(signingTime);
          v.signedProfile?.(cms.body, unsigned.body);
        },
      });
    }
  }

  // --- Pages and JSON for people and integrations (docs/clients.md "Settings guide", docs/dns.md):
  // absolute links come from the configured public URL, the same on both runtimes.
  const html = "text/html; charset=utf-8";
  cases.push(
    {
      id: "pages-guide",
      group: "pages",
      title: "the settings guide: form, an address's guide with links to the public URL, 400 and 404",
      requests: [
        get("/"),
        get("/?email=jane.doe%40example.com"),
        get("/?email=nope"),
        get("/?email=a%40unknown-domain.test"),
        get("/favicon.svg"),
      ],
      check([form, guide, bad, unknown, icon]) {
        expect(form?.status).toBe(200);
        expect(form?.headers["content-type"]).toBe(html);
        expect(form?.headers["content-security-policy"]).toMatch(/^default-src 'none'; style-src 'sha256-/);
        expect(guide?.status).toBe(200);
        expect(text(guide as E2EAnswer)).toContain(
          "https://autoconfig.test.example/mobileconfig?email=jane.doe%40example.com",
        );
        expect(text(guide as E2EAnswer)).toContain("mail.example.com");
        expect(bad?.status).toBe(400);
        expect(unknown?.status).toBe(404);
        expect(icon?.headers["content-type"]).toBe("image/svg+xml");
      },
    },
    {
      id: "pages-settings-json",
      group: "pages",
      title: "/api/v1/settings: test/golden/settings/jane.doe@example.com.json, JSON errors naming the field",
      requests: [
        get("/api/v1/settings?email=jane.doe%40example.com"),
        get("/api/v1/settings?email=nope"),
        get("/api/v1/settings?email=a%40unknown-domain.test"),
      ],
      check([ok, bad, unknown]) {
        expect(ok?.status).toBe(200);
        expect(ok?.headers["content-type"]).toBe("application/json; charset=utf-8");
        expect(text(ok as E2EAnswer)).toBe(
          new TextDecoder().decode(golden(files, "settings/jane.doe@example.com.json")),
        );
        expect(bad?.status).toBe(400);
        expect(JSON.parse(text(bad as E2EAnswer))).toMatchObject({ field: "email" });
        expect(unknown?.status).toBe(404);
      },
    },
    {
      id: "pages-dns",
      group: "pages",
      title: "/dns: zone lines pointing at the public URL's host, the page, 400 for a broken domain",
      requests: [
        get("/dns?domain=example.com&format=zone"),
        get("/dns?domain=example.com"),
        get("/dns?domain=bad!!"),
      ],
      check([zone, page, bad]) {
        expect(zone?.status).toBe(200);
        expect(zone?.headers["content-type"]).toBe("text/plain; charset=utf-8");
        expect(text(zone as E2EAnswer)).toMatch(
          /^autoconfig\.example\.com\.\s+3600 IN CNAME autoconfig\.test\.example\.$/m,
        );
        expect(text(zone as E2EAnswer)).toMatch(
          /^autodiscover\.example\.com\.\s+3600 IN CNAME autoconfig\.test\.example\.$/m,
        );
        expect(page?.status).toBe(200);
        expect(page?.headers["content-type"]).toBe(html);
        expect(bad?.status).toBe(400);
      },
    },
  );

  // --- The app around the endpoints
  cases.push({
    id: "app-health-and-not-found",
    group: "app",
    title: "/healthz, a plain-text 404 for other paths, nosniff everywhere",
    requests: [get("/healthz"), get("/no/such/path")],
    check([health, missing]) {
      expect(health?.status).toBe(200);
      expect(text(health as E2EAnswer)).toBe("ok\n");
      expect(missing?.status).toBe(404);
      expect(text(missing as E2EAnswer)).toBe("Not found.\n");
      for (const a of [health, missing]) expect(a?.headers["x-content-type-options"]).toBe("nosniff");
    },
  });

  // --- The admin API against the SQL store (SQLite on Node, D1 on Workers): one case, so the
  // writes happen in order and are undone at its end. `.test` domains are never looked up by MX.
  const auth = { Authorization: `Bearer ${E2E_ADMIN_TOKEN}` };
  const json = (method: string, path: string, body: unknown, headers: Record<string, string> = auth) =>
    withHost({
      method,
      path,
      headers: { ...headers, "Content-Type": "application/json" },
      body: new TextEncoder().encode(JSON.stringify(body)),
    });
  const hoster = {
    displayName: "Hoster Mail",
    domains: ["customer-one.test"],
    incoming: [{ type: "imap", hostname: "imap.hoster.test", port: 993, socketType: "SSL" }],
    outgoing: [{ hostname: "smtp.hoster.test", port: 465, socketType: "SSL" }],
  };
  cases.push({
    id: "admin-api-lifecycle",
    group: "admin",
    title:
      "publish a provider and a domain, serve them, refuse bad writes, unpublish (docs/publishing.md 'Admin API')",
    volatile: "admin-updated-at",
    requests: [
      get("/api/v1/providers"),
      get("/api/v1/providers", { Authorization: "Bearer wrong-token-0123456789" }),
      json("PUT", "/api/v1/providers/hoster.test", hoster),
      withHost({ path: "/api/v1/providers/hoster.test", headers: auth }),
      json("PUT", "/api/v1/domains/customer-two.test", { provider: "hoster.test" }),
      get("/mail/config-v1.1.xml?emailaddress=a%40customer-two.test"),
      post(AUTODISCOVER, outlookRequest("jane@customer-one.test")),
      withHost({ path: "/api/v1/domains", headers: auth }),
      json("PUT", "/api/v1/providers/bad.test", {
        ...hoster,
        incoming: [{ type: "imap", hostname: "imap.hoster.test", port: "99x", socketType: "ssl" }],
      }),
      json("PUT", "/api/v1/domains/customer-one.test", { provider: "googlemail.com" }),
      withHost({
        method: "PUT",
        path: "/api/v1/domains/x.test",
        headers: { ...auth, "Content-Type": "text/plain" },
      }),
      withHost({ method: "DELETE", path: "/api/v1/domains/customer-two.test", headers: auth }),
      withHost({ method: "DELETE", path: "/api/v1/providers/hoster.test", headers: auth }),
      withHost({ path: "/api/v1/providers/hoster.test", headers: auth }),
      get("/mail/config-v1.1.xml?emailaddress=a%40customer-two.test"),
      get("/api/v1/openapi.json"),
    ],
    check(a) {
      const [noToken, wrongToken, put, got, putDomain, autoconfig, autodiscover, domains, invalid, conflict] =
        a;
      const [wrongType, delDomain, delProvider, gone, autoconfigGone, openapi] = a.slice(10);
      for (const r of [noToken, wrongToken]) {
        expect(r?.status).toBe(401);
        expect(r?.headers["www-authenticate"]).toBe('Bearer realm="mailconf admin"');
      }
      expect(put?.status).toBe(201);
      expect(put?.headers.location).toBe("/api/v1/providers/hoster.test");
      expect(JSON.parse(text(put as E2EAnswer))).toMatchObject({
        id: "hoster.test",
        incoming: [{ username: "%EMAILADDRESS%", authentication: ["password-cleartext"] }],
      });
      expect(got?.status).toBe(200);
      expect(got?.headers["last-modified"]).toMatch(/GMT$/);
      expect(putDomain?.status).toBe(201);
      expect(JSON.parse(text(putDomain as E2EAnswer))).toMatchObject({
        domain: "customer-two.test",
        provider: "hoster.test",
        origin: "assigned",
      });
      expect(autoconfig?.status).toBe(200);
      expect(text(autoconfig as E2EAnswer)).toContain('<emailProvider id="hoster.test">');
      expect(text(autodiscover as E2EAnswer)).toContain("<Server>imap.hoster.test</Server>");
      expect(JSON.parse(text(domains as E2EAnswer)).domains).toHaveLength(2);
      expect(invalid?.status).toBe(400);
      expect(JSON.parse(text(invalid as E2EAnswer)).errors).toEqual([
        { path: "incoming[0].port", message: 'expected an integer 1-65535, got "99x"' },
        {
          path: "incoming[0].socketType",
          message: 'expected one of SSL, STARTTLS, plain (exact case), got "ssl"',
        },
      ]);
      expect(conflict?.status).toBe(409);
      expect(wrongType?.status).toBe(415);
      expect(delDomain?.status).toBe(204);
      expect(delProvider?.status).toBe(204);
      expect(gone?.status).toBe(404);
      expect(autoconfigGone?.status).toBe(404);
      expect(openapi?.status).toBe(200);
      expect(JSON.parse(text(openapi as E2EAnswer)).openapi).toMatch(/^3\./);
    },
  });
  return cases;
}
