import { test, expect, Page } from "@playwright/test";
import { DESKTOP, PHONE, Person, connected, headerFits, pageErrors, shot, signUpPerson } from "./support";

// Two people in two browser contexts: a conversation started by name appears on the other
// side without a reload, messages go both ways live, history survives a reload, and message
// text is only ever text.

const XSS_IMG = "<img src=x onerror=alert(1)>";
const XSS_SCRIPT = "<script>alert(2)</script>";

/** Types a message in the open conversation and sends it with Enter. */
async function send(page: Page, text: string) {
  const composer = page.getByTestId("composer");
  await composer.fill(text);
  await composer.press("Enter");
}

/** The texts of the messages shown, oldest first. */
function texts(page: Page) {
  return page.getByTestId("message-text");
}

async function open(person: Person, partner: string) {
  await person.page.getByTestId("conversation-item").filter({ hasText: partner }).click();
  await expect(person.page.getByTestId("conversation-title")).toHaveText(partner);
}

test("two people start a conversation and talk live; history survives a reload", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  const dialogs: string[] = [];
  for (const person of [alice, bob]) {
    person.page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  }

  // An unknown name is refused inline.
  const start = alice.page.getByLabel("Start a conversation");
  await start.fill("nobody_here_at_all");
  await start.press("Enter");
  await expect(alice.page.getByTestId("new-conversation-error")).toContainText("No user named");
  await expect(start).toHaveValue("nobody_here_at_all");

  // Typing the start of a name suggests it; picking the suggestion opens the conversation.
  await start.fill(bob.name.slice(0, bob.name.length - 2));
  await alice.page.getByTestId("suggestion").filter({ hasText: bob.name }).click();
  await expect(alice.page.getByTestId("conversation-title")).toHaveText(bob.name);
  await expect(alice.page).toHaveURL(/\/c\/\d+$/);

  // Bob's list shows it without a reload.
  const bobsItem = bob.page.getByTestId("conversation-item").filter({ hasText: alice.name });
  await expect(bobsItem).toBeVisible();
  await expect(bobsItem).toContainText("No messages yet");

  // Alice writes; it shows at once, turns into sent, and reaches Bob's list live.
  await send(alice.page, "Hello Bob!");
  const mine = alice.page.getByTestId("message").filter({ hasText: "Hello Bob!" });
  await expect(mine).toHaveAttribute("data-state", "sent");
  await expect(bobsItem).toContainText("Hello Bob!");
  await expect(bobsItem.getByTestId("unread")).toContainText("1");
  await expect(bob.page).toHaveTitle("(1) natter");
  await expect(mine.getByTestId("receipt")).toHaveText("Sent");

  await open(bob, alice.name);
  await expect(texts(bob.page)).toHaveText(["Hello Bob!"]);
  await expect(bobsItem.getByTestId("unread")).toHaveCount(0);
  await expect(bob.page).toHaveTitle("natter");
  // Bob has read it, and Alice sees that.
  await expect(mine.getByTestId("receipt")).toHaveText("Seen");
  // A second window of Alice's gets everything live too, her own sends from the first included.
  const aliceAgain = await alice.context.newPage();
  const aliceAgainErrors = pageErrors(aliceAgain);
  await aliceAgain.goto(alice.page.url());
  await connected(aliceAgain);
  await send(bob.page, "Hi Alice, how are you?");
  await expect(texts(alice.page)).toHaveText(["Hello Bob!", "Hi Alice, how are you?"]);
  await expect(texts(aliceAgain)).toHaveText(["Hello Bob!", "Hi Alice, how are you?"]);

  // Shift+Enter is a new line, Enter sends.
  const composer = alice.page.getByTestId("composer");
  await composer.fill("line one");
  await composer.press("Shift+Enter");
  await composer.pressSequentially("line two");
  await composer.press("Enter");
  await expect(texts(bob.page).last()).toHaveText("line one\nline two");
  await expect(texts(aliceAgain).last()).toHaveText("line one\nline two");
  await aliceAgain.close();
  expect(aliceAgainErrors).toEqual([]);
  await expect(composer).toHaveValue("");

  // Markup is shown as text and runs nothing, on both sides.
  await send(alice.page, XSS_IMG);
  await send(alice.page, XSS_SCRIPT);
  for (const page of [alice.page, bob.page]) {
    await expect(texts(page).filter({ hasText: XSS_SCRIPT })).toHaveCount(1);
    await expect(texts(page).filter({ hasText: XSS_IMG })).toHaveCount(1);
    await expect(page.locator(".messages img, .messages script")).toHaveCount(0);
  }
  const expected = ["Hello Bob!", "Hi Alice, how are you?", "line one\nline two", XSS_IMG, XSS_SCRIPT];
  await expect(texts(bob.page)).toHaveText(expected);

  // A reload keeps the history, and the server renders it before any script runs.
  await bob.page.reload();
  await expect(texts(bob.page)).toHaveText(expected);
  const html = await (await bob.page.request.get(bob.page.url())).text();
  expect(html).toContain("Hi Alice, how are you?");
  expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  expect(html).not.toContain(XSS_IMG);
  await connected(bob.page);
  await send(bob.page, "Still here after the reload.");
  await expect(texts(alice.page).last()).toHaveText("Still here after the reload.");
  expect(dialogs).toEqual([]);
  expect(alice.errors).toEqual([]);
  expect(bob.errors).toEqual([]);

  // Screenshots: the list and the open conversation, desktop and phone.
  await shot(bob.page, "conversation-desktop");
  await bob.page.emulateMedia({ colorScheme: "dark" });
  await shot(bob.page, "conversation-dark-desktop");
  await bob.page.emulateMedia({ colorScheme: "light" });
  await bob.page.setViewportSize(PHONE);
  await headerFits(bob.page);
  await shot(bob.page, "conversation-phone");
  await bob.page.getByTestId("back").click();
  await expect(bob.page.getByTestId("conversation-list")).toBeVisible();
  await shot(bob.page, "conversation-list-phone");
  await bob.page.setViewportSize(DESKTOP);
  await bob.page.goto("/");
  await expect(bob.page.getByTestId("conversation-list")).toBeVisible();
  await shot(bob.page, "conversation-list-desktop");

  await alice.context.close();
  await bob.context.close();
});
