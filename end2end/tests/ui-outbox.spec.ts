import { test, expect, Browser, Page, WebSocketRoute } from "@playwright/test";
import {
  DESKTOP,
  PHONE,
  Person,
  apiSignUp,
  connected,
  converse,
  headerFits,
  hydrated,
  send,
  shot,
  signOut,
  signUpPerson,
  texts,
} from "./support";

// The offline outbox: what Bob writes without a connection waits as pending (kept in his
// browser's storage, so a reload keeps it), then goes out in the order written, each message
// once, even when the server had stored one before the connection dropped. A message the server
// refuses for good says why and can be discarded; another account on the same browser never
// sees Bob's outbox.

/** The saved outboxes in the page's localStorage, by key. */
async function savedOutboxes(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const found: Record<string, string> = {};
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key?.startsWith("natter.outbox.")) {
        found[key] = localStorage.getItem(key) ?? "";
      }
    }
    return found;
  });
}

function message(page: Page, text: string) {
  return page.getByTestId("message").filter({ hasText: text });
}

/** A socket the test controls: passed through, refused (as if the server were down), or
 * passed through until the server acknowledges a send, whose acknowledgement is then lost
 * with the connection. */
interface Line {
  mode: "pass" | "refuse" | "lose-ack";
  /** The client ids of every `sendMessage` the page sent, in order. */
  sentClientIds: string[];
  /** Refuses new connections and drops the open ones. */
  cut(): Promise<void>;
  /** The open connections go silent: the server still gets every frame, the page none, and
   * nothing closes (a network that died without telling). New connections work. */
  mute(): void;
}

/** Signs a person up in a context whose WebSocket runs through a `Line`. */
async function signUpOnLine(browser: Browser, prefix: string): Promise<{ person: Person; line: Line }> {
  const context = await browser.newContext({ viewport: DESKTOP });
  const live: WebSocketRoute[] = [];
  const muted = new Set<WebSocketRoute>();
  const line: Line = {
    mode: "pass",
    sentClientIds: [],
    async cut() {
      line.mode = "refuse";
      for (const ws of live.splice(0)) {
        await ws.close({ code: 1001, reason: "server restarting" });
      }
    },
    mute() {
      for (const ws of live.splice(0)) {
        muted.add(ws);
      }
    },
  };
  await context.routeWebSocket(/\/ws$/, (ws) => {
    if (line.mode === "refuse") {
      // Closed once the page has seen it open (a close during this handler is not delivered).
      setTimeout(() => void ws.close({ code: 1001, reason: "server restarting" }), 50);
      return;
    }
    const server = ws.connectToServer();
    live.push(ws);
    ws.onMessage((frame) => {
      const parsed = typeof frame === "string" ? JSON.parse(frame) : null;
      if (parsed?.event === "sendMessage") {
        line.sentClientIds.push(parsed.data.clientId);
      }
      server.send(frame);
    });
    server.onMessage((frame) => {
      if (muted.has(ws)) {
        return;
      }
      const parsed = typeof frame === "string" ? JSON.parse(frame) : null;
      if (line.mode === "lose-ack" && parsed?.event === "messageSent") {
        line.mode = "pass";
        void ws.close({ code: 1001, reason: "connection lost" });
        void server.close();
        return;
      }
      ws.send(frame);
    });
  });
  const person = await signUpPerson(browser, prefix, context);
  return { person, line };
}

