/**
 * The settings guide in a real browser: Debian's Chromium (headless, driven by playwright-core,
 * JavaScript off) opens `/`, submits an address, and sees the values the JSON API gives; the
 * profile link is the configured public URL's; the QR code in the screenshot decodes (jsQR) to
 * that link; the stylesheet is applied under the CSP (no violation); the phone layout does not
 * overflow. Screenshots go to test-output/ (desktop and phone).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import jsQRModule from "jsqr";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/node/server.ts";
import type { SettingsGuide } from "../src/templates/settings-json.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";
import { REPO_ROOT } from "./helpers/shared.ts";

// jsqr is CommonJS (module.exports.default = jsQR); under NodeNext the default import is the module object.
const jsQR = jsQRModule.default;
const CHROMIUM = "/usr/bin/chromium";
const PUBLIC_URL = "https://autoconfig.test.example";
const OUT = join(REPO_ROOT, "test-output");

let server: RunningServer;
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  mkdirSync(OUT, { recursive: true });
  server = await startTestServer({ publicUrl: PUBLIC_URL });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
    timeout: 30_000,
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A page with JavaScript off (the guide must work without it) that records console errors (CSP violations land there). */
async function openPage(viewport: { width: number; height: number }, mobile = false) {
  const context = await browser.newContext({
    viewport,
    javaScriptEnabled: false,
    isMobile: mobile,
    hasTouch: mobile,
    deviceScaleFactor: mobile ? 2 : 1,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return { context, page, errors };
}

/** Decodes the QR code in a PNG with jsQR; the pixels are read in a scratch page's canvas. */
async function decodeQr(png: Buffer): Promise<string | undefined> {
  const context = await browser.newContext();
  try {
    const scratch = await context.newPage();
    const pixels = await scratch.evaluate(
      async (dataUrl) => {
        const img = new Image();
        img.src = dataUrl;
        await img.decode();
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
        ctx.drawImage(img, 0, 0);
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
        return { width: data.width, height: data.height, rgba: Array.from(data.data) };
      },
      `data:image/png;base64,${png.toString("base64")}`,
    );
    return jsQR(Uint8ClampedArray.from(pixels.rgba), pixels.width, pixels.height)?.data;
  } finally {
    await context.close();
  }
}

async function submitAddress(page: Page, email: string): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.fill("#email", email);
  await Promise.all([page.waitForURL(/\?email=/), page.click("button[type=submit]")]);
}

describe("settings guide in Chromium", () => {
  it("desktop: submit an address, see the API's values, the profile link, a QR code that scans to it", async () => {
    const email = "jane.doe@example.com";
    const expected = (await (
      await fetchBounded(`${server.url}/api/v1/settings?email=${encodeURIComponent(email)}`)
    ).json()) as SettingsGuide;
    const { context, page, errors } = await openPage({ width: 1280, height: 900 });
    try {
      await submitAddress(page, email);
      expect(await page.title()).toBe(`Mail settings for ${email}`);
      expect(await page.textContent("#guide-email")).toBe(email);
      for (const [kind, servers] of [
        ["incoming", expected.incoming],
        ["outgoing", expected.outgoing],
      ] as const) {
        expect(await page.locator(`.server[data-kind="${kind}"]`).count()).toBe(servers.length);
        for (const [i, s] of servers.entries()) {
          const card = page.locator(`.server[data-kind="${kind}"][data-index="${i}"]`);
          const field = (name: string) => card.locator(`[data-field="${name}"]`).textContent();
          expect(await field("hostname")).toBe(s.hostname);
          expect(await field("port")).toBe(String(s.port));
          expect(await field("security")).toBe(s.security);
          expect(await field("username")).toBe(s.username);
          expect(await card.isVisible()).toBe(true);
        }
      }
      const link = page.locator("#profile-link");
      const href = `${PUBLIC_URL}/mobileconfig?email=jane.doe%40example.com`;
      expect(await link.getAttribute("href")).toBe(href);
      expect(await link.isVisible()).toBe(true);

      // The inline stylesheet applies under the CSP: the button has the accent colour, cards are laid out in a grid.
      expect(await link.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe("rgb(27, 95, 193)");
      expect(
        await page
          .locator(".servers")
          .first()
          .evaluate((el) => getComputedStyle(el).display),
      ).toBe("grid");

      const qr = page.locator(".qr svg");
      expect(await qr.isVisible()).toBe(true);
      expect(await decodeQr(await qr.screenshot())).toBe(href);

      await page.screenshot({ path: join(OUT, "guide-desktop.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("phone: the same guide fits the screen (no sideways scrolling), the download button is full width", async () => {
    const { context, page, errors } = await openPage({ width: 390, height: 844 }, true);
    try {
      await submitAddress(page, "first.last@icloud.com");
      expect(
        await page
          .locator('.server[data-kind="incoming"][data-index="0"] [data-field="username"]')
          .textContent(),
      ).toBe("first.last");
      expect(await page.locator('.server[data-kind="caldav"] [data-field="url"]').textContent()).toBe(
        "https://caldav.icloud.com/.well-known/caldav",
      );
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      const button = await page.locator("#profile-link").boundingBox();
      expect(button?.width).toBeGreaterThan(300);
      expect(await page.locator(".qr").isVisible()).toBe(false); // on the phone itself, the button is the way
      await page.screenshot({ path: join(OUT, "guide-phone.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("an unknown domain shows a clear message with the form kept (HTTP 404), and the DNS page renders", async () => {
    const { context, page, errors } = await openPage({ width: 1280, height: 900 });
    try {
      await page.goto(`${server.url}/`);
      await page.fill("#email", "someone@unknown-domain.test");
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().includes("?email=")),
        page.click("button[type=submit]"),
      ]);
      expect(response.status()).toBe(404);
      expect(await page.textContent("#error")).toContain("No settings are known for unknown-domain.test.");
      expect(await page.inputValue("#email")).toBe("someone@unknown-domain.test");

      await page.goto(`${server.url}/dns?domain=example.com`);
      expect(await page.locator("#records tbody tr").count()).toBe(11); // 9 + the two PACC records
      await page.screenshot({ path: join(OUT, "dns-desktop.png"), fullPage: true });
      expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

// Keep a note of where the pictures are for whoever reads the test output.
afterAll(() => {
  writeFileSync(
    join(OUT, "README.txt"),
    "Screenshots of test/browser.test.ts: guide-desktop.png, guide-phone.png, dns-desktop.png\n",
  );
});
