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
  await shot(bob.page, "last-seen-desktop");
  expect(bob.errors).toEqual([]);
  expect(alice.errors).toEqual([]);
});
