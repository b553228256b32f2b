import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLIENT_SETTINGS, defaultText, HUB_SETTINGS, SETTINGS, type SettingKey } from '../src/config/config.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** The rows of the first table under `## heading`, as trimmed cells (prettier pads them; the padding is not content). */
function tableUnder(doc: string, heading: string): string[][] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/configuration.md has a "## ${heading}" section`);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !/^\| -+ \|/.test(l))
    .slice(1)
    .map((l) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

const expected = (keys: readonly SettingKey[]) =>
  keys.map((k) => [`\`${SETTINGS[k].flag}\``, `\`${SETTINGS[k].env}\``, `\`${defaultText(k)}\``, SETTINGS[k].help]);

test("docs/configuration.md's tables are SETTINGS, whole: every flag, variable, default and meaning, in order", () => {
  const doc = readFileSync(`${root}docs/configuration.md`, 'utf8');
  assert.deepEqual(tableUnder(doc, 'The hub'), expected(HUB_SETTINGS));
  const client = (Object.keys(SETTINGS) as SettingKey[]).filter((k) => !(HUB_SETTINGS as SettingKey[]).includes(k));
  assert.deepEqual(tableUnder(doc, 'The terminal client'), expected(client));
  // The client also reads --data-dir (for the local admin token), which the hub's table already lists.
  assert.deepEqual(
    CLIENT_SETTINGS.filter((k) => !client.includes(k)),
    ['dataDir'],
  );
});

test('the README links to docs/configuration.md and keeps no settings table of its own to drift', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  assert.match(readme, /\]\(docs\/configuration\.md\)/);
  assert.doesNotMatch(readme, /^\| `--[a-z0-9-]+` +\| `VIGIL_/m);
});
