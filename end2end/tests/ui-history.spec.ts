import { test, expect, APIRequestContext } from "@playwright/test";
import { DESKTOP, apiSignUp, connected, hydrated, pageErrors, shot } from "./support";

// A long conversation: the newest page shows first (newest at the bottom), older pages load
// when scrolling up, and a reader up in the history is offered the way back down, told how
// many messages arrived meanwhile (which count as read only once she is back); and the composer refuses an over-long message with a visible reason,
// keeping the draft.

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

test("older messages load when scrolling up, and an over-long draft is refused with a reason", async ({ browser }) => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const carol = await apiSignUp(context, "carol");
  const other = await browser.newContext();
  const dave = await apiSignUp(other, "dave");
  const created = await context.request.post("/api/conversations", { data: { username: dave.name } });
  expect(created.ok(), await created.text()).toBeTruthy();
  const conversation: number = (await created.json()).id;
  for (let i = 1; i <= 60; i++) {
    await post(context.request, conversation, `message ${i}`);
  }

  const page = await context.newPage();
  const errors = pageErrors(page);
  await page.goto(`/c/${conversation}`);
  await hydrated(page);
  const texts = page.getByTestId("message-text");
  await expect(texts).toHaveCount(50);
  await expect(texts.first()).toHaveText("message 11");
  await expect(texts.last()).toHaveText("message 60");
  await expect(texts.last()).toBeInViewport();

  // Scrolling to the top fetches the older page; what was on screen stays put.
  await page.getByTestId("scroller").evaluate((el) => el.scrollTo({ top: -el.scrollHeight }));
  await expect(texts).toHaveCount(60);
  await expect(texts.first()).toHaveText("message 1");
  await expect(page.getByTestId("history-start")).toBeVisible();

  // Up in the history, a message arriving does not pull the reader down; a button says how
  // many arrived and brings them back to the newest.
  await connected(page);
  const jump = page.getByTestId("jump-to-latest");
  await expect(jump).toHaveText("Jump to latest ↓");
  await post(other.request, conversation, "while you were reading");
  await expect(texts).toHaveCount(61);
  await expect(jump).toHaveText("1 new message ↓");
  await expect(texts.last()).not.toBeInViewport();
  // Not seen yet, so Dave is not told it was: Carol's read mark stays where she left.
  const carolsMark = async () => {
    const view = await (await other.request.get(`/api/conversations/${conversation}`)).json();
    const id = view.members.find((m: { username: string }) => m.username === carol.name).id;
    return view.readUpTo.find((mark: { userId: number }) => mark.userId === id)?.seq ?? 0;
  };
  await page.waitForTimeout(1_000);
  expect(await carolsMark()).toBe(60);
  await shot(page, "jump-to-latest-desktop");
  await jump.click();
  await expect(texts.last()).toHaveText("while you were reading");
  await expect(texts.last()).toBeInViewport();
  await expect(jump).toHaveCount(0);
  await expect.poll(carolsMark).toBe(61);

  const composer = page.getByTestId("composer");
  const tooLong = "x".repeat(4001);
  await composer.fill(tooLong);
  await expect(page.getByTestId("composer-status")).toHaveText(
    "Too long to send: 4001 characters, the limit is 4000. Remove 1 to send it.",
  );
  await expect(composer).toHaveAttribute("aria-invalid", "true");
  await composer.press("Enter");
  await expect(texts).toHaveCount(61);
  await expect(composer).toHaveValue(tooLong);
  // Fixing the draft sends it.
  await composer.press("Backspace");
  await composer.press("Enter");
  await expect(page.getByTestId("message").last()).toHaveAttribute("data-state", "sent");
  await expect(texts).toHaveCount(62);
  // An address of a conversation that does not exist says so, on the server and after.
  await page.goto("/c/999999");
  await hydrated(page);
  await expect(page.getByTestId("history-error")).toHaveText("Conversation 999999 does not exist");
  await expect(page.getByTestId("composer")).toHaveCount(0);
  expect(errors).toEqual([]);
  await context.close();
  await other.close();
});
