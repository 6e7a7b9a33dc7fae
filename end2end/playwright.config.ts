import { defineConfig, devices } from "@playwright/test";

// Runs against a server that `make test` (scripts/test.sh) starts on a free port with a
// throwaway database; NATTER_BASE_URL says where. Debian's chromium, never a downloaded browser.
const baseURL = process.env.NATTER_BASE_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: "list",
  outputDir: "test-results",
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    // Requests a service worker answers bypass page.route(), which many specs use to delay or
    // cut the network; the worker's own spec (install.spec.ts) allows it in its contexts.
    serviceWorkers: "block",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
          ],
        },
      },
    },
  ],
});
