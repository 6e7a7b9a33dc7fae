import { test, expect, Browser, BrowserContext, Page } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { DESKTOP, hydrated, pageErrors, seededConversation } from "./support";

// Light and installable (issue 13): content-hashed files under /pkg, cached for a year and sent
// precompressed from disk; pages revalidated; a web app manifest; a service worker that opens
// natter from cache, leaves the API alone, and whose caches a new build replaces.

const SITE = path.join(__dirname, "..", "..", "target", "site");

/**
 * What a cold load of a conversation may cost on the wire, in KiB (brotli, as served). Issue 13
 * asks for 250 (wasm) and 300 (everything); natter is not there yet (docs/PERFORMANCE.md, "Where
 * the wasm's bytes go"), so these are ceilings a few per cent above today's figures: a change
 * that makes the first load heavier fails here and has to say why. Lower them with every cut.
 */
const BUDGET_KIB = { wasm: 485, total: 505 };

/** The hashed /pkg files a page names: its script, its wasm and its stylesheet. */
function assetsOf(html: string): string[] {
  const found = [...html.matchAll(/\/pkg\/natter\.[A-Za-z0-9_-]+\.(?:js|wasm|css)/g)].map((m) => m[0]);
  return [...new Set(found)].sort();
}

/** A signed-in context with one conversation holding a few messages; returns its id. */
async function withConversation(browser: Browser, context: BrowserContext): Promise<number> {
  return (await seededConversation(browser, context, { me: "ivy", them: "jack", count: 5, text: "hello" })).id;
}

test("hashed files are immutable and precompressed, pages are revalidated", async ({ request }) => {
  const page = await request.get("/");
  expect(page.headers()["cache-control"]).toBe("no-cache");
  const assets = assetsOf(await page.text());
  expect(assets.map((a) => a.split(".").pop()).sort()).toEqual(["css", "js", "wasm"]);

  for (const asset of assets) {
    for (const [accept, encoding, suffix] of [
      ["br", "br", ".br"],
      ["gzip", "gzip", ".gz"],
    ]) {
      const response = await request.get(asset, { headers: { "accept-encoding": accept } });
      expect(response.status(), asset).toBe(200);
      const headers = response.headers();
      expect(headers["cache-control"], asset).toBe("public, max-age=31536000, immutable");
      expect(headers["content-encoding"], asset).toBe(encoding);
      // The very bytes of the file written at build time, not a compression made for this request.
      const onDisk = fs.statSync(path.join(SITE, asset + suffix)).size;
      expect(Number(headers["content-length"]), asset).toBe(onDisk);
    }
  }
  // A client that takes no compression gets the file itself.
  const wasm = assets.find((a) => a.endsWith(".wasm"))!;
  const plain = await request.get(wasm, { headers: { "accept-encoding": "identity" } });
  expect(plain.headers()["content-encoding"]).toBeUndefined();
  expect(Number(plain.headers()["content-length"])).toBe(fs.statSync(path.join(SITE, wasm)).size);
  // A name that is not (or no longer) there is not cached for a year.
  const missing = await request.get("/pkg/natter.0000.wasm");
  expect(missing.status()).toBe(404);
  expect(missing.headers()["cache-control"]).toBe("no-cache");
});

test("a cold conversation load: what crosses the wire", async ({ browser }, testInfo) => {
  const setup = await browser.newContext();
  const id = await withConversation(browser, setup);
  const cookies = await setup.storageState();
  const context = await browser.newContext({ viewport: DESKTOP, storageState: cookies, serviceWorkers: "block" });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const sizes = new Map<string, { url: string; bytes: number; cached: boolean }>();
  cdp.on("Network.responseReceived", (e) =>
    sizes.set(e.requestId, {
      url: e.response.url,
      bytes: 0,
      cached: !!(e.response.fromDiskCache || e.response.fromMemoryCache),
    }),
  );
  cdp.on("Network.loadingFinished", (e) => {
    const entry = sizes.get(e.requestId);
    if (entry) entry.bytes = e.encodedDataLength;
  });
  await page.goto(`/c/${id}`);
  await hydrated(page);
  await expect(page.getByTestId("message-text").last()).toHaveText("hello 5");
  await page.waitForLoadState("networkidle");
  const rows = [...sizes.values()].filter((r) => r.bytes > 0);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  const wasm = rows.filter((r) => r.url.endsWith(".wasm")).reduce((sum, r) => sum + r.bytes, 0);
  const summary =
    `cold load of /c/:id: ${(total / 1024).toFixed(1)} KiB over the wire in ${rows.length} responses ` +
    `(wasm ${(wasm / 1024).toFixed(1)} KiB); ` +
    rows.map((r) => `${new URL(r.url).pathname.replace(/\.[A-Za-z0-9_-]{20,}\./, ".<hash>.")} ${(r.bytes / 1024).toFixed(1)}`).join(", ");
  console.log(summary);
  testInfo.annotations.push({ type: "measurement", description: summary });
  expect(wasm).toBeGreaterThan(0);
  expect(wasm / 1024, `the wasm over the wire, KiB (budget ${BUDGET_KIB.wasm})`).toBeLessThanOrEqual(BUDGET_KIB.wasm);
  expect(total / 1024, `a cold load over the wire, KiB (budget ${BUDGET_KIB.total})`).toBeLessThanOrEqual(
    BUDGET_KIB.total,
  );

  // The next visit asks only for the page: the hashed files are fresh for a year, not even
  // revalidated.
  sizes.clear();
  await page.goto(`/c/${id}`);
  await hydrated(page);
  // A file from the browser's memory cache is reported with 0 bytes on the wire.
  const again = [...sizes.values()].filter((r) => !r.cached && r.bytes > 0);
  const pkg = again.filter((r) => new URL(r.url).pathname.startsWith("/pkg/"));
  expect(pkg.map((r) => r.url)).toEqual([]);
  const warm = `next visit: ${(again.reduce((sum, r) => sum + r.bytes, 0) / 1024).toFixed(1)} KiB over the wire (${again
    .map((r) => new URL(r.url).pathname)
    .join(", ")}); /pkg from the browser's cache`;
  console.log(warm);
  testInfo.annotations.push({ type: "measurement", description: warm });
  await context.close();
  await setup.close();
});

