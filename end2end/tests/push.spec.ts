import { test, expect, APIRequestContext, BrowserContext, CDPSession, Page } from "@playwright/test";
import { DESKTOP, apiSignUp, hydrated, pageErrors } from "./support";

// Web Push in the browser (issue 13): what the service worker (public/sw.js) does with a push.
// This Chromium cannot subscribe to a real push service (no network), so the test hands the
// worker its pushes through DevTools (`ServiceWorker.deliverPushMessage`), with the payload the
// server encrypts (server/src/push/mod.rs, `Payload`), and knows each one handled when DevTools'
// push log says "Push event completed". The server's side (who is pushed, signing, encryption)
// is tested in server/tests/api/push.rs; the server here needs no push of its own.
//
// Not covered: `notificationclick`. A trusted click comes only from the system's notification,
// which neither Playwright nor DevTools can click; a synthetic NotificationEvent carries no user
// activation, so the worker may neither focus nor open a window from it.

/** What the server pushes for a message, before encryption (`Payload` in server/src/push). */
type Payload = { conversationId: number; seq: number; sender: string; preview: string };

type Shown = { title: string; body: string; tag: string; icon: string; data: unknown };

/** The browser's notifications of natter's worker, read from a natter page. */
function notifications(page: Page): Promise<Shown[]> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return (await registration.getNotifications()).map(({ title, body, tag, icon, data }) => ({
      title,
      body,
      tag,
      icon: new URL(icon).pathname,
      data,
    }));
  });
}

/** Posts `text` as `from` and returns the push the server would make of it. */
async function posted(from: APIRequestContext, conversation: number, text: string): Promise<Payload> {
  const response = await from.post(`/api/conversations/${conversation}/messages`, { data: { message: text } });
  expect(response.status(), await response.text()).toBe(201);
  const message = await response.json();
  // One short line: the server's preview of it is the text itself.
  return { conversationId: message.convId, seq: message.seq, sender: message.senderName, preview: message.message };
}

/**
 * Pushes to natter's worker through DevTools, from a page of its own that stays on about:blank
 * (no natter tab), so that the test can close every natter tab and still push.
 */
class PushChannel {
  private readonly scopes = new Map<string, string>(); // registration id -> scope
  private readonly activated = new Set<string>(); // registration ids with an active worker
  private readonly completed: string[] = []; // the status of each push event, in order

  private constructor(
    private readonly cdp: CDPSession,
    private readonly origin: string,
  ) {}

  static async open(context: BrowserContext, origin: string): Promise<PushChannel> {
    const control = await context.newPage();
    const channel = new PushChannel(await context.newCDPSession(control), origin);
    channel.cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      for (const r of registrations) channel.scopes.set(r.registrationId, r.scopeURL);
    });
    channel.cdp.on("ServiceWorker.workerVersionUpdated", ({ versions }) => {
      for (const v of versions) if (v.status === "activated") channel.activated.add(v.registrationId);
    });
    channel.cdp.on("BackgroundService.backgroundServiceEventReceived", ({ backgroundServiceEvent: e }) => {
      if (e.eventName === "Push event completed") {
        channel.completed.push(e.eventMetadata.find((m) => m.key === "Status")?.value ?? "");
      }
    });
    await channel.cdp.send("ServiceWorker.enable");
    await channel.cdp.send("BackgroundService.startObserving", { service: "pushMessaging" });
    await channel.cdp.send("BackgroundService.setRecording", { shouldRecord: true, service: "pushMessaging" });
    return channel;
  }

  /** The id of the origin's registration once its worker is active. */
  async registration(): Promise<string> {
    const scope = `${this.origin}/`;
    const find = () => [...this.activated].find((id) => this.scopes.get(id) === scope);
    await expect.poll(find, { message: `an active worker for ${scope}` }).toBeDefined();
    return find()!;
  }

  /** Pushes `payload` as the server would (JSON) and waits until the worker has handled it. */
  async push(payload: Payload): Promise<void> {
    const before = this.completed.length;
    await this.cdp.send("ServiceWorker.deliverPushMessage", {
      origin: this.origin,
      registrationId: await this.registration(),
      data: JSON.stringify(payload),
    });
    await expect.poll(() => this.completed.length, { message: "the push event ends" }).toBe(before + 1);
    expect(this.completed[before], "the push event's outcome").toBe("Success");
  }
}

test("a push is shown as the message's notification unless a natter tab is visible", async ({ browser, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const context = await browser.newContext({ viewport: DESKTOP, serviceWorkers: "allow" });
  await context.grantPermissions(["notifications"], { origin });
  const other = await browser.newContext();
  const ruth = await apiSignUp(context, "ruth");
  const sam = await apiSignUp(other, "sam");
  const created = await other.request.post("/api/conversations", { data: { username: ruth.name } });
  expect(created.ok(), await created.text()).toBeTruthy();
  const conversation: number = (await created.json()).id;
  const channel = await PushChannel.open(context, origin);

  // Ruth has natter open, in view: the page shows the message itself, the worker nothing.
  const tab = await context.newPage();
  const errors = pageErrors(tab);
  await tab.goto(`/c/${conversation}`);
  await hydrated(tab);
  await tab.evaluate(() => navigator.serviceWorker.ready);
  expect(await tab.evaluate(() => document.visibilityState)).toBe("visible");
  await channel.push(await posted(other.request, conversation, "are you there?"));
  expect(await notifications(tab)).toEqual([]);
  expect(errors).toEqual([]);

  // No natter tab any more: each push is shown, one notification per conversation (the newest).
  await tab.close();
  await channel.push(await posted(other.request, conversation, "lunch at noon?"));
  const newest = await posted(other.request, conversation, "or at one");
  await channel.push(newest);

  const reader = await context.newPage();
  await reader.goto("/healthz"); // a natter page that is not the app: it touches no notification
  expect(await notifications(reader)).toEqual([
    {
      title: sam.name,
      body: "or at one",
      tag: `natter-conversation-${conversation}`,
      icon: "/icon-192.png",
      data: { conversationId: conversation },
    },
  ]);
  expect(newest).toMatchObject({ conversationId: conversation, seq: 3, sender: sam.name });
  await other.close();
  await context.close();
});
