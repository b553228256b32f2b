import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** The Debian package `chromium`, driven by playwright-core (no browser download). */
export const CHROMIUM = '/usr/bin/chromium';
/** CI sets VIGIL_REQUIRE_CHROMIUM=1 so a missing browser fails instead of skipping. */
const REQUIRE = process.env.VIGIL_REQUIRE_CHROMIUM === '1';

/**
 * Headless Chromium, or the reason the browser tests are skipped (printed, like the PostgreSQL
 * skips), or a thrown error when VIGIL_REQUIRE_CHROMIUM=1.
 */
export async function launchChromium(): Promise<{ browser: Browser; skip?: undefined } | { browser?: undefined; skip: string }> {
  let why: string;
  if (existsSync(CHROMIUM)) {
    try {
      const { chromium } = await import('playwright-core');
      // Chromium refuses to run as root with its sandbox; CI containers run as root.
      const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
      return { browser: await chromium.launch({ executablePath: CHROMIUM, args }) };
    } catch (err) {
      why = `${CHROMIUM} did not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    }
  } else {
    why = `${CHROMIUM} is missing (apt-get install chromium)`;
  }
  if (REQUIRE) throw new Error(`${why}, and VIGIL_REQUIRE_CHROMIUM=1 requires it`);
  process.stderr.write(`# SKIP browser tests: ${why}. Set VIGIL_REQUIRE_CHROMIUM=1 to fail instead.\n`);
  return { skip: why };
}
