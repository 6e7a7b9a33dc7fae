import { test, expect, APIRequestContext, Page } from "@playwright/test";
import { apiSignUp, connected, hydrated, pageErrors, shot, signUpPerson } from "./support";

// A timeline people can read (issue 13): one sender's consecutive messages form one group with
// one name line, the time and the delivery state sit inside the bubble, a conversation opened
// with unread messages starts at a "New messages" line, unread rows in the list are bold, the
// markdown subset and web addresses are rendered, and no user text ever becomes markup.

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Posts through the REST API, waiting out the per-user send quota when it answers 429. */
async function post(request: APIRequestContext, conversation: number, message: string) {
  for (;;) {
    const response = await request.post(`/api/conversations/${conversation}/messages`, { data: { message } });
    if (response.status() !== 429) {
      expect(response.ok(), await response.text()).toBeTruthy();
      return;
    }
    const wait = Number(response.headers()["retry-after"] ?? "1");
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
}

const RICH = [
  "**bold** and *italic* and `inline code`",
  "```\nfn main() {\n    println!(\"hi\");\n}\n```",
  "> a quoted line\nand my answer",
  "see https://example.com/path?q=1. and www.rust-lang.org",
  "🎉🎉",
  "שלום עולם, مرحبا",
];
const HOSTILE = [
  "<img src=x onerror=alert(1)>",
  "[click me](javascript:alert(2))",
  "<b onclick=alert(3)>raw</b> html and <script>alert(4)</script>",
  "**<img src=y onerror=alert(5)>**",
  "<javascript:alert(6)>",
];

function message(page: Page, text: string) {
  return page.getByTestId("message").filter({ has: page.getByTestId("message-text").getByText(text, { exact: true }) });
}

test("grouped bubbles, a New messages line, bold unread rows, markdown and links, never markup", async ({
  browser,
}) => {
  const bobContext = await browser.newContext();
  const bob = await apiSignUp(bobContext, "bob");
  const aliceContext = await browser.newContext({ viewport: DESKTOP });
  const alice = await apiSignUp(aliceContext, "alice");
  const created = await bobContext.request.post("/api/conversations", { data: { username: alice.name } });
  expect(created.ok(), await created.text()).toBeTruthy();
  const conversation: number = (await created.json()).id;

  // Alice has written three messages; then Bob writes 24 plain ones and the rich and hostile
  // ones, all unread for her.
  for (let i = 1; i <= 3; i++) await post(aliceContext.request, conversation, `from alice ${i}`);
  for (let i = 1; i <= 24; i++) await post(bobContext.request, conversation, `unread ${i}`);
  for (const text of [...RICH, ...HOSTILE]) await post(bobContext.request, conversation, text);

  const page = await aliceContext.newPage();
  const errors = pageErrors(page);
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto("/");
  await hydrated(page);
  await connected(page);
  const row = page.getByTestId("conversation-item").filter({ hasText: bob.name });
  await expect(row).toHaveClass(/has-unread/);
  await expect(row.getByTestId("unread")).toContainText(String(24 + RICH.length + HOSTILE.length));
  expect(await row.getByTestId("conversation-partner").evaluate((el) => getComputedStyle(el).fontWeight)).toBe("800");
  await shot(page, "timeline-list-unread-desktop");

  // Opening it starts at the first unread message, under the "New messages" line.
  await row.click();
  const line = page.getByTestId("new-messages");
  await expect(line).toHaveText("New messages");
  await expect(line).toBeInViewport();
  await expect(message(page, "unread 1")).toBeInViewport();
  await expect(message(page, "unread 24")).not.toBeInViewport();
  // The line sits right before Bob's first unread message.
  const following = await line.evaluate((el) => el.nextElementSibling?.textContent ?? "");
  expect(following).toContain("unread 1");
  // The list row is no longer bold once read.
  await expect(row).not.toHaveClass(/has-unread/);
  await expect(row.getByTestId("unread")).toHaveCount(0);
  await shot(page, "timeline-new-messages-desktop");

  // Groups: Alice's three messages are one group without a name line; Bob's run after the
  // line is one group with one name line.
  const senders = page.getByTestId("sender");
  await expect(senders).toHaveCount(1);
  await expect(senders.first()).toHaveText(new RegExp(bob.name));
  await expect(message(page, "unread 1")).toHaveClass(/first/);
  await expect(message(page, "unread 2")).not.toHaveClass(/first/);
  await expect(message(page, "from alice 1")).toHaveClass(/first/);
  await expect(message(page, "from alice 2")).not.toHaveClass(/first/);
  // Time and delivery state are inside the bubble, not on a line under it.
  for (const text of ["from alice 3", "unread 2"]) {
    await expect(message(page, text).locator(".bubble time")).toHaveCount(1);
    await expect(message(page, text).locator(":scope > .meta, :scope > .meta-under")).toHaveCount(0);
  }
  await expect(message(page, "from alice 3").locator(".bubble").getByTestId("receipt")).toHaveText(/^(Sent|Seen)$/);
  await expect(page.getByTestId("day")).toHaveCount(1);

  // The pill back to the newest message does not use the colour of Alice's own bubbles.
  const jump = page.getByTestId("jump-to-latest");
  await expect(jump).toBeVisible();
  const pill = await jump.evaluate((el) => getComputedStyle(el).backgroundColor);
  const own = await message(page, "from alice 1")
    .locator(".bubble")
    .evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(pill).not.toBe(own);
  await jump.click();
  await expect(jump).toHaveCount(0);

  // The markdown subset.
  const bold = page.getByTestId("message").filter({ hasText: "inline code" });
  await expect(bold.locator("strong")).toHaveText("bold");
  await expect(bold.locator("em")).toHaveText("italic");
  await expect(bold.locator("code")).toHaveText("inline code");
  const code = page.getByTestId("message").filter({ hasText: "println" });
  await expect(code.locator("pre code")).toHaveText('fn main() {\n    println!("hi");\n}');
  const quote = page.getByTestId("message").filter({ hasText: "a quoted line" });
  await expect(quote.locator("blockquote")).toHaveText("a quoted line\nand my answer");
  // Web addresses become links that open elsewhere and tell nothing back.
  const links = page.getByTestId("message").filter({ hasText: "see https://" }).locator("a");
  await expect(links).toHaveCount(2);
  await expect(links.first()).toHaveAttribute("href", "https://example.com/path?q=1");
  await expect(links.first()).toHaveText("https://example.com/path?q=1");
  await expect(links.nth(1)).toHaveAttribute("href", "https://www.rust-lang.org");
  for (const link of await links.all()) {
    await expect(link).toHaveAttribute("rel", "noopener noreferrer");
    await expect(link).toHaveAttribute("target", "_blank");
  }
  // Emoji alone are shown large; every bubble reads in its own direction.
  const party = page.getByTestId("message").filter({ hasText: "🎉🎉" });
  await expect(party.locator(".bubble")).toHaveClass(/emoji/);
  const partySize = await party.getByTestId("message-text").evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(partySize).toBeGreaterThan(30);
  const rtl = page.getByTestId("message").filter({ hasText: "שלום" });
  await expect(rtl.getByTestId("message-text")).toHaveAttribute("dir", "auto");

  // Hostile text is shown as typed: no image, no script, no javascript: link, no bold from HTML.
  const shown = page.getByTestId("message-text");
  await expect(shown.filter({ hasText: "<img src=x onerror=alert(1)>" })).toHaveCount(1);
  await expect(shown.filter({ hasText: "[click me](javascript:alert(2))" })).toHaveCount(1);
  await expect(shown.filter({ hasText: "<b onclick=alert(3)>raw</b> html and <script>alert(4)</script>" })).toHaveCount(1);
  await expect(shown.filter({ hasText: "<img src=y onerror=alert(5)>" }).locator("strong")).toHaveCount(1);
  await expect(shown.filter({ hasText: "<javascript:alert(6)>" })).toHaveCount(1);
  await expect(page.locator(".messages img, .messages script, .messages b, .messages iframe")).toHaveCount(0);
  await expect(page.locator(".messages a[href^='javascript' i], .messages a:not([href^='https://'])")).toHaveCount(0);
  // The server's own render escapes it too.
  const html = await (await page.request.get(`/c/${conversation}`)).text();
  expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  expect(html).not.toContain("<img src=x");
  expect(html).not.toContain('href="javascript');
  await shot(page, "timeline-rich-desktop");
  await page.emulateMedia({ colorScheme: "dark" });
  await shot(page, "timeline-rich-dark-desktop");
  await page.emulateMedia({ colorScheme: "light" });

  // My own messages: the sent tick in the bubble; a reload keeps every rendering (server-side).
  const composer = page.getByTestId("composer");
  await composer.fill("Thanks, **noted** — see https://example.org");
  await composer.press("Enter");
  const mine = page.getByTestId("message").filter({ hasText: "Thanks, noted" });
  await expect(mine).toHaveAttribute("data-state", "sent");
  await expect(mine.locator(".bubble").getByTestId("receipt")).toHaveText("Sent");
  await expect(mine.locator("strong")).toHaveText("noted");
  await expect(mine.locator("a")).toHaveAttribute("href", "https://example.org");

  await page.setViewportSize(PHONE);
  await shot(page, "timeline-rich-phone");
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("new-messages")).toHaveCount(0);
  await expect(page.locator(".messages strong").first()).toHaveText("bold");
  await shot(page, "timeline-phone");

  expect(dialogs).toEqual([]);
  expect(errors).toEqual([]);
  await aliceContext.close();
  await bobContext.close();
});

test("the suggestions close when a conversation starts", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const otherContext = await browser.newContext();
  const bob = await apiSignUp(otherContext, "bob");
  const start = alice.page.getByLabel("Start a conversation");
  await start.fill(bob.name);
  const suggestions = alice.page.locator("#user-suggestions");
  await expect(alice.page.getByTestId("suggestion").filter({ hasText: bob.name })).toBeVisible();
  // Typing again and starting at once: the lookup still in flight must not reopen the list.
  await start.fill(bob.name.slice(0, -1));
  await start.fill(bob.name);
  await start.press("Enter");
  await expect(alice.page.getByTestId("conversation-title")).toHaveText(bob.name);
  await expect(suggestions).toBeHidden();
  await alice.page.waitForTimeout(800);
  await expect(suggestions).toBeHidden();
  await expect(start).toHaveValue("");
  expect(alice.errors).toEqual([]);
  await alice.context.close();
  await otherContext.close();
});
