// One way for every browser test to start Chromium: Debian's build (or TESSERA_CHROMIUM), headless,
// with the flags that keep it off the network on these machines. `npm test` installs or finds the
// browser before any suite runs (scripts/preflight.mjs), so a missing browser fails there, at once,
// with one line; this check only guards a test file run on its own.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** The Chromium binary the browser tests use. */
export const CHROMIUM_PATH = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Launches headless Chromium. Fails (never skips) when the binary is missing.
 *
 * @example
 * const browser = await launchChromium();
 * try { const page = await browser.newPage(); … } finally { await browser.close(); }
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: run \`npm run services\` as root (installs Debian chromium) or set TESSERA_CHROMIUM`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}