test("offline: two messages wait as pending, then reach the other side once, in order", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  await converse(alice, bob);
  await send(alice.page, "Are you there?");
  await expect(texts(bob.page)).toHaveText(["Are you there?"]);

  // Chromium keeps an open WebSocket open when the context goes offline; the app closes it on
  // the browser's offline event and says so.
  await bob.context.setOffline(true);
  await expect(bob.page.getByTestId("connection-status")).toHaveAttribute("data-state", "offline");

  await send(bob.page, "Written offline, first");
  await send(bob.page, "Written offline, second");
  for (const text of ["Written offline, first", "Written offline, second"]) {
    await expect(message(bob.page, text)).toHaveAttribute("data-state", "pending");
    await expect(message(bob.page, text).getByTestId("send-state")).toHaveText("Waiting for connection");
  }
  await expect(texts(bob.page)).toHaveText(["Are you there?", "Written offline, first", "Written offline, second"]);
  const item = bob.page.getByTestId("conversation-item").filter({ hasText: alice.name });
  await expect(item.getByTestId("outbox-waiting")).toHaveText("2 unsent");
  // Kept in the browser, under Bob's account only.
  const saved = Object.values(await savedOutboxes(bob.page));
  expect(saved).toHaveLength(1);
  expect(JSON.parse(saved[0]).entries.map((e: { text: string }) => e.text)).toEqual([
    "Written offline, first",
    "Written offline, second",
  ]);
  await shot(bob.page, "outbox-pending-desktop");
  await bob.page.setViewportSize(PHONE);
  await headerFits(bob.page);
  await shot(bob.page, "outbox-pending-phone");
  await bob.page.getByTestId("back").click();
  await expect(item.getByTestId("outbox-waiting")).toHaveText("2 unsent");
  await shot(bob.page, "outbox-pending-list-phone");
  await item.click();
  await bob.page.setViewportSize(DESKTOP);
  // Nothing reached Alice.
  await expect(texts(alice.page)).toHaveText(["Are you there?"]);

  await bob.context.setOffline(false);
  await connected(bob.page);
  await expect(texts(alice.page)).toHaveText(["Are you there?", "Written offline, first", "Written offline, second"]);
  for (const text of ["Written offline, first", "Written offline, second"]) {
    await expect(texts(alice.page).filter({ hasText: text })).toHaveCount(1);
    await expect(message(bob.page, text)).toHaveAttribute("data-state", "sent");
  }
  await expect(item.getByTestId("outbox-waiting")).toHaveCount(0);
  expect(await savedOutboxes(bob.page)).toEqual({});
  // Alice has the conversation open: "Seen" shows under the last message she read, only there.
  const receipts = bob.page.getByTestId("receipt");
  await expect(receipts).toHaveText(["Seen"]);
  await expect(message(bob.page, "Written offline, second").getByTestId("receipt")).toHaveText("Seen");

  // The server's history agrees: each once, in order.
  await alice.page.reload();
  await expect(texts(alice.page)).toHaveText(["Are you there?", "Written offline, first", "Written offline, second"]);
  expect(alice.errors).toEqual([]);
  expect(bob.errors).toEqual([]);
  await alice.context.close();
  await bob.context.close();
});

