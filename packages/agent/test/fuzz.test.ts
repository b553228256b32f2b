import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  locateCgroup,
  parseCfsQuota,
  parseCgroupMounts,
  parseCpuMax,
  parseMemoryLimit,
  parseProcCgroup,
  tightest,
} from '../src/collector/cgroup-parse.js';
import { parseNvidiaApps, parseNvidiaGpus, parseRocmSmi } from '../src/collector/gpu-parse.js';
import { Collector, toProcessMetrics, toResources } from '../src/collector/index.js';
import {
  keyedValue,
  parseAuxvPageSize,
  parseCpuinfoCores,
  parseInNestedPidNamespace,
  parseLoadavg,
  parseMeminfo,
  parsePid,
  parsePidIo,
  parsePidStat,
  parseProcStat,
} from '../src/collector/proc-parse.js';
import { FakeHost, fixture } from './support/fake-host.js';

/** docs/reliability.md P4: every number anywhere in a parser's result is finite. */
function assertFinite(value: unknown, path = 'result'): void {
  if (typeof value === 'number') assert.ok(Number.isFinite(value), `${path} is ${value}`);
  else if (value instanceof Map) assertFinite([...value], path);
  else if (Array.isArray(value)) value.forEach((v, i) => assertFinite(v, `${path}[${i}]`));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) assertFinite(v, `${path}.${k}`);
}

const NASTY = [
  '',
  '-1',
  '-0',
  '0',
  'max',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e400',
  '0x1f',
  '9'.repeat(400),
  '18446744073709551616',
  '9223372036854771712',
  '1.5',
  ' ',
  '\n',
  ':',
  ',',
  '(',
  ')',
  '[N/A]',
  '[Not Supported]',
  'N/A',
  '\u0000',
  'é',
  '💥',
];

/** A recorded file mutated the way files go wrong: cut short, a token replaced by a nasty one, bytes inserted. */
const mutated = (recorded: string) =>
  fc
    .array(
      fc.oneof(
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('token' as const), at: fc.nat(), by: fc.constantFrom(...NASTY) }),
        fc.record({
          kind: fc.constant('insert' as const),
          at: fc.nat(),
          by: fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 8 })),
        }),
      ),
      { maxLength: 4 },
    )
    .map((ops) => {
      let text = recorded;
      for (const op of ops) {
        const at = text.length === 0 ? 0 : op.at % text.length;
        if (op.kind === 'truncate') text = text.slice(0, at);
        else if (op.kind === 'insert') text = text.slice(0, at) + op.by + text.slice(at);
        else {
          const tokens = text.split(/(\s+|,)/);
          const i = tokens.length === 0 ? 0 : op.at % tokens.length;
          tokens[i] = op.by;
          text = tokens.join('');
        }
      }
      return text;
    });

const anyText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom(...NASTY));
const inputs = (recorded: string) => fc.oneof({ weight: 3, arbitrary: mutated(recorded) }, { weight: 1, arbitrary: anyText });

const figure = fc.oneof(fc.constantFrom(...NASTY), fc.integer().map(String), fc.double().map(String), fc.nat().map(String));
const nvidiaCsv = fc
  .array(fc.tuple(figure, figure, figure, fc.string({ unit: 'grapheme', maxLength: 30 }), figure, figure, figure, figure, figure, figure), {
    maxLength: 16,
  })
  .map((rows) => rows.map((r) => r.join(', ')).join('\n'));

// 24 properties of 5,000 cases each: 120,000 fuzzed inputs (P4 asks for 100,000) in a few seconds.
const run = <T extends unknown[]>(p: fc.IProperty<T>): void => fc.assert(p, { numRuns: 5000 });

