import { test, expect } from "@playwright/test";
import { converse, send, shot, signUpPerson, texts } from "./support";

// A group as three people use it: one starts it with a title and two names; the others see it
// in their lists live; messages reach everyone; "Seen by N" says how many read the newest
// one (the names on hover); leaving closes it for the one who left and shows a line for the
// others.

test("three people in a group: created, talked in, read, left", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  const carol = await signUpPerson(browser, "carol");

  // A group needs a title: refused inline, nothing created.
  await alice.page.getByTestId("new-group-toggle").click();
  await alice.page.getByLabel("Members").fill(`${bob.name}, ${carol.name}`);
  await alice.page.getByRole("button", { name: "Create group" }).click();
  await expect(alice.page.getByTestId("new-group-error")).not.toBeEmpty();

  await alice.page.getByLabel("Title").fill("Launch");
  await alice.page.getByRole("button", { name: "Create group" }).click();
  await expect(alice.page.getByTestId("conversation-title")).toHaveText("Launch");
  await expect(alice.page.getByTestId("group-members")).toHaveText("3 members");
  await expect(alice.page.getByTestId("timeline-event").first()).toContainText("Launch");

  for (const person of [bob, carol]) {
    const item = person.page.getByTestId("conversation-item").filter({ hasText: "Launch" });
    await expect(item).toBeVisible();
    await item.click();
    await expect(person.page.getByTestId("conversation-title")).toHaveText("Launch");
  }

  await send(alice.page, "Kick-off at ten");
  for (const person of [bob, carol]) {
    await expect(texts(person.page).last()).toHaveText("Kick-off at ten");
    // In a group every run of messages says who wrote it, even right after alice's own
    // "created the group" line; the list shows no presence dot for a group.
    await expect(person.page.getByTestId("sender").last()).toContainText(alice.name);
    await expect(person.page.getByTestId("history-start")).toHaveText("This is the beginning of Launch.");
    await expect(
      person.page.getByTestId("conversation-item").filter({ hasText: "Launch" }).getByTestId("online-dot"),
    ).toHaveClass("online-dot");
  }
  // Both have it open, so both read it: "Seen by 2", names on hover.
  const receipt = alice.page.getByTestId("receipt").last();
  await expect(receipt).toContainText("Seen by 2");
  await expect(receipt).toHaveAttribute("title", new RegExp(`${bob.name}.*${carol.name}|${carol.name}.*${bob.name}`));
  await shot(alice.page, "group-desktop");

  // Carol leaves: her list loses it, the others see the line.
  carol.page.on("dialog", (dialog) => void dialog.accept());
  await carol.page.getByTestId("leave-group").click();
  await expect(carol.page.getByTestId("conversation-item").filter({ hasText: "Launch" })).toHaveCount(0);
  await expect(carol.page).toHaveURL(/\/$/);
  for (const person of [alice, bob]) {
    await expect(person.page.getByTestId("timeline-event").last()).toContainText(`${carol.name} left`);
    await expect(person.page.getByTestId("group-members")).toHaveText("2 members");
  }
  await send(bob.page, "See you there");
  await expect(texts(alice.page).last()).toHaveText("See you there");
  await shot(bob.page, "group-after-leave-desktop");

  // A one-to-one conversation still shows presence, not a member count.
  await converse(alice, bob);
  await expect(bob.page.getByTestId("presence")).toHaveText("online");
  await expect(bob.page.getByTestId("group-members")).toHaveCount(0);
  for (const person of [alice, bob, carol]) expect(person.errors).toEqual([]);
});
