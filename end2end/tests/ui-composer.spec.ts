import { test, expect, Browser, Page } from "@playwright/test";
import { PHONE, Person, converse, hydrated, shot, signUpPerson, texts } from "./support";

// The composer never loses what was typed (issue 13, items 1–3): a message sent before the
// WASM has loaded is stored and delivered once; text typed before hydration survives it; each
// conversation keeps its draft across switches and reloads; line breaks can be written on a
// desktop (Shift+Enter) and on a phone (Enter; the button sends).

/** A page of `person`'s browser whose WASM download waits until `release()` is called. */
async function slowWasmPage(person: Person): Promise<{ page: Page; release: () => void }> {
  const page = await person.context.newPage();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/*.wasm", async (route) => {
    await gate;
    await route.continue();
  });
  return { page, release };
}

async function pair(browser: Browser) {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  await converse(alice, bob);
  return { alice, bob, url: alice.page.url() };
}

test("a message sent before the WASM has loaded is stored and delivered once", async ({ browser }) => {
  const { alice, bob, url } = await pair(browser);
  const { page, release } = await slowWasmPage(alice);
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(0);
  await page.getByTestId("composer").fill("sent before hydration");
  const form = page.getByTestId("composer-form");
  const fields = {
    conversation: await form.locator("input[name=conversation]").inputValue(),
    client_id: await form.locator("input[name=client_id]").inputValue(),
    message: "sent before hydration",
  };
  // The form posts to the server, which sends the browser back to the conversation.
  const posted = page.waitForResponse((r) => r.url().endsWith("/_sf/send"));
  await page.getByTestId("send").click();
  expect((await posted).status()).toBe(302);
  await expect(page).toHaveURL(new RegExp(`^${url}\\??$`));
  await expect(texts(page).last()).toHaveText("sent before hydration");
  await expect(texts(bob.page).last()).toHaveText("sent before hydration");
  release();
  await hydrated(page);
  await expect(texts(page).filter({ hasText: "sent before hydration" })).toHaveCount(1);
  await expect(texts(bob.page).filter({ hasText: "sent before hydration" })).toHaveCount(1);
  // The same form sent again (a double click, the browser's resubmit) stores it once.
  const again = await page.request.post("/_sf/send", {
    form: fields,
    headers: { Origin: new URL(url).origin, Accept: "application/json" },
  });
  expect(again.status()).toBe(200);
  await page.reload();
  await hydrated(page);
  await expect(texts(page).filter({ hasText: "sent before hydration" })).toHaveCount(1);
  await shot(page, "composer-before-hydration-desktop");
  expect(alice.errors).toEqual([]);
  await alice.context.close();
  await bob.context.close();
});

test("text typed before hydration is kept, and sent once after it", async ({ browser }) => {
  const { alice, bob, url } = await pair(browser);
  const { page, release } = await slowWasmPage(alice);
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.getByTestId("composer").fill("typed early");
  release();
  await hydrated(page);
  await expect(page.getByTestId("composer")).toHaveValue("typed early");
  await page.getByTestId("composer").press("Enter");
  await expect(texts(bob.page).filter({ hasText: "typed early" })).toHaveCount(1);
  await expect(page.getByTestId("composer")).toHaveValue("");
  await alice.context.close();
  await bob.context.close();
});

test("each conversation keeps its draft across switches and reloads", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  const carol = await signUpPerson(browser, "carol");
  await converse(alice, carol);
  await converse(alice, bob);
  const composer = alice.page.getByTestId("composer");
  const open = async (name: string) => {
    await alice.page.getByTestId("conversation-item").filter({ hasText: name }).click();
    await expect(alice.page.getByTestId("conversation-title")).toHaveText(name);
  };
  await composer.fill("a draft for bob");
  await open(carol.name);
  await expect(composer).toHaveValue("");
  await composer.fill("and one for carol");
  await open(bob.name);
  await expect(composer).toHaveValue("a draft for bob");
  await alice.page.reload();
  await hydrated(alice.page);
  await expect(composer).toHaveValue("a draft for bob");
  await composer.press("Enter");
  await expect(texts(bob.page).last()).toHaveText("a draft for bob");
  await open(carol.name);
  await expect(composer).toHaveValue("and one for carol");
  await open(bob.name);
  await expect(composer).toHaveValue("");
  expect(alice.errors).toEqual([]);
  for (const person of [alice, bob, carol]) await person.context.close();
});

test("line breaks: Shift+Enter on a desktop, Enter on a phone where the button sends", async ({ browser }) => {
  const { alice, bob } = await pair(browser);
  const composer = alice.page.getByTestId("composer");
  await composer.fill("line one");
  await composer.press("Shift+Enter");
  await composer.pressSequentially("line two");
  await composer.press("Enter");
  await expect(texts(bob.page).last()).toHaveText("line one\nline two");

  // Bob on a phone: Enter starts a new line; the Send button sends.
  const phone = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
  await phone.addCookies(await bob.context.cookies());
  const page = await phone.newPage();
  await page.goto(bob.page.url());
  await hydrated(page);
  const box = page.getByTestId("composer");
  await box.fill("first line");
  await box.press("Enter");
  await box.pressSequentially("second line");
  await expect(box).toHaveValue("first line\nsecond line");
  await page.getByTestId("send").click();
  await expect(texts(alice.page).last()).toHaveText("first line\nsecond line");
  await shot(page, "composer-multiline-phone");
  await phone.close();
  await alice.context.close();
  await bob.context.close();
});