test("the outbox survives a reload, a send stored before a drop is not stored twice, a refusal can be discarded", async ({
  browser,
}) => {
  const alice = await signUpPerson(browser, "alice");

  const { person: bob, line } = await signUpOnLine(browser, "bob");
  const context = bob.context;
  await converse(alice, bob);
  const status = bob.page.getByTestId("connection-status");

  // The server is unreachable: Bob writes two messages.
  await line.cut();
  await expect(status).toHaveAttribute("data-state", "reconnecting");
  await send(bob.page, "Kept across a reload, first");
  await send(bob.page, "Kept across a reload, second");
  await expect(bob.page.locator("[data-testid=message][data-state=pending]")).toHaveCount(2);
  const keys = Object.keys(await savedOutboxes(bob.page));
  expect(keys).toHaveLength(1);
  const [ownKey] = keys;
  const me: number = JSON.parse((await savedOutboxes(bob.page))[ownKey]).user;
  expect(ownKey).toBe(`natter.outbox.${me}`);

  // A reload (the page itself loads; the socket is still refused) shows them again as pending.
  await bob.page.reload();
  await hydrated(bob.page);
  await expect(texts(bob.page)).toHaveText(["Kept across a reload, first", "Kept across a reload, second"]);
  await expect(bob.page.locator("[data-testid=message][data-state=pending]")).toHaveCount(2);
  await expect(status).toHaveAttribute("data-state", "reconnecting");
  await shot(bob.page, "outbox-reloaded-desktop");

  // The server is back: the next attempt (within about a second) connects and sends both, in
  // order, once.
  line.mode = "pass";
  await connected(bob.page);
  await expect(texts(alice.page)).toHaveText(["Kept across a reload, first", "Kept across a reload, second"]);
  await expect(bob.page.locator("[data-testid=message][data-state=sent]")).toHaveCount(2);
  expect(await savedOutboxes(bob.page)).toEqual({});

  // The server stores a send, but its acknowledgement is lost with the connection: the message
  // stays pending, is sent again under the same client id after the reconnect, and is answered
  // with the stored original, not stored twice.
  line.mode = "lose-ack";
  const before = line.sentClientIds.length;
  await send(bob.page, "Stored before the drop");
  await expect(texts(alice.page).last()).toHaveText("Stored before the drop");
  await connected(bob.page);
  await expect(message(bob.page, "Stored before the drop")).toHaveAttribute("data-state", "sent");
  const resent = line.sentClientIds.slice(before);
  expect(resent.length).toBeGreaterThanOrEqual(2);
  expect(new Set(resent).size).toBe(1);
  await alice.page.reload();
  await expect(texts(alice.page)).toHaveText([
    "Kept across a reload, first",
    "Kept across a reload, second",
    "Stored before the drop",
  ]);
  await expect(texts(bob.page)).toHaveText([
    "Kept across a reload, first",
    "Kept across a reload, second",
    "Stored before the drop",
  ]);

  // A message the server refuses for good (here: too long, written into the saved outbox as an
  // older version of the app might have) says why and leaves the queue; the one written after
  // it is still sent.
  const conversation = Number(new URL(bob.page.url()).pathname.split("/").pop());
  await bob.page.evaluate(
    ({ ownKey, me, conversation }) => {
      localStorage.setItem(
        ownKey,
        JSON.stringify({
          user: me,
          entries: [
            { conversation, clientId: "refused-1", text: "x".repeat(4001) },
            { conversation, clientId: "after-refused-1", text: "Written after the refused one" },
          ],
        }),
      );
    },
    { ownKey, me, conversation },
  );
  await bob.page.reload();
  await hydrated(bob.page);
  const refused = bob.page.locator("[data-testid=message][data-state=failed]");
  await expect(refused).toHaveCount(1);
  await expect(refused.getByTestId("send-state")).toContainText("Not sent:");
  await expect(texts(alice.page).last()).toHaveText("Written after the refused one");
  const item = bob.page.getByTestId("conversation-item").filter({ hasText: alice.name });
  await expect(item.getByTestId("outbox-refused")).toHaveText("1 not sent");
  await shot(bob.page, "outbox-refused-desktop");
  await refused.getByTestId("discard").click();
  await expect(refused).toHaveCount(0);
  await expect(item.getByTestId("outbox-refused")).toHaveCount(0);
  expect(await savedOutboxes(bob.page)).toEqual({});

  // Another account signing in on this browser neither shows nor sends Bob's outbox.
  const draft = JSON.stringify({
    user: me,
    entries: [{ conversation, clientId: "bobs-draft-1", text: "Bob's private draft" }],
  });
  await bob.page.evaluate(([key, value]) => localStorage.setItem(key, value), [ownKey, draft]);
  const carol = await apiSignUp(context, "carol");
  await bob.page.goto("/");
  await hydrated(bob.page);
  await expect(bob.page.getByTestId("me")).toHaveText(carol.name);
  await connected(bob.page);
  // Carol writes to Alice; once it arrives, Carol's socket has flushed whatever it would.
  await bob.page.getByLabel("Start a conversation").fill(alice.name);
  await bob.page.getByTestId("suggestion").filter({ hasText: alice.name }).click();
  await send(bob.page, "Hello from Carol");
  await expect(message(bob.page, "Hello from Carol")).toHaveAttribute("data-state", "sent");
  await expect(bob.page.getByTestId("message")).toHaveCount(1);
  await expect(bob.page.getByTestId("outbox-waiting")).toHaveCount(0);
  await expect(bob.page.getByTestId("outbox-refused")).toHaveCount(0);
  expect(await savedOutboxes(bob.page)).toEqual({ [ownKey]: draft });

  expect(alice.errors).toEqual([]);
  expect(bob.errors).toEqual([]);
  await alice.context.close();
  await context.close();
});

