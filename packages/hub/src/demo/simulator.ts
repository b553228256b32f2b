import type { AgentError, AgentEvent, Heartbeat, RegisterAgent } from '@vigil/protocol';

/** What one simulated agent is: its identity and the machine it pretends to run on. */
interface Template {
  name: string;
  type: string;
  pool: string;
  capabilities: string[];
  cores: number;
  memoryGb: number;
  gpu?: { type: 'nvidia' | 'amd'; vramGb: number };
  /** Typical process CPU %, which the simulated load wanders around. */
  cpuBase: number;
  memoryMb: number;
}

const TEMPLATES: Template[] = [
  { name: 'claude-code-alice', type: 'coding-agent', pool: 'laptops', capabilities: ['git', 'shell'], cores: 10, memoryGb: 32, cpuBase: 18, memoryMb: 420 },
  { name: 'summariser', type: 'llm-worker', pool: 'gpu', capabilities: ['cuda', 'summarise'], cores: 16, memoryGb: 64, gpu: { type: 'nvidia', vramGb: 24 }, cpuBase: 45, memoryMb: 2900 },
  { name: 'trainer-a100', type: 'trainer', pool: 'gpu', capabilities: ['cuda', 'fp16'], cores: 32, memoryGb: 256, gpu: { type: 'nvidia', vramGb: 80 }, cpuBase: 70, memoryMb: 18_000 },
  { name: 'desktop-agent-mac', type: 'desktop-agent', pool: 'laptops', capabilities: ['browser', 'screen'], cores: 8, memoryGb: 16, cpuBase: 12, memoryMb: 650 },
  { name: 'embedder-rocm', type: 'llm-worker', pool: 'gpu', capabilities: ['rocm', 'embed'], cores: 24, memoryGb: 128, gpu: { type: 'amd', vramGb: 48 }, cpuBase: 35, memoryMb: 5200 },
  { name: 'crawler', type: 'worker', pool: 'cpu', capabilities: ['http'], cores: 4, memoryGb: 8, cpuBase: 25, memoryMb: 300 },
  { name: 'reviewer', type: 'coding-agent', pool: 'cpu', capabilities: ['git', 'review'], cores: 8, memoryGb: 16, cpuBase: 20, memoryMb: 800 },
  { name: 'planner', type: 'llm-worker', pool: 'gpu', capabilities: ['cuda'], cores: 16, memoryGb: 64, gpu: { type: 'nvidia', vramGb: 24 }, cpuBase: 30, memoryMb: 2100 },
]; // prettier-ignore

const FAILURES: { type: string; message: () => string; frame: string; gpuOnly?: boolean }[] = [
  { type: 'TimeoutError', message: () => `model call timed out after ${30_000} ms`, frame: 'callModel (worker.js:88:11)' },
  { type: 'RateLimitError', message: () => '429 Too Many Requests from the model provider', frame: 'request (client.js:212:9)' },
  {
    type: 'OutOfMemoryError',
    message: () => 'GPU out of memory: tried to allocate 2.00 GiB',
    frame: 'forward (model.py:301)',
    gpuOnly: true,
  },
  { type: 'ToolError', message: () => 'git push was rejected: the branch moved', frame: 'runTool (tools.js:57:5)' },
];

const NOTES = ['picked up a job', 'finished a job', 'context window trimmed', 'checkpoint saved', 'cache warmed'];

export interface SimAgent {
  id: string;
  template: Template;
  cpu: number;
  memoryMb: number;
  vramUsedGb: number;
  messages: number;
  /** Restarting: offline until this time (ms), then it registers again. */
  downUntil: number | null;
  nextBeatAt: number;
}

/** One call the simulator wants made, through the hub's real API. */
export type SimAction =
  | { kind: 'register'; agentId: string; body: RegisterAgent }
  | { kind: 'heartbeat'; agentId: string; body: Heartbeat }
  | { kind: 'event'; agentId: string; body: AgentEvent }
  | { kind: 'error'; agentId: string; body: AgentError };

/** How often demo agents report; short, so the charts fill within minutes. */
export const DEMO_HEARTBEAT_S = 2;

/** `count` agents built from the templates (numbered once the list repeats). */
export function createFleet(count: number, now: number, random: () => number): SimAgent[] {
  return Array.from({ length: count }, (_, i) => {
    const template = TEMPLATES[i % TEMPLATES.length] as Template;
    const round = Math.floor(i / TEMPLATES.length);
    const id = `demo-${template.name}${round > 0 || ['summariser', 'crawler'].includes(template.name) ? `-${round + 1}` : ''}`;
    return {
      id,
      template,
      cpu: template.cpuBase,
      memoryMb: template.memoryMb,
      vramUsedGb: template.gpu ? template.gpu.vramGb * (0.2 + 0.5 * random()) : 0,
      messages: Math.floor(random() * 200),
      downUntil: null,
      nextBeatAt: now + random() * DEMO_HEARTBEAT_S * 1000,
    };
  });
}

export function registration(a: SimAgent): SimAction {
  const t = a.template;
  return {
    kind: 'register',
    agentId: a.id,
    body: {
      agent_id: a.id,
      name: t.name,
      agent_type: t.type,
      pool_name: t.pool,
      capabilities: t.capabilities,
      metadata: { simulated: true, region: t.pool === 'laptops' ? 'office' : 'eu-west', version: '1.4.2' },
      heartbeat_interval_s: DEMO_HEARTBEAT_S,
    },
  };
}

/**
 * What one agent does at time `now`: nothing until its next heartbeat; then a heartbeat with its
 * wandering load, and now and then an event, an error, or a restart (stop, a few seconds offline,
 * register again). Pure given `random`, so a test can drive it.
 */
