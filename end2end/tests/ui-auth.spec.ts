import { test, expect } from "@playwright/test";
import { DESKTOP, PASSWORD, PHONE, connected, hydrated, shot, signOut, signUpPerson, uniqueName } from "./support";

// Signing up, out and in; refused credentials keep the form as typed and say why inline.

test("sign up, sign out, and a wrong password is refused inline without losing the form", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const page = alice.page;

  // A reload is still signed in, and the server already rendered the chat (no sign-in flash).
  const html = await (await page.request.get("/")).text();
  expect(html).toContain('data-testid="chat"');
  expect(html).not.toContain('data-testid="app-shell"');
  await page.reload();
  await expect(page.getByTestId("me")).toHaveText(alice.name);

  await signOut(page);
  await expect(page.getByTestId("auth-heading")).toHaveText("Welcome back");
  // The session is over on the server too: a fresh load shows the landing page.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("app-shell")).toBeVisible();

  const form = page.locator("#panel-sign-in");
  await form.getByLabel("Username").fill(alice.name);
  await form.getByLabel("Password").fill("not the password");
  const refused = page.waitForResponse((r) => r.url().endsWith("/_sf/sign_in"));
  await form.getByRole("button", { name: "Sign in" }).click();
  // Refused like the REST API refuses it: 401, not a server failure.
  expect((await refused).status()).toBe(401);
  await expect(page.getByTestId("sign-in-error")).toHaveText("Wrong username or password");
  await expect(form.getByLabel("Username")).toHaveValue(alice.name);
  await expect(form.getByLabel("Password")).toHaveValue("not the password");
  await expect(form.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
  await shot(page, "sign-in-error-desktop");
  await page.setViewportSize(PHONE);
  await shot(page, "sign-in-error-phone");
  await page.setViewportSize(DESKTOP);

  await form.getByLabel("Password").fill(PASSWORD);
  await form.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("me")).toHaveText(alice.name);
  expect(alice.errors).toEqual([]);
  await alice.context.close();
});

test("a taken name or a name against the rules is refused inline when signing up", async ({ browser }) => {
  const bob = await signUpPerson(browser, "bob");
  await bob.context.close();

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/");
  await hydrated(page);
  await page.getByRole("tab", { name: "Create account" }).click();
  const form = page.locator("#panel-sign-up");
  await form.getByLabel("Username").fill(bob.name);
  await form.getByLabel("Password").fill(PASSWORD);
  const refused = page.waitForResponse((r) => r.url().endsWith("/_sf/sign_up"));
  await form.getByRole("button", { name: "Create account" }).click();
  expect((await refused).status()).toBe(409);
  await expect(page.getByTestId("sign-up-error")).toContainText("is taken");
  await expect(form.getByLabel("Username")).toHaveValue(bob.name);
  await expect(form.getByLabel("Username")).toHaveAttribute("aria-invalid", "true");

  // A name the core refuses: its rule is shown.
  await form.getByLabel("Username").fill("no spaces allowed");
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("sign-up-error")).toContainText("Invalid username");
  await context.close();
});

test("the sign-in form works before the WASM has loaded", async ({ browser }) => {
  const name = uniqueName("early");
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  // Without scripts the tabs cannot switch, so create the account through the API first.
  const response = await context.request.post("/api/auth/register", {
    data: { username: name, password: PASSWORD },
  });
  expect(response.ok()).toBeTruthy();
  await context.clearCookies();
  await page.goto("/");
  const form = page.locator("#panel-sign-in");
  await form.getByLabel("Username").fill(name);
  await form.getByLabel("Password").fill(PASSWORD);
  await form.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("me")).toHaveText(name);
  await context.close();
});

test("signing out in one tab ends the session in the others, which say so", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const other = await alice.context.newPage();
  await other.goto("/");
  await connected(other);
  await signOut(alice.page);
  await expect(alice.page.getByTestId("auth-heading")).toHaveText("Welcome back");
  // The server closes the session's other sockets (1008) at sign-out: the other tab finds out
  // at once, without waiting for its next connection.
  await expect(other.getByTestId("auth-notice")).toHaveText(
    "Your session has ended. Sign in again to keep chatting.",
  );
  await expect(other.locator("#panel-sign-in").getByLabel("Username")).toBeVisible();
  expect(alice.errors).toEqual([]);
  await alice.context.close();
});
