import { test, expect, APIRequestContext, BrowserContext, Page } from "@playwright/test";
import { apiSignUp, connected, hydrated, pageErrors, shot } from "./support";

// Noticing what arrives (issue 13): a message arriving while the tab is hidden shows a browser
// notification (sender, preview, one per conversation), a click on it opens the conversation,
// the favicon carries the unread count, a muted conversation stays silent, and the browser's
// permission prompt comes only from a click on "Turn on notifications", never on load.

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Records every notification the page creates (and permission requests), and lets the test
 * hide the tab: headless Chromium shows neither notifications nor a hidden tab by itself. */
const RECORDER = () => {
  const w = window as unknown as Record<string, unknown>;
  const Real = window.Notification;
  const shown: { title: string; body?: string; tag?: string; n: Notification }[] = [];
  w.__shown = shown;
  w.__asked = 0;
  w.__hidden = false;
  const Recording = function (title: string, options?: NotificationOptions) {
    let n: Notification;
    try {
      n = new Real(title, options);
    } catch {
      n = Object.assign(new EventTarget(), { close() {} }) as unknown as Notification;
    }
    shown.push({ title, body: options?.body, tag: options?.tag, n });
    return n;
  } as unknown as typeof Notification;
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  Object.defineProperty(Recording, "requestPermission", {
    value: (...args: []) => {
      w.__asked = (w.__asked as number) + 1;
      return Real.requestPermission(...args);
    },
  });
  Recording.prototype = Real.prototype;
  w.Notification = Recording;
  Object.defineProperty(document, "hidden", { configurable: true, get: () => w.__hidden === true });
  Object.defineProperty(document, "visibilityState", {
    configurable: true,
    get: () => (w.__hidden === true ? "hidden" : "visible"),
  });
};

async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    (window as unknown as Record<string, unknown>).__hidden = hidden;
    document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
  }, hidden);
}

type Shown = { title: string; body?: string; tag?: string };
async function notifications(page: Page): Promise<Shown[]> {
  return page.evaluate(() =>
    ((window as unknown as { __shown: (Shown & { n: unknown })[] }).__shown ?? []).map(({ title, body, tag }) => ({
      title,
      body,
      tag,
    })),
  );
}

async function post(request: APIRequestContext, conversation: number, message: string) {
  const response = await request.post(`/api/conversations/${conversation}/messages`, { data: { message } });
  expect(response.ok(), await response.text()).toBeTruthy();
}

async function favicon(page: Page): Promise<string> {
  const href = (await page.locator("link[rel='icon']").getAttribute("href")) ?? "";
  return decodeURIComponent(href);
}

async function people(browser: import("@playwright/test").Browser, granted: boolean) {
  const bobContext = await browser.newContext();
  const bob = await apiSignUp(bobContext, "bob");
  const aliceContext: BrowserContext = await browser.newContext({ viewport: DESKTOP });
  if (granted) await aliceContext.grantPermissions(["notifications"]);
  await aliceContext.addInitScript(RECORDER);
  const alice = await apiSignUp(aliceContext, "alice");
  const created = await bobContext.request.post("/api/conversations", { data: { username: alice.name } });
  expect(created.ok(), await created.text()).toBeTruthy();
  const conversation: number = (await created.json()).id;
  return { alice, aliceContext, bob, bobContext, conversation };
}

