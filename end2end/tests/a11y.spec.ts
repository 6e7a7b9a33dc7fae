import { test, expect, Browser, BrowserContext } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { apiSignUp, connected, hydrated, pageErrors, shot } from "./support";

// axe-core on the three pages people spend their time on (landing, conversation list, a
// conversation), at desktop and phone sizes, in light and dark: no serious or critical
// or moderate violation (minor ones are reported in the log). Each combination leaves a
// screenshot in end2end/screenshots/a11y-*.png. The page has one main landmark at every size:
// the list while no conversation is open, else the conversation (app/src/pages/chat.rs).

const SIZES = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;
const SCHEMES = ["light", "dark"] as const;

interface Cast {
  storage: Awaited<ReturnType<BrowserContext["storageState"]>>;
  conversation: number;
}

/** Someone with two conversations, one of them with messages both ways (a link, markdown, an
 * emoji-only message) and a few unread ones from the other person. */
async function cast(browser: Browser): Promise<Cast> {
  const mine = await browser.newContext();
  await apiSignUp(mine, "mia");
  const other = await browser.newContext();
  const them = await apiSignUp(other, "noah");
  const third = await browser.newContext();
  const quiet = await apiSignUp(third, "olga");
  const created = await mine.request.post("/api/conversations", { data: { username: them.name } });
  const conversation: number = (await created.json()).id;
  await mine.request.post("/api/conversations", { data: { username: quiet.name } });
  const say = (ctx: BrowserContext, message: string) =>
    ctx.request.post(`/api/conversations/${conversation}/messages`, { data: { message } });
  await say(mine, "Hi! Did you read https://example.com/article yet?");
  await say(other, "Yes, **loved** it. The `code` sample was _neat_.");
  await say(mine, "🎉");
  await say(other, "> quoted line\n\nand a reply");
  await say(other, "one more, unread");
  const storage = await mine.storageState();
  for (const c of [mine, other, third]) await c.close();
  return { storage, conversation };
}

for (const [size, viewport] of Object.entries(SIZES)) {
  for (const colorScheme of SCHEMES) {
    for (const where of ["landing", "list", "conversation"] as const) {
      test(`axe: ${where}, ${size}, ${colorScheme}`, async ({ browser }) => {
        // A cast of its own: every scan sees the unread rows and the "New messages" line.
        const people = await cast(browser);
        const context = await browser.newContext({
          viewport,
          colorScheme,
          storageState: where === "landing" ? undefined : people.storage,
        });
        const page = await context.newPage();
        const errors = pageErrors(page);
        await page.goto(where === "conversation" ? `/c/${people.conversation}` : "/");
        await hydrated(page);
        if (where !== "landing") await connected(page);
        if (where === "conversation") {
          await expect(page.getByTestId("message-text").last()).toHaveText("one more, unread");
        }
        const results = await new AxeBuilder({ page }).analyze();
        await shot(page, `a11y-${where}-${size}-${colorScheme}`);
        // What axe checked, and what it left undecided (for example the contrast of text over
        // a gradient) or judged minor: reported, not failed.
        const count = (list: typeof results.violations) =>
          list
            .map((r) => `${r.id}(${r.impact}) at ${r.nodes.map((n) => `${n.target.join(" ")} [${n.failureSummary?.split("\n").slice(1).join(" ").trim()}]`).join(", ")}`)
            .join("; ") || "none";
        console.log(
          `axe ${where} ${size} ${colorScheme}: ${results.passes.length} rules pass; ` +
            `violations: ${count(results.violations)}; incomplete: ${count(results.incomplete)}`,
        );
        const failing = results.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical" || v.impact === "moderate")
          .map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
          }));
        expect(failing, JSON.stringify(failing, null, 2)).toEqual([]);
        expect(errors).toEqual([]);
        await context.close();
      });
    }
  }
}