export function step(a: SimAgent, now: number, random: () => number): SimAction[] {
  if (a.downUntil !== null) {
    if (now < a.downUntil) return [];
    a.downUntil = null;
    a.nextBeatAt = now + DEMO_HEARTBEAT_S * 1000;
    return [
      registration(a),
      {
        kind: 'event',
        agentId: a.id,
        body: { event_type: 'started', message: 'restarted', metadata: { pid: 1000 + Math.floor(random() * 60_000) } },
      },
    ];
  }
  if (now < a.nextBeatAt) return [];
  a.nextBeatAt = now + DEMO_HEARTBEAT_S * 1000 * (0.9 + 0.2 * random());

  const t = a.template;
  // A random walk pulled back towards the template's typical load, with the odd spike.
  a.cpu = clamp(a.cpu + (t.cpuBase - a.cpu) * 0.15 + (random() - 0.5) * 14 + (random() < 0.03 ? 40 : 0), 0.5, 100);
  a.memoryMb = clamp(a.memoryMb + (t.memoryMb - a.memoryMb) * 0.1 + (random() - 0.5) * t.memoryMb * 0.04, 50, t.memoryGb * 1024);
  a.messages += Math.floor(random() * 4);
  const actions: SimAction[] = [];
  const gpu = t.gpu;
  if (gpu) a.vramUsedGb = clamp(a.vramUsedGb + (random() - 0.5) * gpu.vramGb * 0.06, gpu.vramGb * 0.05, gpu.vramGb * 0.98);
  const hostCpu = clamp(a.cpu / 2 + 10 + random() * 10, 0, 100);
  actions.push({
    kind: 'heartbeat',
    agentId: a.id,
    body: {
      status: a.cpu > 80 ? 'busy' : 'online',
      resources: {
        cpu_percent: round(hostCpu),
        cpu_cores_physical: t.cores,
        cpu_cores_available: round(t.cores * (1 - hostCpu / 100)),
        cpu_load_1min: round((t.cores * hostCpu) / 100),
        memory_percent: round(clamp(30 + (a.memoryMb / (t.memoryGb * 1024)) * 100, 0, 100)),
        memory_available_gb: round(Math.max(0, t.memoryGb * 0.6 - a.memoryMb / 1024)),
        gpu_type: gpu ? gpu.type : 'none',
        ...(gpu
          ? {
              gpu_vram_total_gb: gpu.vramGb,
              gpu_vram_available_gb: round(gpu.vramGb - a.vramUsedGb),
              gpu_process_vram_gb: round(a.vramUsedGb),
              gpus: [
                {
                  index: 0,
                  name: gpu.type === 'nvidia' ? `NVIDIA ${gpu.vramGb} GB (simulated)` : `AMD Instinct ${gpu.vramGb} GB (simulated)`,
                  vram_total_gb: gpu.vramGb,
                  vram_used_gb: round(a.vramUsedGb),
                  vram_free_gb: round(gpu.vramGb - a.vramUsedGb),
                  process_vram_gb: round(a.vramUsedGb),
                  utilization_percent: round(clamp(a.cpu * 0.9, 0, 100)),
                  temperature_c: round(35 + a.cpu * 0.4),
                },
              ],
            }
          : {}),
      },
      metrics: {
        cpu_percent: round(a.cpu),
        memory_mb: Math.round(a.memoryMb),
        message_count: a.messages,
        io_read_bps: Math.round(random() * 4_000_000),
        io_write_bps: Math.round(random() * 1_500_000),
      },
    },
  });

  const roll = random();
  if (roll < 0.04) {
    const possible = FAILURES.filter((f) => gpu || !f.gpuOnly);
    const f = possible[Math.floor(random() * possible.length)] as (typeof FAILURES)[number];
    actions.push({
      kind: 'error',
      agentId: a.id,
      body: {
        error_type: f.type,
        message: f.message(),
        stack_trace: `${f.type}: ${f.message()}\n    at ${f.frame}\n    at main (agent.js:12:3)`,
      },
    });
  } else if (roll < 0.1) {
    actions.push({ kind: 'event', agentId: a.id, body: { event_type: 'info', message: NOTES[Math.floor(random() * NOTES.length)] } });
  } else if (roll < 0.115) {
    actions.push({
      kind: 'event',
      agentId: a.id,
      body: { event_type: 'warning', message: 'queue is backing up', metadata: { depth: 40 + Math.floor(random() * 200) } },
    });
  } else if (roll < 0.122) {
    // A restart: a planned stop (offline at once), then back after 6-15 s.
    actions.push({
      kind: 'event',
      agentId: a.id,
      body: { event_type: 'stopped', message: 'restarting for an update', metadata: { exit_code: 0 } },
    });
    a.downUntil = now + 6000 + random() * 9000;
  } else if (roll < 0.124) {
    // A crash, as `vigil run` reports one: the exception, then the crash; back after 6-15 s.
    const exception = 'MemoryError: cannot allocate tensor';
    actions.push({
      kind: 'error',
      agentId: a.id,
      body: {
        error_type: 'MemoryError',
        message: 'cannot allocate tensor',
        stack_trace: `Traceback (most recent call last):\n  File "worker.py", line 88, in step\n    batch = model(x)\n${exception}`,
      },
    });
    actions.push({
      kind: 'event',
      agentId: a.id,
      body: {
        event_type: 'crashed',
        message: `python worker.py crashed: ${exception}`,
        metadata: { exit_code: 1, phase: 'run', exception },
      },
    });
    a.downUntil = now + 6000 + random() * 9000;
  }
  return actions;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number) => Math.round(v * 10) / 10;
