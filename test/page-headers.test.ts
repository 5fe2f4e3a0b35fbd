/**
 * Every HTML page carries the same security headers (src/handlers/page-headers.ts): the settings
 * guide, the DNS page and the profile download's error page for people in a browser. And each
 * page's inline stylesheets are exactly what its CSP allows (a style the CSP does not list is
 * silently dropped by the browser).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/node/server.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const PAGES: [path: string, status: number][] = [
  ["/", 200],
  ["/?email=nope", 400],
  ["/dns", 200],
  ["/dns?domain=example.com", 200],
  ["/mobileconfig", 400],
  ["/mobileconfig?email=x", 400],
  ["/email.mobileconfig?email=a%40unknown-domain.test", 404],
];

describe("HTML pages", () => {
  for (const [path, status] of PAGES) {
    it(`${path}: CSP, Referrer-Policy, X-Frame-Options; the CSP allows the page's own styles`, async () => {
      const res = await fetchBounded(server.url + path, {
        headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
      });
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toMatch(/^default-src 'none';/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe");
      const html = await res.text();
      const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? "");
      expect(styles.length).toBeGreaterThan(0);
      for (const css of styles)
        expect(csp).toContain(`'sha256-${createHash("sha256").update(css, "utf8").digest("base64")}'`);
      expect(html).not.toMatch(/<script|\sstyle="|\son[a-z]+=/i);
    });
  }
});
