/**
 * Headless Chromium for the setup page tests: Debian's chromium-headless-shell
 * driven by playwright-core, with a fresh profile per test and screenshots
 * under test-output/screenshots/.
 *
 * @module
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type Box, startBox } from "../integration/fixture.ts";

/** Where Debian's chromium-headless-shell package puts the binary (`dpkg -L chromium-headless-shell`). */
export const CHROMIUM = Deno.env.get("PUSHBRIDGE_CHROMIUM") ?? "/usr/bin/chromium-headless-shell";
/** Screenshots for reviewers (gitignored). */
export const SCREENSHOT_DIR = new URL("../../test-output/screenshots/", import.meta.url).pathname;

/** Whether the browser is installed; tests are skipped with a reason when it is not. */
export function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** A browser with one page; close() removes its profile. */
export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot as test-output/screenshots/NAME.png. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Launches headless Chromium with an empty profile, no network services, no GPU. */
export async function openBrowser(viewport = { width: 1100, height: 800 }): Promise<TestBrowser> {
  const profile = await Deno.makeTempDir({ prefix: "pushbridge-chromium-" });
  await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    acceptDownloads: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    async shot(name) {
      await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage: true });
    },
    async close() {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** The admin password the console tests' boxes are installed with. */
export const ADMIN_PASSWORD = "seeded-admin-pw";

/**
 * A browser test against a box (tests/integration/fixture.ts: the harness's
 * mailstore, the seeded admin password): skipped without Chromium, a failure
 * leaves the screenshot `failure-<failureShot>`, box and browser always close.
 */
export function consoleTest(
  name: string,
  failureShot: string,
  run: (box: Box, browser: TestBrowser) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !chromiumInstalled(),
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const box = await startBox({ env: { PUSHBRIDGE_ADMIN_PASSWORD: ADMIN_PASSWORD } });
      const browser = await openBrowser();
      try {
        await run(box, browser);
      } catch (error) {
        await browser.shot(`failure-${failureShot}`).catch(() => {});
        throw error;
      } finally {
        await browser.close();
        await box.stop();
      }
    },
  });
}
