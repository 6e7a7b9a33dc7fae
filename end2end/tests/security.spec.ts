import { test, expect, Page } from "@playwright/test";
import { PASSWORD, converse, hydrated, send, shot, signUpPerson, texts, uniqueName } from "./support";

// The page's Content-Security-Policy (issue 9, row 5): the app hydrates and chats under it
// with no violation, and a script injected into the page does not run.

/** Records the page's CSP violations (installed before any of its scripts run). */
async function watchViolations(page: Page) {
  await page.addInitScript(() => {
    (window as any).__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as any).__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__violations as string[]);
}

test("the app hydrates and chats under its CSP, and an injected inline script is blocked", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await watchViolations(page);
  const response = await page.goto("/");
  const csp = response!.headers()["content-security-policy"];
  expect(csp).toContain("'wasm-unsafe-eval'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("'unsafe-inline'");
  expect(csp).not.toContain("'unsafe-eval'");
  await hydrated(page);
  expect(await violations(page)).toEqual([]);

  // Two people talk live under the policy.
  const alice = await signUpPerson(browser, "alice", context);
  const bob = await signUpPerson(browser, "bob");
  await watchViolations(bob.page);
  await bob.page.reload();
  await hydrated(bob.page);
  await converse(alice, bob);
  await send(alice.page, "hello under a strict policy");
  await expect(texts(bob.page).last()).toHaveText("hello under a strict policy");
  expect(await violations(bob.page)).toEqual([]);

  // A script that an attacker managed to put into the page does not run.
  const ran = await page.evaluate(async () => {
    (window as any).__injected = false;
    const script = document.createElement("script");
    script.textContent = "window.__injected = true";
    document.body.appendChild(script);
    const holder = document.createElement("div");
    holder.innerHTML = '<img src="x" onerror="window.__injected = true">';
    document.body.appendChild(holder);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return (window as any).__injected;
  });
  expect(ran).toBe(false);
  const blocked = await violations(page);
  expect(blocked.some((v) => v.startsWith("script-src"))).toBe(true);
  await shot(alice.page, "csp-chat-desktop");
  expect(alice.errors).toEqual([]);
  expect(bob.errors).toEqual([]);
  await context.close();
  await bob.context.close();
});

test("a common password is refused at sign-up with a clear reason", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await page.getByRole("tab", { name: "Create account" }).click();
  const form = page.locator("#panel-sign-up");
  const name = uniqueName("weak");
  await form.getByLabel("Username").fill(name);
  await form.getByLabel("Password").fill("password1");
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("sign-up-error")).toContainText("too common or too easy to guess");
  await shot(page, "sign-up-weak-password-desktop");
  await form.getByLabel("Password").fill(name);
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("sign-up-error")).toContainText("do not use your username");
  await form.getByLabel("Password").fill(PASSWORD);
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("me")).toHaveText(name);
});