test("signing out with unsent messages asks first, and leaves nothing behind", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const { person: bob, line } = await signUpOnLine(browser, "bob");
  await converse(alice, bob);
  await line.cut();
  await expect(bob.page.getByTestId("connection-status")).toHaveAttribute("data-state", "reconnecting");
  await send(bob.page, "Never sent");
  await expect(message(bob.page, "Never sent")).toHaveAttribute("data-state", "pending");

  const asked: string[] = [];
  let accept = false;
  bob.page.on("dialog", (dialog) => {
    asked.push(dialog.message());
    void (accept ? dialog.accept() : dialog.dismiss());
  });
  // Declined: still signed in, the message still waits.
  await signOut(bob.page, true);
  await expect.poll(() => asked.length).toBe(1);
  expect(asked[0]).toContain("have not been sent");
  await expect(bob.page.getByTestId("me")).toHaveText(bob.name);
  await expect(message(bob.page, "Never sent")).toHaveAttribute("data-state", "pending");
  expect(Object.keys(await savedOutboxes(bob.page))).toHaveLength(1);

  // Accepted: signed out, and the browser keeps no trace of it.
  accept = true;
  await signOut(bob.page, true);
  await expect(bob.page.getByTestId("auth-heading")).toHaveText("Welcome back");
  expect(await savedOutboxes(bob.page)).toEqual({});
  line.mode = "pass";
  await expect(texts(alice.page)).toHaveCount(0);
  expect(alice.errors).toEqual([]);
  expect(bob.errors).toEqual([]);
  await alice.context.close();
  await bob.context.close();
});

test("a connection that goes silent is noticed by a ping, and its send goes again, stored once", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const { person: bob, line } = await signUpOnLine(browser, "bob");
  await converse(alice, bob);
  await send(bob.page, "Before the silence");
  // Everything in flight is answered (Bob's read mark too) once Alice's read reaches Bob.
  await expect(message(bob.page, "Before the silence").getByTestId("receipt")).toHaveText("Seen");

  // The network dies without closing the socket. Once the server has been quiet for a few
  // seconds, a send goes with a ping, and the missing pong ends the connection well before
  // the send's own 10 s limit would.
  line.mute();
  await bob.page.waitForTimeout(6_000);
  const before = line.sentClientIds.length;
  const sentAt = Date.now();
  await send(bob.page, "Into the silence");
  await expect(texts(alice.page).last()).toHaveText("Into the silence");
  await expect(message(bob.page, "Into the silence")).toHaveAttribute("data-state", "pending");
  await expect(message(bob.page, "Into the silence")).toHaveAttribute("data-state", "sent", { timeout: 15_000 });
  const noticedIn = Date.now() - sentAt;
  console.log(`a silent connection was noticed and the send confirmed in ${noticedIn} ms`);
  expect(noticedIn).toBeLessThan(9_500);
  const resent = line.sentClientIds.slice(before);
  expect(resent).toHaveLength(2);
  expect(new Set(resent).size).toBe(1);
  await connected(bob.page);
  await alice.page.reload();
  await expect(texts(alice.page)).toHaveText(["Before the silence", "Into the silence"]);
  expect(alice.errors).toEqual([]);
  expect(bob.errors).toEqual([]);
  await alice.context.close();
  await bob.context.close();
});
