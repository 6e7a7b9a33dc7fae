import { test, expect, Page, WebSocketRoute } from "@playwright/test";
import {
  DESKTOP,
  PASSWORD,
  PHONE,
  Person,
  connected,
  headerFits,
  hydrated,
  pageErrors,
  shot,
  signUpPerson,
  uniqueName,
} from "./support";

// The connection drops (the browser goes offline, or the server goes away) and comes back by
// itself; the open conversation is rejoined and fetches what it missed, with no reload, no gap
// and no duplicate. A message written meanwhile waits in the outbox and is sent once on the way
// back (ui-outbox.spec.ts covers the outbox in depth).

function texts(page: Page) {
  return page.getByTestId("message-text");
}

async function send(page: Page, text: string) {
  const composer = page.getByTestId("composer");
  await composer.fill(text);
  await composer.press("Enter");
}

/** Alice starts a conversation with Bob from the keyboard (name, pick the suggestion with the
 * arrow key, Enter); both open it. */
async function converse(alice: Person, bob: Person) {
  const start = alice.page.getByLabel("Start a conversation");
  await start.fill(bob.name);
  await expect(alice.page.getByTestId("suggestion")).toHaveText([bob.name]);
  await start.press("ArrowDown");
  await expect(alice.page.getByTestId("suggestion")).toBeFocused();
  await alice.page.keyboard.press("Enter");
  await expect(alice.page.getByTestId("conversation-title")).toHaveText(bob.name);
  await bob.page.getByTestId("conversation-item").filter({ hasText: alice.name }).click();
  await expect(bob.page.getByTestId("conversation-title")).toHaveText(alice.name);
}

test("offline and back: missed messages arrive without a reload, a message written offline is sent once", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  await converse(alice, bob);
  await send(alice.page, "before the drop");
  await expect(texts(bob.page)).toHaveText(["before the drop"]);

  // Chromium keeps an open WebSocket "open" when the context goes offline (frames just stop);
  // the app listens for the browser's offline event and says so.
  await bob.context.setOffline(true);
  const status = bob.page.getByTestId("connection-status");
  await expect(status).toHaveAttribute("data-state", "offline");
  await expect(status).toHaveText("Offline");

  await send(alice.page, "while you were away 1");
  await send(alice.page, "while you were away 2");
  await expect(alice.page.getByTestId("message").last()).toHaveAttribute("data-state", "sent");

  // Bob's own message waits, visibly, for the connection.
  await send(bob.page, "sent from offline");
  const waiting = bob.page.getByTestId("message").filter({ hasText: "sent from offline" });
  await expect(waiting).toHaveAttribute("data-state", "pending");
  await expect(waiting.getByTestId("send-state")).toHaveText("Waiting for connection");
  await shot(bob.page, "connection-offline-desktop");

  await bob.context.setOffline(false);
  await connected(bob.page);
  await expect(texts(bob.page)).toHaveText([
    "before the drop",
    "while you were away 1",
    "while you were away 2",
    "sent from offline",
  ]);

  await expect(waiting).toHaveAttribute("data-state", "sent");
  await expect(texts(alice.page).filter({ hasText: "sent from offline" })).toHaveCount(1);
  // Stored once: reload and count.
  await alice.page.reload();
  await expect(texts(alice.page)).toHaveText([
    "before the drop",
    "while you were away 1",
    "while you were away 2",
    "sent from offline",
  ]);
  expect(alice.errors).toEqual([]);
  expect(bob.errors).toEqual([]);
  await alice.context.close();
  await bob.context.close();
});

test("the server goes away: the indicator says reconnecting, then it catches up by itself", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");

  // Bob's socket runs through a proxy the test can cut, as a server restart would.
  const context = await browser.newContext({ viewport: DESKTOP });
  let refusing = false;
  let refused = 0;
  const live: WebSocketRoute[] = [];
  await context.routeWebSocket(/\/ws$/, (ws) => {
    if (refusing) {
      refused += 1;
      void ws.close({ code: 1001, reason: "server restarting" });
      return;
    }
    ws.connectToServer();
    live.push(ws);
  });
  const page = await context.newPage();
  const errors = pageErrors(page);
  const name = uniqueName("bob");
  await page.goto("/");
  await hydrated(page);
  await page.getByRole("tab", { name: "Create account" }).click();
  await page.locator("#panel-sign-up").getByLabel("Username").fill(name);
  await page.locator("#panel-sign-up").getByLabel("Password").fill(PASSWORD);
  await page.locator("#panel-sign-up").getByRole("button", { name: "Create account" }).click();
  await connected(page);
  const bob: Person = { name, context, page, errors };
  await converse(alice, bob);
  await send(alice.page, "first");
  await expect(texts(page)).toHaveText(["first"]);
  const presence = page.getByTestId("presence");
  const dot = page.getByTestId("conversation-item").filter({ hasText: alice.name }).getByTestId("online-dot");
  await expect(presence).toHaveText("online");

  refusing = true;
  for (const ws of live.splice(0)) {
    await ws.close({ code: 1001, reason: "server restarting" });
  }
  const status = page.getByTestId("connection-status");
  await expect(status).toHaveAttribute("data-state", "reconnecting");
  await expect(status).toContainText("Reconnecting…");
  // What Bob knew of Alice is stale while he is cut off: not shown as "online".
  await expect(presence).toBeEmpty();
  await expect(dot).toHaveClass("online-dot");
  await shot(page, "connection-reconnecting-desktop");
  await page.setViewportSize(PHONE);
  await headerFits(page);
  await shot(page, "connection-reconnecting-phone");
  await page.setViewportSize(DESKTOP);

  await send(alice.page, "second");
  await send(alice.page, "third");

  // The backoff would retry by itself; the button skips the wait. Just after one of its
  // retries was refused the next is at least half a second away, so the button, not a retry
  // landing during the click, brings the connection back.
  const before = refused;
  await expect.poll(() => refused, { timeout: 35_000, intervals: [20] }).toBeGreaterThan(before);
  refusing = false;
  await status.getByRole("button", { name: "Reconnect now" }).click();
  await connected(page);
  await expect(texts(page)).toHaveText(["first", "second", "third"]);
  await expect(presence).toHaveText("online");
  await expect(dot).toHaveClass("online-dot online");
  await page.setViewportSize(PHONE);
  await headerFits(page);
  await page.setViewportSize(DESKTOP);
  await send(page, "back again");
  await expect(texts(alice.page).last()).toHaveText("back again");
  expect(errors).toEqual([]);
  expect(alice.errors).toEqual([]);
  await alice.context.close();
  await context.close();
});
