/**
 * The settings guide (`/`) and its JSON (`/api/v1/settings`) on the real Node server: the values a
 * person sees equal what autoconfig, Autodiscover and the Apple profile send for the same address;
 * escaping; the CSP hash; errors as 4xx pages and JSON.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { settingsOpenApiPath } from "../src/handlers/pages.ts";
import type { RunningServer } from "../src/node/server.ts";
import {
  APP_PASSWORD_TEXT,
  AUTHENTICATION_TEXT,
  SECURITY_TEXT,
  type SettingsGuide,
} from "../src/templates/settings-json.ts";
import { expectGolden } from "./helpers/golden.ts";
import { profileHref, shownServers, unescapeHtml } from "./helpers/guide-html.ts";
import { fetchBounded, rawRequest, startTestServer } from "./helpers/server.ts";
import { FIXTURE_AUTODISCOVER_DIR } from "./helpers/shared.ts";

const PUBLIC_URL = "https://autoconfig.test.example";
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ publicUrl: PUBLIC_URL });
});
afterAll(() => server.close());

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  isArray: (n) => ["incomingServer", "outgoingServer", "authentication", "Protocol"].includes(n),
});

/** Plist `<dict>` of the mail payload as key → text (`true`/`false` for booleans). */
function mailPayload(profile: string): Record<string, string> {
  const start = profile.lastIndexOf("<dict>", profile.indexOf("com.apple.mail.managed"));
  const end = profile.indexOf("</dict>", start);
  const out: Record<string, string> = {};
  const re = /<key>([^<]*)<\/key>\s*(?:<(string|integer)>([^<]*)<\/\2>|<(true|false)\/>)/g;
  for (const m of profile.slice(start, end).matchAll(re)) out[m[1] as string] = m[3] ?? (m[4] as string);
  return out;
}

const ENCRYPTION_TO_SOCKET: Record<string, string> = { SSL: "SSL", TLS: "STARTTLS", None: "plain" };