describe('P4: parsers on fuzzed input never throw and never return NaN or Infinity', () => {
  const unary: [string, (t: string) => unknown, string][] = [
    ['/proc/stat', parseProcStat, fixture('proc/stat.txt')],
    ['/proc/meminfo', parseMeminfo, fixture('proc/meminfo.txt')],
    ['/proc/loadavg', parseLoadavg, fixture('proc/loadavg.txt')],
    ['/proc/cpuinfo', parseCpuinfoCores, fixture('proc/cpuinfo.txt')],
    ['/proc/<pid>/stat', parsePidStat, fixture('proc/pid-stat.txt')],
    ['/proc/<pid>/io', parsePidIo, fixture('proc/pid-io.txt')],
    ['/proc/<pid>/status NSpid', parseInNestedPidNamespace, fixture('proc/pid-status.txt')],
    ['PIDs', parsePid, '4242'],
    ['memory.stat keys', (t) => keyedValue(t, 'total_inactive_file'), fixture('hybrid/memory.stat.txt')],
    ['cpu.stat keys', (t) => keyedValue(t, 'usage_usec'), fixture('v2-container/cpu.stat')],
    ['/proc/self/cgroup', parseProcCgroup, fixture('v1-docker/self-cgroup.txt')],
    ['mountinfo', parseCgroupMounts, fixture('v1-docker/mountinfo.txt')],
    ['cpu.max', parseCpuMax, '150000 100000\n'],
    ['memory.max and limit_in_bytes', parseMemoryLimit, '9223372036854771712\n'],
    ['nvidia-smi --query-gpu', parseNvidiaGpus, fixture('gpu/nvidia-8.csv')],
    ['nvidia-smi with odd rows', parseNvidiaGpus, fixture('gpu/nvidia-odd.csv')],
    ['nvidia-smi --query-compute-apps', parseNvidiaApps, fixture('gpu/nvidia-apps.csv')],
    ['rocm-smi JSON', parseRocmSmi, fixture('gpu/rocm-vram.txt')],
    ['rocm-smi JSON with every figure', parseRocmSmi, fixture('gpu/rocm-2.json')],
  ];
  for (const [name, parse, recorded] of unary) {
    test(name, () => run(fc.property(inputs(recorded), (text) => assertFinite(parse(text)))));
  }

  test('nvidia-smi CSV built from N/A, negative, huge and unicode fields', () => {
    run(
      fc.property(nvidiaCsv, (csv) => {
        const r = parseNvidiaGpus(csv);
        assertFinite(r);
        if (r.ok) for (const d of r.value) assert.ok(d.memoryTotalMb >= 0 && d.memoryUsedMb >= 0 && d.memoryFreeMb >= 0);
      }),
    );
  });

  test('v1 cfs quota and period, locating a cgroup, the tightest limit', () => {
    run(fc.property(inputs('200000\n'), inputs('100000\n'), (q, p) => assertFinite(parseCfsQuota(q, p))));
    run(
      fc.property(inputs(fixture('hybrid/self-cgroup.txt')), inputs(fixture('hybrid/mountinfo.txt')), (cg, mi) =>
        assertFinite(locateCgroup(cg, mi)),
      ),
    );
    run(
      fc.property(
        fc.array(fc.oneof(fc.constant('max' as const), fc.constant(undefined), fc.double({ min: 0, noNaN: true, max: 1e300 }))),
        (ls) => assertFinite(tightest(ls)),
      ),
    );
  });

  test('auxv of any bytes', () => {
    run(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.constantFrom(4 as const, 8 as const), fc.boolean(), (b, w, le) =>
        assertFinite(parseAuxvPageSize(b, w, le)),
      ),
    );
  });
});

describe('P4: the Collector on fuzzed kernel files', () => {
  const h = FakeHost.of('v2-container');
  after(() => h.dispose());

  test('samples and heartbeat figures stay finite and within the protocol ranges', async () => {
    const files = fc.record({
      stat: inputs(fixture('proc/stat.txt')),
      meminfo: inputs(fixture('proc/meminfo.txt')),
      loadavg: inputs(fixture('proc/loadavg.txt')),
      cpuMax: inputs('150000 100000\n'),
      cpuStat: inputs(fixture('v2-container/cpu.stat')),
      memoryMax: inputs('536870912\n'),
      memoryCurrent: inputs('314572800\n'),
      memoryStat: inputs(fixture('v2-container/memory.stat')),
      pidStat: inputs(fixture('proc/pid-stat.txt').replace(/^\d+/, '4242')),
      pidIo: inputs(fixture('proc/pid-io.txt')),
    });
    await fc.assert(
      fc.asyncProperty(files, files, async (a, b) => {
        let t = 1000;
        const write = (f: typeof a): void => {
          h.write('proc/stat', f.stat);
          h.write('proc/meminfo', f.meminfo);
          h.write('proc/loadavg', f.loadavg);
          h.write('sys/fs/cgroup/cpu.max', f.cpuMax);
          h.write('sys/fs/cgroup/cpu.stat', f.cpuStat);
          h.write('sys/fs/cgroup/memory.max', f.memoryMax);
          h.write('sys/fs/cgroup/memory.current', f.memoryCurrent);
          h.write('sys/fs/cgroup/memory.stat', f.memoryStat);
          h.write('proc/4242/stat', f.pidStat);
          h.write('proc/4242/io', f.pidIo);
        };
        write(a);
        const c = new Collector({ rootDir: h.root, pid: 4242, gpu: false, now: () => t });
        try {
          for (const f of [a, b]) {
            write(f);
            t += 1000;
            const s = await c.sample();
            assertFinite(s);
            const r = toResources(s);
            const m = toProcessMetrics(s);
            assertFinite(r);
            assertFinite(m);
            for (const v of Object.values(r)) if (typeof v === 'number') assert.ok(v >= 0, JSON.stringify(r));
            for (const v of Object.values(m)) assert.ok(v >= 0, JSON.stringify(m));
            for (const p of [r.cpu_percent, r.memory_percent]) assert.ok(p === undefined || (p !== null && p <= 100), JSON.stringify(r));
            assert.ok(r.cpu_load_1min === undefined || (r.cpu_load_1min !== null && r.cpu_load_1min < 1e6));
          }
        } finally {
          c.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
