import { test, expect, Browser, BrowserContext } from "@playwright/test";
import { DESKTOP, apiSignUp } from "./support";

// Time to first paint of a conversation page, median of several cold loads (fresh context,
// empty cache). The server renders the messages, so the first paint does not wait for WASM.

const LOADS = 7;

test("the conversation page paints quickly", async ({ browser }, testInfo) => {
  const setup = await browser.newContext();
  const me = await apiSignUp(setup, "erin");
  const other = await browser.newContext();
  const them = await apiSignUp(other, "frank");
  const created = await setup.request.post("/api/conversations", { data: { username: them.name } });
  const conversation: number = (await created.json()).id;
  for (let i = 1; i <= 20; i++) {
    await setup.request.post(`/api/conversations/${conversation}/messages`, { data: { message: `message ${i}` } });
  }
  const cookies = await setup.storageState();

  const paints: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext({ viewport: DESKTOP, storageState: cookies });
    const page = await context.newPage();
    await page.goto(`/c/${conversation}`);
    await expect(page.getByTestId("message-text").last()).toHaveText("message 20");
    const fcp = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const read = () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime;
          const now = read();
          if (now !== undefined) return resolve(now);
          new PerformanceObserver(() => {
            const later = read();
            if (later !== undefined) resolve(later);
          }).observe({ type: "paint", buffered: true });
        }),
    );
    paints.push(fcp);
    await context.close();
  }
  paints.sort((a, b) => a - b);
  const median = paints[Math.floor(paints.length / 2)];
  const summary = `first-contentful-paint of /c/:id (${me.name}), ${LOADS} cold loads: median ${median.toFixed(0)} ms; all ${paints.map((p) => p.toFixed(0)).join(", ")} ms`;
  console.log(summary);
  testInfo.annotations.push({ type: "measurement", description: summary });
  expect(median).toBeLessThan(3_000);
  await setup.close();
  await other.close();
});

// Time to hydrated on a slow phone: Chrome DevTools' "Slow 3G" (2 s latency, 50 kB/s each way)
// and the CPU slowed 4×, as issue 13 asks. A cold load (empty cache) and a warm one (the same
// browser again: /pkg comes from its cache). Recorded, not asserted: timings are the
// benchmarks' business (docs/PERFORMANCE.md keeps the figures).
const SLOW_3G = { offline: false, latency: 2_000, downloadThroughput: 50_000, uploadThroughput: 50_000 };
const THROTTLED_LOADS = 3;

/** Milliseconds from navigation start to `body[data-hydrated]`, in a throttled page. */
async function timeToHydrated(context: BrowserContext, url: string): Promise<number> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", SLOW_3G);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  await page.goto(url, { timeout: 60_000 });
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 60_000 });
  const at = await page.evaluate(() => (window as unknown as { __hydratedAt?: number }).__hydratedAt ?? -1);
  await page.close();
  return at;
}

async function signedInContext(browser: Browser, cookies: Awaited<ReturnType<BrowserContext["storageState"]>>) {
  const context = await browser.newContext({ viewport: DESKTOP, storageState: cookies, serviceWorkers: "block" });
  // The moment the app marks itself hydrated, on the page's own clock.
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.dataset.hydrated === "true") {
        (window as unknown as { __hydratedAt: number }).__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  return context;
}

test("time to hydrated on slow 3G with the CPU slowed 4×", async ({ browser }, testInfo) => {
  test.setTimeout(300_000);
  const setup = await browser.newContext();
  await apiSignUp(setup, "gail");
  const other = await browser.newContext();
  const them = await apiSignUp(other, "hank");
  const created = await setup.request.post("/api/conversations", { data: { username: them.name } });
  const conversation: number = (await created.json()).id;
  for (let i = 1; i <= 20; i++) {
    await setup.request.post(`/api/conversations/${conversation}/messages`, { data: { message: `message ${i}` } });
  }
  const cookies = await setup.storageState();
  const url = `/c/${conversation}`;

  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < THROTTLED_LOADS; i++) {
    const context = await signedInContext(browser, cookies);
    cold.push(await timeToHydrated(context, url));
    warm.push(await timeToHydrated(context, url));
    await context.close();
  }
  for (const t of [...cold, ...warm]) expect(t).toBeGreaterThan(0);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const all = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(", ");
  const summary =
    `time to hydrated of /c/:id on slow 3G + 4× CPU, ${THROTTLED_LOADS} loads each: ` +
    `cold (empty cache) median ${(median(cold) / 1000).toFixed(2)} s (${all(cold)}); ` +
    `warm (/pkg cached) median ${(median(warm) / 1000).toFixed(2)} s (${all(warm)})`;
  console.log(summary);
  testInfo.annotations.push({ type: "measurement", description: summary });
  await setup.close();
  await other.close();
});
