import { test, expect } from "@playwright/test";
import { DESKTOP, PHONE, converse, send, shot, signUpPerson, texts } from "./support";

// A group as three people use it: one starts it with a title and two names; the others see it
// in their lists live; "Seen by N" says how many read the newest one (the names on hover or a
// tap); two typing at once show as "bob and carol are typing…"; all three talk; leaving closes
// it for the one who left and shows a line for the others.

test("three people in a group: created, read, typed and talked in, left", async ({ browser }) => {
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
  // Both have it open, so both read it: "Seen by 2", the names on hover, or on a tap (phones).
  const receipt = alice.page.getByTestId("receipt").last();
  await expect(receipt).toContainText("Seen by 2");
  const both = new RegExp(`${bob.name}.*${carol.name}|${carol.name}.*${bob.name}`);
  await expect(receipt).toHaveAttribute("title", both);
  await shot(alice.page, "group-desktop");
  await alice.page.setViewportSize(PHONE);
  await receipt.click();
  await expect(receipt).toHaveAttribute("aria-expanded", "true");
  await expect(receipt).toHaveText(both);
  await shot(alice.page, "group-seen-by-phone");
  await receipt.click();
  await expect(receipt).toHaveText("Seen by 2");
  await alice.page.setViewportSize(DESKTOP);

  // Bob and carol both start writing: alice sees both, in the order they started, and her
  // screen reader is told of each once (renewals are not read out again).
  await bob.page.getByTestId("composer").fill("I'll bring");
  await expect(alice.page.getByTestId("typing")).toHaveText(`${bob.name} is typing…`);
  await expect(alice.page.getByTestId("typing-announcement")).toHaveText(`${bob.name} is typing`);
  await carol.page.getByTestId("composer").fill("Me too, and");
  await expect(alice.page.getByTestId("typing")).toHaveText(`${bob.name} and ${carol.name} are typing…`);
  await expect(alice.page.getByTestId("typing-announcement")).toHaveText(`${carol.name} is typing`);
  await shot(alice.page, "group-typing-desktop");

  // All three talk: each message reaches the two others, and each one's typing ends with it.
  await send(bob.page, "I'll bring the slides");
  await send(carol.page, "Me too, and coffee");
  for (const person of [alice, bob, carol]) {
    await expect(texts(person.page)).toHaveText(["Kick-off at ten", "I'll bring the slides", "Me too, and coffee"]);
  }
  await expect(alice.page.getByTestId("typing")).toBeEmpty();

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

// Running a group from its panel: the member count opens it; an admin renames the group, adds
// someone, makes a member an admin and removes one, and a mistake is explained inline; every
// change reaches the others live (title, member count, timeline line, and the removed person's
// list). A member who is not an admin sees the members and roles, and no controls.
test("an admin runs a group from its panel", async ({ browser }) => {
  const alice = await signUpPerson(browser, "alice");
  const bob = await signUpPerson(browser, "bob");
  const carol = await signUpPerson(browser, "carol");

  // Members are picked with the same search as a conversation: a chip each, removable.
  await alice.page.getByTestId("new-group-toggle").click();
  await alice.page.getByLabel("Title").fill("Launch");
  const newGroup = alice.page.getByTestId("new-group");
  for (const person of [bob, carol]) {
    await alice.page.getByLabel("Members").fill(person.name);
    await newGroup.getByTestId("suggestion").filter({ hasText: person.name }).click();
    await expect(newGroup.getByTestId("picked-member").filter({ hasText: person.name })).toBeVisible();
  }
  await expect(alice.page.getByLabel("Members")).toHaveValue("");
  await newGroup.getByRole("button", { name: `Remove ${carol.name} from the group` }).click();
  await expect(newGroup.getByTestId("picked-member")).toHaveCount(1);
  await alice.page.getByRole("button", { name: "Create group" }).click();
  await expect(alice.page.getByTestId("group-members")).toHaveText("2 members");
  await bob.page.getByTestId("conversation-item").filter({ hasText: "Launch" }).click();
  await expect(bob.page.getByTestId("conversation-title")).toHaveText("Launch");

  // Bob is a member, not an admin: the panel lists both, with no controls.
  await bob.page.getByTestId("group-members").click();
  const bobPanel = bob.page.getByTestId("group-panel");
  await expect(bobPanel.getByTestId("member")).toHaveCount(2);
  await expect(bobPanel.getByTestId("member").filter({ hasText: alice.name })).toContainText("admin");
  await expect(bobPanel.getByTestId("rename-group")).toHaveCount(0);
  await expect(bobPanel.getByTestId("remove-member")).toHaveCount(0);

  await alice.page.getByTestId("group-members").click();
  const panel = alice.page.getByTestId("group-panel");
  await expect(alice.page.getByTestId("group-members")).toHaveAttribute("aria-expanded", "true");
  // Bob is connected: his dot in the panel is green.
  await expect(panel.getByTestId("member").filter({ hasText: bob.name }).locator(".member-dot")).toHaveClass(
    "member-dot online",
  );
  // Each admin action asks first; the answer here is yes.
  alice.page.on("dialog", (dialog) => void dialog.accept());

  // Rename: the title changes for both, and both timelines say who did it.
  await panel.getByLabel("Group name").fill("Launch day");
  await panel.getByRole("button", { name: "Rename" }).click();
  for (const person of [alice, bob]) {
    await expect(person.page.getByTestId("conversation-title")).toHaveText("Launch day");
    await expect(person.page.getByTestId("timeline-event").last()).toContainText(
      `${alice.name} renamed the group to “Launch day”`,
    );
  }

  // A name nobody has: explained, nothing changes.
  await panel.getByLabel("Add someone").fill("nobody_by_this_name");
  await panel.getByRole("button", { name: "Add" }).click();
  await expect(panel.getByTestId("group-error")).not.toBeEmpty();
  await expect(panel.getByTestId("member")).toHaveCount(2);

  // Add carol, picked from the suggestions: she gets the group in her list at once; the others
  // see the line and the count.
  await panel.getByLabel("Add someone").fill(carol.name);
  await panel.getByTestId("suggestion").filter({ hasText: carol.name }).click();
  await expect(panel.getByTestId("group-error")).toBeEmpty();
  await expect(panel.getByLabel("Add someone")).toHaveValue("");
  await expect(panel.getByTestId("member")).toHaveCount(3);
  await expect(carol.page.getByTestId("conversation-item").filter({ hasText: "Launch day" })).toBeVisible();
  await expect(bob.page.getByTestId("group-members")).toHaveText("3 members");
  await expect(bobPanel.getByTestId("member")).toHaveCount(3);
  // Carol was online before she was added: both panels show it at once, and each person's
  // own dot is green while they are connected.
  const dot = (where: typeof panel, person: typeof carol) =>
    where.getByTestId("member").filter({ hasText: person.name }).locator(".member-dot");
  for (const where of [panel, bobPanel]) await expect(dot(where, carol)).toHaveClass("member-dot online");
  await expect(dot(panel, alice)).toHaveClass("member-dot online");

  // Make bob an admin: his badge shows on both panels, and he gets the controls.
  await panel.getByRole("button", { name: `Make ${bob.name} an admin` }).click();
  await expect(panel.getByTestId("member").filter({ hasText: bob.name })).toContainText("admin");
  await expect(bobPanel.getByTestId("rename-group")).toBeVisible();
  await expect(bob.page.getByTestId("timeline-event").last()).toContainText(`${alice.name} made ${bob.name} an admin`);
  await shot(alice.page, "group-panel-desktop");

  // Remove carol: her list loses the group; the others see the line and the count.
  await carol.page.getByTestId("conversation-item").filter({ hasText: "Launch day" }).click();
  await expect(carol.page.getByTestId("conversation-title")).toHaveText("Launch day");
  await panel.getByRole("button", { name: `Remove ${carol.name}` }).click();
  await expect(carol.page.getByTestId("conversation-item").filter({ hasText: "Launch day" })).toHaveCount(0);
  await expect(carol.page).toHaveURL(/\/$/);
  for (const person of [alice, bob]) {
    await expect(person.page.getByTestId("group-members")).toHaveText("2 members");
    await expect(person.page.getByTestId("timeline-event").last()).toContainText(`${alice.name} removed ${carol.name}`);
  }
  // The other two carry on.
  await send(bob.page, "Just us now");
  await expect(texts(alice.page).last()).toHaveText("Just us now");

  // Escape closes the panel; on a phone it fits the screen.
  await panel.getByLabel("Group name").press("Escape");
  await expect(panel).toHaveCount(0);
  await bob.page.setViewportSize(PHONE);
  await expect(bobPanel).toBeVisible();
  await shot(bob.page, "group-panel-phone");
  for (const person of [alice, bob, carol]) expect(person.errors).toEqual([]);

  // Alice closes her browser: after the server's grace period her dot in bob's panel goes out.
  await alice.context.close();
  await expect(dot(bobPanel, alice)).toHaveClass("member-dot", { timeout: 25_000 });
});