test("a hidden tab notifies per conversation, the click opens it, the favicon counts, mute silences", async ({
  browser,
}) => {
  const { aliceContext, bob, bobContext, conversation } = await people(browser, true);
  const page = await aliceContext.newPage();
  const errors = pageErrors(page);
  await page.goto("/");
  await hydrated(page);
  await connected(page);
  // Permission is already granted: nothing to offer.
  await expect(page.getByTestId("notify-offer")).toHaveCount(0);
  expect(await favicon(page)).toBe("/favicon.svg");

  // In view, nothing is notified.
  await post(bobContext.request, conversation, "Seen in the list");
  await expect(page.getByTestId("conversation-item").filter({ hasText: bob.name })).toContainText("Seen in the list");
  expect(await notifications(page)).toEqual([]);

  // Hidden: each message replaces the conversation's one notification (same tag).
  await setHidden(page, true);
  await post(bobContext.request, conversation, "Are you there?");
  await expect.poll(() => notifications(page)).toHaveLength(1);
  await post(bobContext.request, conversation, "It is **urgent**\nreally");
  await expect.poll(() => notifications(page)).toHaveLength(2);
  const [first, second] = await notifications(page);
  const tag = `natter-conversation-${conversation}`;
  expect(first).toEqual({ title: `${bob.name} (2 new messages)`, body: "Are you there?", tag });
  expect(second).toEqual({ title: `${bob.name} (3 new messages)`, body: "It is urgent really", tag });
  await expect(page).toHaveTitle("(3) natter");
  // The favicon carries the count.
  expect(await favicon(page)).toMatch(/^data:image\/svg\+xml,.*>3<\/text>/);
  // Drawn large, to look at.
  const badge = (await page.locator("link[rel='icon']").getAttribute("href")) ?? "";
  const icon = await aliceContext.newPage();
  await icon.setContent(`<body style="margin:0;background:#ddd"><img src="${badge}" width="128" height="128"></body>`);
  await icon.setViewportSize({ width: 128, height: 128 });
  await shot(icon, "notify-favicon-badge");
  await icon.close();

  // A click on the notification brings the tab forward with the conversation open.
  await setHidden(page, false);
  await page.evaluate(() => {
    const shown = (window as unknown as { __shown: { n: Notification }[] }).__shown;
    const n = shown[shown.length - 1].n;
    (n.onclick as unknown as (() => void) | null)?.call(n);
  });
  await expect(page).toHaveURL(new RegExp(`/c/${conversation}$`));
  await expect(page.getByTestId("conversation-title")).toHaveText(bob.name);
  await expect(page.getByTestId("message-text").last()).toHaveText("It is urgent\nreally");
  await expect(page).toHaveTitle("natter");
  await expect.poll(() => favicon(page)).toBe("/favicon.svg");

  // Muted: silent while hidden, remembered across a reload, marked in the list.
  const mute = page.getByTestId("mute");
  await expect(mute).toHaveAttribute("aria-pressed", "false");
  await mute.click();
  await expect(mute).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("conversation-item").getByTestId("muted")).toBeVisible();
  await shot(page, "notify-muted-desktop");
  await setHidden(page, true);
  await post(bobContext.request, conversation, "You will not hear this");
  await expect(page.getByTestId("message-text").last()).toHaveText("You will not hear this");
  await page.waitForTimeout(500);
  expect(await notifications(page)).toHaveLength(2);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("mute")).toHaveAttribute("aria-pressed", "true");
  await page.setViewportSize(PHONE);
  await shot(page, "notify-muted-phone");
  await page.setViewportSize(DESKTOP);

  // Unmuted again: it notifies again (the reload started a fresh record).
  await page.getByTestId("mute").click();
  await expect(page.getByTestId("mute")).toHaveAttribute("aria-pressed", "false");
  await connected(page);
  await setHidden(page, true);
  await post(bobContext.request, conversation, "And now?");
  await expect.poll(() => notifications(page)).toEqual([{ title: bob.name, body: "And now?", tag }]);

  expect(errors).toEqual([]);
  await aliceContext.close();
  await bobContext.close();
});

test("notifications are offered with a button, never asked for on load; Not now is remembered", async ({
  browser,
}) => {
  const { aliceContext, bobContext } = await people(browser, false);
  const page = await aliceContext.newPage();
  const errors = pageErrors(page);
  await page.goto("/");
  await hydrated(page);
  await connected(page);
  const offer = page.getByTestId("notify-offer");
  await expect(offer).toBeVisible();
  await expect(offer.getByRole("button", { name: "Turn on notifications" })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(0);
  await shot(page, "notify-offer-desktop");
  await page.setViewportSize(PHONE);
  await shot(page, "notify-offer-phone");
  await page.setViewportSize(DESKTOP);

  // "Not now" hides the offer for good in this browser.
  await offer.getByRole("button", { name: "Not now" }).click();
  await expect(offer).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await connected(page);
  await expect(page.getByTestId("notify-offer")).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(0);

  // Offered again (the remembered answer forgotten), the browser's prompt comes from the click.
  await page.evaluate(() => localStorage.removeItem("natter.notifications.offer-dismissed"));
  await page.reload();
  await hydrated(page);
  await page.getByRole("button", { name: "Turn on notifications" }).click();
  await expect.poll(() => page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(1);
  expect(errors).toEqual([]);
  await aliceContext.close();
  await bobContext.close();
});
