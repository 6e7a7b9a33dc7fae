import { test, expect } from "@playwright/test";
import { hydrated, shot } from "./support";

test("the home page is rendered on the server before any script runs", async ({ request, browser }) => {
  const response = await request.get("/");
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('data-testid="app-shell"');
  expect(html).toContain("natter");

  // With JavaScript off, the server's HTML alone shows the shell.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByTestId("app-shell")).toBeVisible();
  await expect(page.getByRole("heading", { name: "natter" })).toBeVisible();
  await context.close();
});

test("the home page hydrates and reacts to clicks", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByTestId("auth-heading")).toHaveText("Welcome back");
  await page.getByRole("tab", { name: "Create account" }).click();
  await expect(page.getByTestId("auth-heading")).toHaveText("Create your account");
  await shot(page, "home-desktop");
});

test("healthz answers with the build version", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.status).toBe("ok");
  expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
});
