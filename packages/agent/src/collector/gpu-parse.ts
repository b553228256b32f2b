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
 * `nvidia-smi --query-gpu=index,uuid,pci.bus_id,name,memory.total,memory.used,memory.free,utilization.gpu,
 * temperature.gpu,power.draw --format=csv,noheader,nounits`. The name may hold commas, so the index,
 * uuid and bus id are taken from the left and the six figures from the right. A row without usable
 * memory figures is left out.
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

const LEFT_FIELDS = 3;
const RIGHT_FIELDS = 6;
// nvidia-smi's `GPU-…` (or `MIG-…`) uuid and `00000000:17:00.0` bus id; anything else (N/A) is absent.
const UUID = /^[A-Za-z0-9][A-Za-z0-9-]{0,95}$/;
const BUS_ID = /^[0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]$/;

function parseGpuRow(line: string): GpuDevice | undefined {
  const left: number[] = [];
  for (let at = -1; left.length < LEFT_FIELDS;) {
    at = line.indexOf(',', at + 1);
    if (at < 0) return undefined;
    left.push(at);
  }
  const right: number[] = [];
  for (let at = line.length; right.length < RIGHT_FIELDS;) {
    at = line.lastIndexOf(',', at - 1);
    if (at < (left[LEFT_FIELDS - 1] ?? 0)) return undefined;
    right.unshift(at);
  }
  const [l0 = 0, l1 = 0, l2 = 0] = left;
  const [c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0] = right;
  const field = (from: number, to?: number) => line.slice(from + 1, to).trim();
  const index = parseUint(line.slice(0, l0).trim());
  const name = field(l2, c0);
  const total = figure(field(c0, c1), 0, MAX_MB);
  let used = figure(field(c1, c2), 0, MAX_MB);
  let free = figure(field(c2, c3), 0, MAX_MB);
  if (index === undefined || index > 65_535 || total === undefined) return undefined;
  if (used === undefined && free !== undefined) used = Math.max(0, total - free);
  if (free === undefined && used !== undefined) free = Math.max(0, total - used);
  if (used === undefined || free === undefined) return undefined;
  const device: GpuDevice = { index, name: name.slice(0, 128), memoryTotalMb: total, memoryUsedMb: used, memoryFreeMb: free };
  const uuid = field(l0, l1);
  const busId = field(l1, l2);
  if (UUID.test(uuid)) device.uuid = uuid;
  if (BUS_ID.test(busId)) device.busId = busId;
  const utilization = figure(field(c3, c4), 0, 100);
  const temperature = figure(field(c4, c5), -273, 1000);
  const power = figure(field(c5), 0, 100_000);
  if (utilization !== undefined) device.utilizationPercent = utilization;
  if (temperature !== undefined) device.temperatureC = temperature;
  if (power !== undefined) device.powerW = power;
  return device;
}

/** VRAM a process holds on one GPU, from nvidia-smi's compute apps. */
export interface GpuProcess {
  pid: number;
  /** The GPU's uuid, as in the `--query-gpu` rows; absent when the tool printed none. */
  gpuUuid?: string;
  mb: number;
}

/**
 * `nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits`: one row per
 * process and GPU. Rows whose memory is `N/A` (MIG, WDDM) are skipped.
 */
export function parseNvidiaApps(text: string): Parsed<GpuProcess[]> {
  const apps: GpuProcess[] = [];
  if (/^No running (compute )?processes found/m.test(text)) return { ok: true, value: apps };
  let rows = 0;
  let understood = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    rows++;
    const [pidText, uuidText, memText, extra] = line.split(',');
    const pid = parsePid((pidText ?? '').trim());
    if (pid === undefined || memText === undefined || extra !== undefined) continue;
    understood++;
    const mb = figure(memText, 0, MAX_MB);
    if (mb === undefined) continue;
    const app: GpuProcess = { pid, mb };
    const uuid = (uuidText ?? '').trim();
    if (UUID.test(uuid)) app.gpuUuid = uuid;
    apps.push(app);
  }
  if (rows > 0 && understood === 0) return { ok: false, error: `nvidia-smi printed ${rows} unrecognised line(s)` };
  return { ok: true, value: apps };
}

const MIB = 1024 * 1024;

/**
 * `rocm-smi --showmeminfo vram --showuse --showtemp --showpower --showproductname --showbus --showuniqueid --json`:
 * `{"card0": {"VRAM Total Memory (B)": "…", "VRAM Total Used Memory (B)": "…", "GPU use (%)": "…", …}, "system": {…}}`.
 * Older releases print warnings before the JSON, so parsing starts at the first brace. Only the VRAM
 * figures are required; the others are taken where the release prints them.
 */
export function parseRocmSmi(text: string): Parsed<GpuDevice[]> {
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
    const model = shortText(values['Card series']) ?? shortText(values['Card model']);
    const device: GpuDevice = {
      index: Number(index),
      name: model ?? card,
      memoryTotalMb: totalMb,
      memoryUsedMb: usedMb,
      memoryFreeMb: totalMb - usedMb,
    };
    const uuid = shortText(values['Unique ID']);
    const busId = shortText(values['PCI Bus']);
    if (uuid !== undefined && UUID.test(uuid)) device.uuid = uuid;
    if (busId !== undefined && BUS_ID.test(busId)) device.busId = busId;
    const utilization = figure(shortText(values['GPU use (%)']), 0, 100);
    const temperature = figure(
      shortText(values['Temperature (Sensor edge) (C)']) ?? shortText(values['Temperature (Sensor junction) (C)']),
      -273,
      1000,
    );
    // Older releases report the average package power, MI300-class ones the current socket power.
    const power = figure(
      shortText(values['Average Graphics Package Power (W)']) ?? shortText(values['Current Socket Graphics Package Power (W)']),
      0,
      100_000,
    );
    if (utilization !== undefined) device.utilizationPercent = utilization;
    if (temperature !== undefined) device.temperatureC = temperature;
    if (power !== undefined) device.powerW = power;
    devices.push(device);
  }
  return devices.length > 0 ? { ok: true, value: devices } : { ok: false, error: 'rocm-smi reported no VRAM figures' };
}

function bytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  return typeof v === 'string' ? parseUint(v.trim()) : undefined;
}

/** A short text field of rocm-smi's JSON; `N/A` and anything long or empty are absent. */
function shortText(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' || t === 'N/A' || t.length > 128 ? undefined : t;
}