async function settingsJson(email: string): Promise<SettingsGuide> {
  const res = await fetchBounded(`${server.url}/api/v1/settings?email=${encodeURIComponent(email)}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  return (await res.json()) as SettingsGuide;
}

describe("the guide equals what autoconfig, Autodiscover and the profile serve", () => {
  for (const email of [
    "jane.doe@example.com",
    "someone@gmail.com",
    "first.last@icloud.com",
    "user@yahoo.co.uk",
    "x@hotmail.de",
  ]) {
    it(email, async () => {
      const enc = encodeURIComponent(email);
      const [local, domain] = [email.slice(0, email.indexOf("@")), email.slice(email.indexOf("@") + 1)];
      const expand = (s: string) =>
        s
          .replace(/%EMAILADDRESS%/g, email)
          .replace(/%EMAILLOCALPART%/g, local)
          .replace(/%EMAILDOMAIN%/g, domain);

      // The four answers, fetched from the running server as clients fetch them.
      const json = await settingsJson(email);
      const page = await fetchBounded(`${server.url}/?email=${enc}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const ac = xml.parse(
        await (await fetchBounded(`${server.url}/mail/config-v1.1.xml?emailaddress=${enc}`)).text(),
      );
      const adBody = readFileSync(join(FIXTURE_AUTODISCOVER_DIR, "request-outlook.xml"), "utf8").replace(
        "jane.doe@example.com",
        email,
      );
      const ad = xml.parse(
        await (
          await fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, { method: "POST", body: adBody })
        ).text(),
      );
      const profileRes = await fetchBounded(`${server.url}/mobileconfig?email=${enc}`);
      // OAuth2-only providers get no profile (409), and the JSON says so.
      expect(profileRes.status).toBe(json.signIn.profile ? 200 : 409);
      const profile = await profileRes.text();

      // autoconfig: same servers, same order, same values (clients expand the user-name placeholders).
      const ep = ac.clientConfig.emailProvider;
      const fromAutoconfig = [...ep.incomingServer, ...ep.outgoingServer].map(
        (s: Record<string, unknown>) => ({
          type: s["@type"],
          hostname: s.hostname,
          port: Number(s.port),
          socketType: s.socketType,
          username: expand(String(s.username)),
          authentication: s.authentication,
        }),
      );
      const fromJson = [...json.incoming, ...json.outgoing];
      expect(
        fromJson.map(({ type, hostname, port, socketType, username, authentication }) => ({
          type,
          hostname,
          port,
          socketType,
          username,
          authentication,
        })),
      ).toEqual(fromAutoconfig);

      // Autodiscover: one Protocol per server, same order; Encryption maps back to socketType.
      const allProtocols = ad.Autodiscover.Response.Account.Protocol as Record<string, string>[];
      const protocols = allProtocols.filter((p) => ["IMAP", "POP3", "SMTP"].includes(p.Type as string));
      // CalDAV/CardDAV entries (eM Client) carry the same URL the guide shows.
      expect(
        allProtocols.filter((p) => p.Type === "CalDAV" || p.Type === "CardDAV").map((p) => p.Server),
      ).toEqual([json.caldav?.url, json.carddav?.url].filter(Boolean));
      expect(
        protocols.map((p) => ({
          protocol: p.Type,
          hostname: p.Server,
          port: Number(p.Port),
          socketType: ENCRYPTION_TO_SOCKET[p.Encryption as string],
          username: p.LoginName,
        })),
      ).toEqual(
        fromJson.map((s) => ({
          protocol: s.protocol,
          hostname: s.hostname,
          port: s.port,
          socketType: s.socketType,
          username: s.username,
        })),
      );

      // The profile uses the servers the guide marks as recommended.
      const mail = json.signIn.profile ? mailPayload(profile) : {};
      const inRec = json.incoming.filter((s) => s.recommended);
      const outRec = json.outgoing.filter((s) => s.recommended);
      expect(inRec).toHaveLength(1);
      expect(outRec).toHaveLength(1);
      const [i, o] = [inRec[0], outRec[0]] as [SettingsGuide["incoming"][0], SettingsGuide["outgoing"][0]];
      expect(json.signIn.profile ? mail : {}).toMatchObject(
        json.signIn.profile
          ? {
              EmailAccountType: i.type === "imap" ? "EmailTypeIMAP" : "EmailTypePOP",
              EmailAddress: email,
              IncomingMailServerHostName: i.hostname,
              IncomingMailServerPortNumber: String(i.port),
              IncomingMailServerUseSSL: String(i.socketType !== "plain"),
              IncomingMailServerUsername: i.username,
              OutgoingMailServerHostName: o.hostname,
              OutgoingMailServerPortNumber: String(o.port),
              OutgoingMailServerUseSSL: String(o.socketType !== "plain"),
              OutgoingMailServerUsername: o.username,
            }
          : {},
      );

      // The page shows exactly the JSON's values, in words, in the same order.
      const shown = shownServers(html);
      expect(
        shown.map((s) => [s.kind, s.hostname, s.port, s.security, s.username, s.authentication]),
      ).toEqual([
        ...json.incoming.map((s) => [
          "incoming",
          s.hostname,
          String(s.port),
          SECURITY_TEXT[s.socketType],
          s.username,
          s.authenticationText.join(", or "),
        ]),
        ...json.outgoing.map((s) => [
          "outgoing",
          s.hostname,
          String(s.port),
          SECURITY_TEXT[s.socketType],
          s.username,
          s.authenticationText.join(", or "),
        ]),
      ]);
      // The words are the method's, or the app-password words where the provider takes only those.
      for (const s of [...json.incoming, ...json.outgoing])
        expect(s.authenticationText).toEqual(
          s.authentication.map((a) =>
            json.signIn.passwordKind === "app-password" && a.startsWith("password-")
              ? APP_PASSWORD_TEXT[a]
              : AUTHENTICATION_TEXT[a],
          ),
        );
      const recommendedShown = shown
        .filter((s) => s.badge === "Recommended")
        .map((s) => `${s.hostname}:${s.port}`);
      expect(recommendedShown).toEqual([`${i.hostname}:${i.port}`, `${o.hostname}:${o.port}`]);

      // The profile link (when offered) is the configured public URL's, and that path serves the same profile.
      const href = profileHref(html);
      if (json.signIn.profile) {
        expect(href).toBe(`${PUBLIC_URL}/mobileconfig?email=${enc}`);
        expect(json.links.mobileconfig).toBe(href);
        const viaLink = await (
          await fetchBounded(
            `${server.url}${new URL(href as string).pathname}${new URL(href as string).search}`,
          )
        ).text();
        expect(viaLink).toBe(profile);
        expect(html).toContain("<svg"); // the QR code (decoded in test/browser.test.ts)
      } else {
        expect(href).toBeUndefined();
      }
    });
  }
});