test("the web app manifest is linked and valid, with icons that load", async ({ page, request }) => {
  await page.goto("/");
  const href = await page.locator("link[rel=manifest]").getAttribute("href");
  expect(href).toBe("/manifest.webmanifest");
  await expect(page.locator("meta[name=theme-color]")).toHaveAttribute("content", /^#[0-9a-f]{6}$/);

  const response = await request.get(href!);
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toMatch(/^application\/manifest\+json/);
  const manifest = await response.json();
  expect(manifest).toMatchObject({ name: "natter", short_name: "natter", start_url: "/", scope: "/", display: "standalone" });
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/);
  expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/);
  const sizes = new Set<string>();
  for (const icon of manifest.icons) {
    const image = await request.get(icon.src);
    expect(image.status(), icon.src).toBe(200);
    expect(image.headers()["content-type"], icon.src).toBe(icon.type);
    if (icon.type === "image/png") {
      // The PNG header's width and height are what the manifest says.
      const bytes = await image.body();
      const [w, h] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
      expect(`${w}x${h}`, icon.src).toBe(icon.sizes);
      sizes.add(icon.sizes);
    }
  }
  // What browsers ask of an installable app: a 192 px and a 512 px icon.
  expect([...sizes].sort()).toEqual(["192x192", "512x512"]);
});

/** Waits until a service worker controls the page, and returns its script's address. */
async function controller(page: Page): Promise<string> {
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).not.toBeNull();
  return page.evaluate(() => navigator.serviceWorker.controller!.scriptURL);
}

function cacheContents(page: Page): Promise<Record<string, string[]>> {
  return page.evaluate(async () => {
    const out: Record<string, string[]> = {};
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      out[name] = (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
    }
    return out;
  });
}

test("the service worker caches the app, controls it after a reload, and a new build replaces its cache", async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: DESKTOP, serviceWorkers: "allow" });
  const id = await withConversation(browser, context);
  const page = await context.newPage();
  const errors = pageErrors(page);
  await page.goto(`/c/${id}`);
  await hydrated(page);
  const assets = assetsOf(await page.content());
  await page.evaluate(() => navigator.serviceWorker.ready);

  // The worker is this build's: its address names the build's files.
  const url = new URL(await controller(page));
  expect(url.pathname).toBe("/sw.js");
  expect(url.searchParams.getAll("asset").sort()).toEqual(assets);
  const version = url.searchParams.get("v")!;
  expect(version).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

  // After a reload the page is controlled and its wasm comes from the worker's cache.
  const fromWorker = new Map<string, boolean>();
  page.on("response", (r) => fromWorker.set(new URL(r.url()).pathname, r.fromServiceWorker()));
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("message-text").last()).toHaveText("hello 5");
  expect(await controller(page)).toBe(url.href);
  const wasm = assets.find((a) => a.endsWith(".wasm"))!;
  expect(fromWorker.get(wasm)).toBe(true);

  // Opened as pages, API and health answers are still not kept.
  await page.goto("/api/openapi.json");
  await page.goto("/healthz");
  await page.goto(`/c/${id}`);
  await hydrated(page);

  // One cache, named after the version: the build's files, the shell's, the page; no API,
  // server function or socket answer.
  let cached = await cacheContents(page);
  expect(Object.keys(cached)).toEqual([`natter-${version}`]);
  const entries = cached[`natter-${version}`];
  for (const asset of assets) expect(entries).toContain(asset);
  expect(entries).toContain(`/c/${id}`);
  expect(entries.filter((e) => /^\/(api|_sf|ws|socket\.io|healthz)(\/|$)/.test(e))).toEqual([]);

  // Offline, the page still opens from the cache.
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByTestId("message-text").last()).toHaveText("hello 5");
  await context.setOffline(false);

  // A new build is a new worker address: it takes over and deletes the old cache.
  const next = new URL(url.href);
  next.searchParams.set("v", "next-build");
  await page.evaluate((href) => navigator.serviceWorker.register(href, { scope: "/" }), next.pathname + next.search);
  await expect.poll(() => controller(page)).toBe(next.href);
  await expect.poll(async () => Object.keys(await cacheContents(page))).toEqual(["natter-next-build"]);
  cached = await cacheContents(page);
  for (const asset of assets) expect(cached["natter-next-build"]).toContain(asset);
  expect(errors).toEqual([]);
  await context.close();
});
