/**
 * Sign-in methods of the big providers, in every output (issue 11): Gmail, iCloud and Yahoo take an
 * app password (the account password is refused), said on the page, in the JSON and by `mailconf
 * check`; Outlook.com takes only OAuth2, so its profile URL serves no profile and points to Apple's
 * built-in account type; the page recommends the built-in account type where there is one.
 */
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { checkAddress } from "../src/cli/check-report.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { MemoryStore } from "../src/providers/store.ts";
import type { SettingsGuide } from "../src/templates/settings-json.ts";
import { profileHref, unescapeHtml } from "./helpers/guide-html.ts";

const PUBLIC_URL = "https://autoconfig.test.example";
const store = new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" })));
const app = createApp({ store, publicUrl: PUBLIC_URL });

const APP_PASSWORD = [
  { email: "jane@gmail.com", url: "https://myaccount.google.com/apppasswords", apple: "Google" },
  { email: "jane@icloud.com", url: "https://account.apple.com/account/manage", apple: "iCloud" },
  { email: "jane@yahoo.com", url: "https://login.yahoo.com/account/security", apple: "Yahoo" },
] as const;

async function json(email: string): Promise<SettingsGuide> {
  const res = await app.request(`/api/v1/settings?email=${encodeURIComponent(email)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as SettingsGuide;
}

async function page(email: string): Promise<string> {
  const res = await app.request(`/?email=${encodeURIComponent(email)}`);
  expect(res.status).toBe(200);
  return res.text();
}

describe("app passwords: Gmail, iCloud, Yahoo", () => {
  for (const { email, url, apple } of APP_PASSWORD) {
    it(`${email}: the JSON says app password, with the link, and Apple's ${apple} account type`, async () => {
      const g = await json(email);
      expect(g.signIn).toMatchObject({
        password: true,
        passwordKind: "app-password",
        appPasswordUrl: url,
        appleAccountType: apple,
        profile: true,
      });
      const password = [...g.incoming, ...g.outgoing].flatMap((s) => s.authenticationText);
      expect(password).not.toContain("Normal password");
      expect(password).toContain("App password (not your account password)");
      expect(g.links.mobileconfig).toBe(`${PUBLIC_URL}/mobileconfig?email=${encodeURIComponent(email)}`);
    });

    it(`${email}: the page says app password with the link, recommends ${apple} and still offers the profile`, async () => {
      const html = await page(email);
      const text = unescapeHtml(html.replace(/<[^>]+>/g, ""));
      expect(text).not.toContain("Normal password");
      expect(text).not.toContain("you type only your password");
      expect(text).toContain("Password: an app password, not your account password");
      expect(html).toContain(`<a href="${url}" rel="noopener noreferrer" id="app-password-link">`);
      expect(text).toContain(`Recommended: add the account with Apple's built-in ${apple} account type`);
      expect(text).toContain(`Add Account → ${apple}`);
      expect(text).toContain("you type only an app password");
      expect(profileHref(html)).toBe(`${PUBLIC_URL}/mobileconfig?email=${encodeURIComponent(email)}`);
    });

    it(`${email}: mailconf check says app password with the link`, async () => {
      const { ok, lines } = await checkAddress(store, email);
      expect(ok).toBe(true);
      expect(lines).toContain(
        `  sign-in: password fields take an app password, not the account password; make one at ${url}${apple === "iCloud" ? "" : " (or OAuth2 where the app offers it)"}`,
      );
      expect(lines.join("\n")).toContain(`Apple devices: built-in account type ${apple}:`);
      expect(
        lines
          .filter((l) => l.includes("password-cleartext"))
          .every((l) => l.endsWith("(password = app password)")),
      ).toBe(true);
    });
  }

  it("example.com (own server) keeps the account password: no app-password wording, no built-in type", async () => {
    const g = await json("jane@example.com");
    expect(g.signIn).toEqual({
      password: true,
      oauth2: false,
      oauth2Only: false,
      passwordKind: "account",
      profile: true,
    });
    expect(g.incoming[0]?.authenticationText).toEqual(["Normal password"]);
    const text = unescapeHtml((await page("jane@example.com")).replace(/<[^>]+>/g, ""));
    expect(text).toContain("you type only your password");
    expect(text).not.toContain("Recommended: add the account");
  });
});

describe("OAuth2 only: Outlook.com", () => {
  it("the profile URL serves no profile: 409 JSON for programs, pointing to the Outlook.com account type", async () => {
    const res = await app.request("/mobileconfig?email=jane@outlook.com");
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await res.json()) as Record<string, string>;
    expect(body.field).toBe("email");
    expect(body.appleAccountType).toBe("Outlook.com");
    expect(body.error).toContain("accepts only OAuth2 sign-in");
    expect(body.error).toContain("Add Account → Outlook.com");
  });

  it("a browser gets a short page with the way to add the account instead", async () => {
    const res = await app.request("/email.mobileconfig?email=jane@hotmail.com", {
      headers: { Accept: "text/html,application/xhtml+xml" },
    });
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).not.toContain("EmailAuthPassword");
    expect(unescapeHtml(html)).toContain(
      "Settings → Apps → Mail → Mail Accounts → Add Account → Outlook.com",
    );
  });

  it("the JSON has no profile link and says why; the page offers none; check says why", async () => {
    const g = await json("jane@outlook.com");
    expect(g.signIn).toMatchObject({ oauth2Only: true, profile: false, appleAccountType: "Outlook.com" });
    expect(g.links.mobileconfig).toBeUndefined();
    const html = await page("jane@outlook.com");
    expect(profileHref(html)).toBeUndefined();
    expect(html).not.toContain("/mobileconfig?");
    const { lines } = await checkAddress(store, "jane@outlook.com");
    expect(lines.join("\n")).toContain(
      "no profile: Outlook.com (Microsoft) accepts only OAuth2 sign-in, which a configuration profile cannot set up; /mobileconfig answers 409 pointing to the built-in account type Outlook.com",
    );
    expect(lines.join("\n")).not.toContain("EmailAuthPassword");
  });
});
