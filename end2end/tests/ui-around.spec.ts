import { test, expect } from "@playwright/test";
import { PHONE, DESKTOP, converse, send, shot, signUpPerson, texts } from "./support";

// Typing and presence as people see them: "alice is typing…" above the composer while she
// writes, gone when her message arrives; "online" under the name and a dot on the list's
// avatar while she is connected; "last seen today at …" once she has left (after the
// server's 10 s grace period).

test("typing shows while the other person writes, presence while they are around", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  await converse(alice, bob);

  // Both are connected: each sees the other online.
  await expect(bob.page.getByTestId("presence")).toHaveText("online");
  await expect(alice.page.getByTestId("presence")).toHaveText("online");
  const dot = bob.page.getByTestId("conversation-item").filter({ hasText: alice.name }).getByTestId("online-dot");
  await expect(dot).toHaveClass("online-dot online");

  // Alice writes without sending: Bob sees her typing.
  await alice.page.getByTestId("composer").fill("Are you coming to");
  const typing = bob.page.getByTestId("typing");
  await expect(typing).toHaveText(`${alice.name} is typing…`);
  await expect(alice.page.getByTestId("typing")).toBeEmpty();
  await shot(bob.page, "typing-presence-desktop");
  await bob.page.setViewportSize(PHONE);
  await expect(typing).toHaveText(`${alice.name} is typing…`);
  await shot(bob.page, "typing-presence-phone");
  await bob.page.setViewportSize(DESKTOP);

  // Her message ends it.
  await send(alice.page, "Are you coming to the launch?");
  await expect(texts(bob.page).last()).toHaveText("Are you coming to the launch?");
  await expect(typing).toBeEmpty();

  // Emptying the composer stops it too.
  await alice.page.getByTestId("composer").fill("One more");
  await expect(typing).toHaveText(`${alice.name} is typing…`);
  await alice.page.getByTestId("composer").fill("");
  await expect(typing).toBeEmpty();

  // Alice leaves: after the grace period Bob sees when she was last seen.
  await alice.context.close();
  await expect(bob.page.getByTestId("presence")).toHaveText(/^last seen today at \d\d:\d\d$/, { timeout: 25_000 });
  await expect(dot).toHaveClass("online-dot");
  // The list says it on hover over her avatar.
  const avatar = bob.page.getByTestId("conversation-item").filter({ hasText: alice.name }).locator(".avatar");
  await expect(avatar).toHaveAttribute("title", /^last seen today at \d\d:\d\d$/);
  await shot(bob.page, "last-seen-desktop");
  expect(bob.errors).toEqual([]);
  expect(alice.errors).toEqual([]);
});

test("the account menu hides one's presence and typing", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  await converse(alice, bob);
  await expect(alice.page.getByTestId("presence")).toHaveText("online");
  await expect(bob.page.getByTestId("presence")).toHaveText("online");

  // Bob hides his presence: Alice stops seeing it at once, and he sees nobody's.
  await bob.page.getByTestId("account").click();
  const sharePresence = bob.page.getByTestId("share-presence");
  await expect(sharePresence).toBeChecked();
  await sharePresence.uncheck();
  await expect(alice.page.getByTestId("presence")).toBeEmpty();
  await expect(bob.page.getByTestId("presence")).toBeEmpty();
  await shot(bob.page, "sharing-settings-desktop");

  // Alice stops sharing her typing: Bob sees none while she writes.
  await alice.page.getByTestId("account").click();
  await alice.page.getByTestId("share-typing").uncheck();
  await expect(alice.page.getByTestId("share-typing")).not.toBeChecked();
  await alice.page.getByTestId("composer").fill("a draft nobody should see coming");
  // Absence cannot be waited for: a notice would have arrived well within this.
  await bob.page.waitForTimeout(1_500);
  await expect(bob.page.getByTestId("typing")).toBeEmpty();

  // Kept on the server: a reload shows the same choice; showing presence again tells Alice.
  await bob.page.reload();
  await bob.page.getByTestId("account").click();
  await expect(bob.page.getByTestId("share-presence")).not.toBeChecked();
  await bob.page.getByTestId("share-presence").check();
  await expect(alice.page.getByTestId("presence")).toHaveText("online");
  await expect(bob.page.getByTestId("presence")).toHaveText("online");
  expect(bob.errors).toEqual([]);
  expect(alice.errors).toEqual([]);
});
