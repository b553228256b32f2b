import { spawn, spawnSync } from 'node:child_process';

/** CI sets VIGIL_REQUIRE_PROMTOOL=1 so a missing promtool fails instead of skipping. */
const REQUIRE = process.env.VIGIL_REQUIRE_PROMTOOL === '1';

/**
 * Why `promtool` (Debian package `prometheus`) cannot run here, printed like the PostgreSQL and
 * Chromium skips; undefined when it can. Throws when VIGIL_REQUIRE_PROMTOOL=1.
 */
export function promtoolUnavailable(): string | undefined {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const why = `promtool is not installed (apt-get install prometheus): ${probe.error?.message ?? `exit ${probe.status}`}`;
  if (REQUIRE) throw new Error(`${why}, and VIGIL_REQUIRE_PROMTOOL=1 requires it`);
  process.stderr.write(`# SKIP promtool check: ${why}. Set VIGIL_REQUIRE_PROMTOOL=1 to fail instead.\n`);
  return why;
}

/** Runs `promtool check metrics` on exposition text (fed on stdin, no shell) and returns its verdict. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A plain parse of the text exposition format: every sample line with its labels and value. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of `name`'s samples whose labels include `match`. */
export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}
