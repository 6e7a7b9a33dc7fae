import { expect, Browser, BrowserContext, Page } from "@playwright/test";
import * as path from "path";

/** Waits until the WASM bundle has hydrated the page (the app marks <body> when it has). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 20_000 });
}

/** Saves a full-page screenshot under end2end/screenshots/. */
export async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(__dirname, "..", "screenshots", `${name}.png`), fullPage: true });
}

/** The two viewport sizes the UI is checked at. */
export const DESKTOP = { width: 1280, height: 720 };
export const PHONE = { width: 375, height: 812 };

/** Expects the top bar (name, connection state, account) to fit the viewport's width: nothing of
 * it cut off or pushed past the right edge, whatever the connection state says. */
export async function headerFits(page: Page) {
  const overflow = await page.locator("header.topbar").evaluate((bar) => {
    const width = document.documentElement.clientWidth;
    const out: string[] = [];
    if (bar.scrollWidth > bar.clientWidth + 1) out.push(`bar scrolls: ${bar.scrollWidth} > ${bar.clientWidth}`);
    for (const element of Array.from(bar.querySelectorAll<HTMLElement>(":scope > *, button, a"))) {
      const box = element.getBoundingClientRect();
      if (box.width === 0 || element.closest("[hidden]")) continue;
      if (box.left < -1 || box.right > width + 1) {
        out.push(`${element.className || element.tagName}: ${Math.round(box.left)}..${Math.round(box.right)} of ${width}`);
      }
    }
    return out;
  });
  expect(overflow).toEqual([]);
}

/** A username no earlier run has taken (the test database may be reused locally). */
export function uniqueName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  return `${prefix}_${suffix}`.slice(0, 32);
}

export const PASSWORD = "correct horse battery";

/** A person with their own browser context (cookies, socket), as in two separate browsers. */
export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page (a WASM panic, such as a failed hydration, lands here). */
  errors: string[];
}

/** Collects the page's uncaught errors, and the message of a WASM panic (logged to the console
 * just before its "unreachable" error); a test ends by expecting none. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && message.text().includes("panicked at")) errors.push(message.text());
  });
  return errors;
}

/** Signs a new account up through the landing page, in a fresh context or in `prepared` (for
 * example one whose WebSockets the test routes). */
export async function signUpPerson(browser: Browser, prefix: string, prepared?: BrowserContext): Promise<Person> {
  const context = prepared ?? (await browser.newContext({ viewport: DESKTOP }));
  const page = await context.newPage();
  const errors = pageErrors(page);
  const name = uniqueName(prefix);
  await page.goto("/");
  await hydrated(page);
  await page.getByRole("tab", { name: "Create account" }).click();
  const panel = page.locator("#panel-sign-up");
  await panel.getByLabel("Username").fill(name);
  await panel.getByLabel("Password").fill(PASSWORD);
  await panel.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("me")).toHaveText(name);
  await connected(page);
  return { name, context, page, errors };
}

/** Waits for the live connection indicator to say "Connected". */
export async function connected(page: Page) {
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-state", "connected", {
    timeout: 20_000,
  });
}

/** Creates an account through the REST API in the context's cookie jar (signed in there). */
export async function apiSignUp(context: BrowserContext, prefix: string): Promise<{ name: string; token: string }> {
  const name = uniqueName(prefix);
  const response = await context.request.post("/api/auth/register", {
    data: { username: name, password: PASSWORD },
  });
  expect(response.ok(), await response.text()).toBeTruthy();
  const body = await response.json();
  return { name, token: body.token };
}

/**
 * Signs `context` up as `me`, someone else up as `them`, and gives them a conversation holding
 * `count` messages from `me` ("<text> 1" … "<text> count"); returns its id and the name used.
 */
export async function seededConversation(
  browser: Browser,
  context: BrowserContext,
  { me, them, count, text }: { me: string; them: string; count: number; text: string },
): Promise<{ id: number; name: string }> {
  const signedUp = await apiSignUp(context, me);
  const other = await browser.newContext();
  const theirs = await apiSignUp(other, them);
  const created = await context.request.post("/api/conversations", { data: { username: theirs.name } });
  const id: number = (await created.json()).id;
  for (let i = 1; i <= count; i++) {
    await context.request.post(`/api/conversations/${id}/messages`, { data: { message: `${text} ${i}` } });
  }
  await other.close();
  return { id, name: signedUp.name };
}

/** Types a message in the open conversation and sends it with Enter. */
export async function send(page: Page, text: string) {
  const composer = page.getByTestId("composer");
  await composer.fill(text);
  await composer.press("Enter");
}

/** The texts of the messages shown, oldest first. */
export function texts(page: Page) {
  return page.getByTestId("message-text");
}

/** Alice starts a conversation with Bob by name; both open it. */
export async function converse(alice: Person, bob: Person) {
  await alice.page.getByLabel("Start a conversation").fill(bob.name);
  await alice.page.getByTestId("suggestion").filter({ hasText: bob.name }).click();
  await expect(alice.page.getByTestId("conversation-title")).toHaveText(bob.name);
  await bob.page.getByTestId("conversation-item").filter({ hasText: alice.name }).click();
  await expect(bob.page.getByTestId("conversation-title")).toHaveText(alice.name);
}

/** Signs out through the account menu and confirms there; with unsent messages the browser's
 * own dialog asks instead (`unsent`: the test answers it). */
export async function signOut(page: Page, unsent = false) {
  const account = page.getByTestId("account");
  if ((await account.getAttribute("aria-expanded")) !== "true") await account.click();
  await page.getByTestId("sign-out").click();
  if (!unsent) await page.getByTestId("sign-out-confirm").click();
}
