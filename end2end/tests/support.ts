import { expect, Page } from "@playwright/test";
import * as path from "path";

/** Waits until the WASM bundle has hydrated the page (the app marks <body> when it has). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 20_000 });
}

/** Saves a full-page screenshot under end2end/screenshots/. */
export async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(__dirname, "..", "screenshots", `${name}.png`), fullPage: true });
}