describe("GET /api/v1/settings", () => {
  it("answers the documented JSON for jane.doe@example.com (golden), valid against settingsOpenApiPath", async () => {
    const res = await fetchBounded(`${server.url}/api/v1/settings?email=jane.doe%40example.com`);
    const text = await res.text();
    expectGolden("settings/jane.doe@example.com.json", text);
    const schema =
      settingsOpenApiPath["/api/v1/settings"].get.responses["200"].content["application/json"].schema;
    const validator = z.fromJSONSchema(schema as unknown as Parameters<typeof z.fromJSONSchema>[0]);
    expect(validator.safeParse(JSON.parse(text)).success).toBe(true);
    // The schema is not vacuous: a server without a port is refused.
    const broken = JSON.parse(text);
    delete broken.incoming[0].port;
    expect(validator.safeParse(broken).success).toBe(false);
  });

  it("iCloud: user name is the local part for IMAP, CalDAV/CardDAV included", async () => {
    const json = await settingsJson("first.last@icloud.com");
    expect(json.incoming[0]).toMatchObject({
      hostname: "imap.mail.me.com",
      port: 993,
      username: "first.last",
    });
    expect(json.outgoing[0]).toMatchObject({
      port: 587,
      security: "STARTTLS",
      username: "first.last@icloud.com",
    });
    expect(json.caldav).toMatchObject({
      hostname: "caldav.icloud.com",
      url: "https://caldav.icloud.com/.well-known/caldav",
    });
    expect(json.carddav?.hostname).toBe("contacts.icloud.com");
  });

  it("Outlook.com is OAuth2-only; Gmail takes OAuth2 or an app password", async () => {
    expect((await settingsJson("x@outlook.com")).signIn).toEqual({
      password: false,
      oauth2: true,
      oauth2Only: true,
      passwordKind: "account",
      appleAccountType: "Outlook.com",
      profile: false,
    });
    const gmail = await settingsJson("someone@gmail.com");
    expect(gmail.signIn).toEqual({
      password: true,
      oauth2: true,
      oauth2Only: false,
      passwordKind: "app-password",
      appPasswordUrl: "https://myaccount.google.com/apppasswords",
      appleAccountType: "Google",
      profile: true,
    });
    expect(gmail.notes.join(" ")).toMatch(/app password/);
    expect(gmail.documentation[0]?.url).toBe("https://support.google.com/mail/answer/7126229");
  });

  it("errors are JSON naming the field: 400 missing, 400 malformed, 404 unknown domain", async () => {
    for (const [query, status, error] of [
      ["", 400, /missing email/],
      ["?email=", 400, /missing email/],
      ["?email=not-an-address", 400, /not a valid e-mail address/],
      ["?email=a%40unknown-domain.test", 404, /no settings for unknown-domain\.test/],
    ] as const) {
      const res = await fetchBounded(`${server.url}/api/v1/settings${query}`);
      expect(res.status, query).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const body = (await res.json()) as { error: string; field: string };
      expect(body.field).toBe("email");
      expect(body.error).toMatch(error);
    }
  });
});

