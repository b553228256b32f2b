/**
 * Pure parsers of GPU tool output. Each returns devices (possibly none) or an error text; none
 * throws, and none returns NaN or Infinity.
 */
import { parsePid, parseUint } from './proc-parse.js';
import type { GpuDevice } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const NUMBER = /^-?[0-9]{1,15}(\.[0-9]{1,6})?$/;

/** A figure of nvidia-smi's `nounits` CSV; `N/A`, `[Not Supported]`, `[N/A]` and anything else odd are absent. */
function figure(text: string | undefined, min: number, max: number): number | undefined {
  const t = (text ?? '').trim();
  if (!NUMBER.test(t)) return undefined;
  const v = Number(t);
  return v >= min && v <= max ? v : undefined;
}

// nvidia-smi's answer when the driver finds no GPU (it then exits 6).
const NO_DEVICES = /^No devices were found/m;
// 1 PiB in MiB: anything larger is garbage, and keeps sums finite.
const MAX_MB = 2 ** 30;

/**
 * `nvidia-smi --query-gpu=index,name,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu
 * --format=csv,noheader,nounits`. The name may hold commas, so the index is taken from the left and
 * the five figures from the right. A row without usable memory figures is left out.
 */
export function parseNvidiaGpus(text: string): Parsed<GpuDevice[]> {
  if (NO_DEVICES.test(text)) return { ok: true, value: [] };
  const devices: GpuDevice[] = [];
  let rows = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    rows++;
    const device = parseGpuRow(line);
    if (device) devices.push(device);
  }
  if (rows > 0 && devices.length === 0) return { ok: false, error: `nvidia-smi printed ${rows} unrecognised line(s)` };
  return { ok: true, value: devices };
}

function parseGpuRow(line: string): GpuDevice | undefined {
  const first = line.indexOf(',');
  const cuts: number[] = [];
  for (let at = line.length; cuts.length < 5;) {
    at = line.lastIndexOf(',', at - 1);
    if (at <= first) return undefined;
    cuts.unshift(at);
  }
  const index = parseUint(line.slice(0, first).trim());
  const [c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0] = cuts;
  const name = line.slice(first + 1, c0).trim();
  const total = figure(line.slice(c0 + 1, c1), 0, MAX_MB);
  let used = figure(line.slice(c1 + 1, c2), 0, MAX_MB);
  let free = figure(line.slice(c2 + 1, c3), 0, MAX_MB);
  if (index === undefined || total === undefined) return undefined;
  if (used === undefined && free !== undefined) used = Math.max(0, total - free);
  if (free === undefined && used !== undefined) free = Math.max(0, total - used);
  if (used === undefined || free === undefined) return undefined;
  const device: GpuDevice = { index, name, memoryTotalMb: total, memoryUsedMb: used, memoryFreeMb: free };
  const utilization = figure(line.slice(c3 + 1, c4), 0, 100);
  const temperature = figure(line.slice(c4 + 1), -273, 1000);
  if (utilization !== undefined) device.utilizationPercent = utilization;
  if (temperature !== undefined) device.temperatureC = temperature;
  return device;
}

/**
 * `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`: MiB per PID.
 * A process listed on several GPUs is summed. Rows whose memory is `N/A` (MIG, WDDM) are skipped.
 */
export function parseNvidiaApps(text: string): Parsed<Map<number, number>> {
  const byPid = new Map<number, number>();
  if (/^No running (compute )?processes found/m.test(text)) return { ok: true, value: byPid };
  let rows = 0;
  let understood = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    rows++;
    const [pidText, memText, extra] = line.split(',');
    const pid = parsePid((pidText ?? '').trim());
    if (pid === undefined || extra !== undefined) continue;
    understood++;
    const mb = figure(memText, 0, MAX_MB);
    if (mb !== undefined) byPid.set(pid, (byPid.get(pid) ?? 0) + mb);
  }
  if (rows > 0 && understood === 0) return { ok: false, error: `nvidia-smi printed ${rows} unrecognised line(s)` };
  return { ok: true, value: byPid };
}

const MIB = 1024 * 1024;

/**
 * `rocm-smi --showmeminfo vram --json`: `{"card0": {"VRAM Total Memory (B)": "…", "VRAM Total Used Memory (B)": "…"}}`.
 * Older releases print warnings before the JSON, so parsing starts at the first brace.
 */
export function parseRocmVram(text: string): Parsed<GpuDevice[]> {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return { ok: false, error: 'rocm-smi printed no JSON' };
  let doc: unknown;
  try {
    doc = JSON.parse(text.slice(start, end + 1));
  } catch {
    return { ok: false, error: 'rocm-smi printed malformed JSON' };
  }
  if (typeof doc !== 'object' || doc === null) return { ok: false, error: 'rocm-smi printed unexpected JSON' };
  const devices: GpuDevice[] = [];
  for (const [card, fields] of Object.entries(doc)) {
    const index = /^card([0-9]{1,4})$/.exec(card)?.[1];
    if (index === undefined || typeof fields !== 'object' || fields === null) continue;
    const values = fields as Record<string, unknown>;
    const total = bytes(values['VRAM Total Memory (B)']);
    const used = bytes(values['VRAM Total Used Memory (B)']);
    if (total === undefined || used === undefined) continue;
    const totalMb = total / MIB;
    const usedMb = Math.min(totalMb, used / MIB);
    devices.push({ index: Number(index), name: card, memoryTotalMb: totalMb, memoryUsedMb: usedMb, memoryFreeMb: totalMb - usedMb });
  }
  return devices.length > 0 ? { ok: true, value: devices } : { ok: false, error: 'rocm-smi reported no VRAM figures' };
}

function bytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  return typeof v === 'string' ? parseUint(v.trim()) : undefined;
}
