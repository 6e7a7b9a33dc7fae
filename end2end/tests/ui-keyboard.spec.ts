import { test, expect } from "@playwright/test";
import { apiSignUp, connected, hydrated, pageErrors, shot, signOut } from "./support";

// The keyboard (issue 13): Ctrl/Cmd+K opens a conversation switcher, Alt+↑/↓ move through the
// list, Esc marks the open conversation read; the message list is focusable and labelled, and
// the page has one <h1>.

const DESKTOP = { width: 1280, height: 800 };

test("Ctrl+K switches, Alt+arrows move through the list, Esc marks read, one h1", async ({ browser }) => {
  const aliceContext = await browser.newContext({ viewport: DESKTOP });
  const alice = await apiSignUp(aliceContext, "alice");
  const others = [];
  for (const prefix of ["bob", "carol"]) {
    const context = await browser.newContext();
    const person = await apiSignUp(context, prefix);
    const created = await context.request.post("/api/conversations", { data: { username: alice.name } });
    expect(created.ok(), await created.text()).toBeTruthy();
    others.push({ ...person, context, conversation: (await created.json()).id as number });
  }
  const [bob, carol] = others;
  const page = await aliceContext.newPage();
  const errors = pageErrors(page);
  await page.goto("/");
  await hydrated(page);
  await connected(page);
  await expect(page.locator("h1")).toHaveCount(1);

  // Ctrl+K, part of a name, Enter.
  await page.keyboard.press("Control+k");
  const switcher = page.getByTestId("switcher");
  await expect(switcher).toBeVisible();
  await page.keyboard.type(bob.name.slice(0, 5));
  await expect(switcher.getByRole("button")).toHaveText([bob.name]);
  await shot(page, "keyboard-switcher-desktop");
  await page.keyboard.press("Enter");
  await expect(switcher).toBeHidden();
  await expect(page).toHaveURL(new RegExp(`/c/${bob.conversation}$`));

  // The list is newest first: carol's conversation above bob's.
  await page.keyboard.press("Alt+ArrowUp");
  await expect(page).toHaveURL(new RegExp(`/c/${carol.conversation}$`));
  await page.keyboard.press("Alt+ArrowDown");
  await expect(page).toHaveURL(new RegExp(`/c/${bob.conversation}$`));

  // The message list can take the focus and says whose messages it holds.
  const scroller = page.getByTestId("scroller");
  await expect(scroller).toHaveAttribute("tabindex", "0");
  await expect(scroller).toHaveAttribute("aria-label", `Messages with ${bob.name}`);
  await expect(page.locator("h1")).toHaveCount(1);

  // Up in a long history, new messages stay unread until Esc.
  for (let i = 1; i <= 25; i++) {
    const response = await bob.context.request.post(`/api/conversations/${bob.conversation}/messages`, {
      data: { message: `line ${i}` },
    });
    expect(response.ok()).toBeTruthy();
  }
  await expect(page.getByTestId("message-text").last()).toHaveText("line 25");
  await scroller.evaluate((el) => el.scrollTo({ top: -el.scrollHeight }));
  await expect(page.getByTestId("jump-to-latest")).toBeVisible();
  const response = await bob.context.request.post(`/api/conversations/${bob.conversation}/messages`, {
    data: { message: "while scrolled up" },
  });
  expect(response.ok()).toBeTruthy();
  await expect(page.getByTestId("jump-to-latest")).toHaveText("1 new message ↓");
  await page.getByTestId("composer").blur();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("jump-to-latest")).toHaveCount(0);
  const marks = async () => {
    const view = await (await bob.context.request.get(`/api/conversations/${bob.conversation}`)).json();
    const me = view.members.find((m: { username: string }) => m.username === alice.name).id;
    return view.readUpTo.find((mark: { userId: number }) => mark.userId === me)?.seq ?? 0;
  };
  await expect.poll(marks).toBe(26);

  expect(errors).toEqual([]);
  await aliceContext.close();
  for (const person of others) await person.context.close();
});

test("phone header: who is signed in is visible, Sign out is in a menu and confirmed, targets are 44 px", async ({
  browser,
}) => {
  const PHONE = { width: 390, height: 844 };
  const context = await browser.newContext({ viewport: PHONE, hasTouch: true });
  const alice = await apiSignUp(context, "alice");
  const otherContext = await browser.newContext();
  const bob = await apiSignUp(otherContext, "bob");
  const created = await otherContext.request.post("/api/conversations", { data: { username: alice.name } });
  const conversation: number = (await created.json()).id;
  const page = await context.newPage();
  const errors = pageErrors(page);
  await page.goto(`/c/${conversation}`);
  await hydrated(page);
  await connected(page);
  await expect(page.getByTestId("me")).toBeVisible();
  await expect(page.getByTestId("sign-out")).toBeHidden();
  // Nothing wider than the screen.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  for (const id of ["account", "back", "mute", "send"]) {
    const box = await page.getByTestId(id).boundingBox();
    expect(box, id).not.toBeNull();
    expect(box!.height, `${id} height`).toBeGreaterThanOrEqual(44);
    expect(box!.width, `${id} width`).toBeGreaterThanOrEqual(44);
  }
  await page.getByTestId("account").click();
  await expect(page.getByTestId("account-menu")).toContainText(`Signed in as ${alice.name}`);
  await page.getByTestId("sign-out").click();
  await expect(page.getByTestId("sign-out-confirm")).toBeVisible();
  await shot(page, "phone-account-menu");
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByTestId("account-menu")).toBeHidden();
  await expect(page.getByTestId("conversation-title")).toHaveText(bob.name);
  await signOut(page);
  await expect(page.getByTestId("auth-heading")).toHaveText("Welcome back");
  expect(errors).toEqual([]);
  await context.close();
  await otherContext.close();
});