describe("GET / (the page)", () => {
  it("serves the form with a CSP whose style hash is the page's own stylesheet, and no script", async () => {
    const res = await fetchBounded(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await res.text();
    expect(html).toContain('<form class="card" method="get" action="/">');
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? "";
    const hash = createHash("sha256").update(css, "utf8").digest("base64");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    expect(csp).toMatch(/^default-src 'none';/);
    expect(csp).not.toContain("unsafe");
    expect(html).not.toMatch(
      /<script|\son[a-z]+=|style="|https?:\/\/(?!autoconfig\.test\.example)[^"<\s]*\.(css|js|png|svg|woff)/i,
    );
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });

  it("escapes an address that carries markup (quoted local part)", async () => {
    // No spaces: the address parser reads a space in the local part back as "+" (reference/autoconfig.md §6.2).
    const email = '"<img/src=x/onerror=alert(1)>"@example.com';
    const res = await fetchBounded(`${server.url}/?email=${encodeURIComponent(email)}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain("<img");
    expect(html).toContain("&quot;&lt;img/src=x/onerror=alert(1)&gt;&quot;@example.com");
    const shown = shownServers(html);
    expect(shown[0]?.username).toBe(email);
    expect(profileHref(html)).toBe(`${PUBLIC_URL}/mobileconfig?email=${encodeURIComponent(email)}`);
  });

  it("a malformed address is a 400 page, an unknown domain a 404 page, both with the form", async () => {
    const bad = await fetchBounded(`${server.url}/?email=${encodeURIComponent("<b>nope")}`);
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toContain('id="error"');
    expect(badHtml).toContain("That is not an e-mail address.");
    expect(badHtml).toContain('value="&lt;b&gt;nope"');
    expect(badHtml).not.toContain("<b>nope");
    const unknown = await fetchBounded(`${server.url}/?email=a%40unknown-domain.test`);
    expect(unknown.status).toBe(404);
    const unknownHtml = await unknown.text();
    expect(unknownHtml).toContain("No settings are known for unknown-domain.test.");
    expect(unknown.headers.get("content-security-policy")).toMatch(/^default-src 'none';/);
  });

  it("links come from the configured public URL, never the Host header", async () => {
    const res = await rawRequest(`${server.url}/?email=jane%40example.com`, {
      headers: { Host: "evil.example" },
    });
    expect(res.status).toBe(200);
    expect(profileHref(res.body)).toBe(`${PUBLIC_URL}/mobileconfig?email=jane%40example.com`);
    expect(res.body).not.toContain("evil.example");
  });

  it("OAuth2-only providers get no profile button but the built-in account steps", async () => {
    const html = await (await fetchBounded(`${server.url}/?email=x%40outlook.com`)).text();
    expect(profileHref(html)).toBeUndefined();
    expect(unescapeHtml(html)).toContain("Settings → Apps → Mail → Mail Accounts → Add Account");
  });

  it("Gmail: Thunderbird and Apple's Google type sign in with Google; only POP needs a Gmail setting", async () => {
    const page = async (email: string) =>
      unescapeHtml(await (await fetchBounded(`${server.url}/?email=${encodeURIComponent(email)}`)).text());
    const thunderbird = (html: string) =>
      /<summary>Thunderbird<\/summary>([\s\S]*?)<\/details>/.exec(html)?.[1]?.replace(/<[^>]+>/g, "") ?? "";
    const gmail = await page("someone@gmail.com");
    // Thunderbird signs in to Gmail with OAuth2; the app password is for apps without it.
    expect(thunderbird(gmail)).toContain(
      "Enter your name and someone@gmail.com, then click Continue: Thunderbird finds these settings by itself. Sign in with Google on the page that opens (OAuth2). No app password is needed: that is for apps without OAuth2.",
    );
    expect(gmail).toContain("Apple's built-in Google account type, which signs in with Google:");
    expect(gmail).not.toContain("GMail itself");
    // IMAP is always on since January 2025 (support.google.com/mail/answer/7126229); POP is not.
    expect(gmail).toContain("IMAP is always on. POP must first be enabled in Gmail's settings");
    expect(gmail).not.toContain("IMAP must be enabled");
    // A provider without OAuth2 still asks for the password in Thunderbird.
    expect(thunderbird(await page("jane@example.com"))).toContain(
      "Enter your name, jane@example.com and your password, then click Continue",
    );
  });

  it("shows the provider's notes and documentation links, and the Safari hint", async () => {
    const html = await (await fetchBounded(`${server.url}/?email=someone%40gmail.com`)).text();
    expect(html).toContain("Other apps need an app password");
    expect(html).toContain(
      '<a href="https://support.google.com/accounts/answer/185833" rel="noopener noreferrer">',
    );
    expect(html).toContain("open this page in <strong>Safari</strong>");
  });
});

describe("renderGuidePage (pure)", () => {
  it("escapes values that come from the store too (display name, notes, documentation)", async () => {
    const { parseProvider } = await import("../src/providers/model.ts");
    const { MemoryStore } = await import("../src/providers/store.ts");
    const { accountSettings } = await import("../src/providers/account.ts");
    const { parseEmailAddress } = await import("../src/providers/domain.ts");
    const { renderGuidePage } = await import("../src/templates/guide.ts");
    const { settingsGuide } = await import("../src/templates/settings-json.ts");
    const parsed = parseProvider({
      id: "markup.example",
      displayName: "<script>alert(1)</script>",
      domains: ["markup.example"],
      incoming: [{ type: "imap", hostname: "imap.markup.example", port: 993, socketType: "SSL" }],
      outgoing: [{ hostname: "smtp.markup.example", port: 465, socketType: "SSL" }],
      notes: ['Use <b>this</b> & "that"'],
      documentation: [{ url: 'https://help.markup.example/?a="x"&b=<y>', descr: { en: "<i>Help</i>" } }],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const resolution = await new MemoryStore([{ provider: parsed.value, source: "test" }]).resolve(
      "markup.example",
    );
    const address = parseEmailAddress("a@markup.example");
    if (!resolution || !address) throw new Error("setup");
    const html = renderGuidePage({
      email: "a@markup.example",
      guide: settingsGuide(accountSettings(resolution, address), PUBLIC_URL),
    });
    expect(html).not.toMatch(/<script|<b>this|<i>Help|<y>/);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("Use &lt;b&gt;this&lt;/b&gt; &amp; &quot;that&quot;");
    expect(html).toContain('href="https://help.markup.example/?a=&quot;x&quot;&amp;b=&lt;y&gt;"');
  });

  it("HEAD / answers like GET without a body", async () => {
    const res = await fetchBounded(`${server.url}/`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'none';/);
    expect(await res.text()).toBe("");
  });
});
