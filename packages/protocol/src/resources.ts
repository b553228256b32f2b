import { Type, type Static } from 'typebox';

export const GPU_TYPES = ['nvidia', 'amd', 'intel', 'none'] as const;
export const GpuType = Type.Enum(GPU_TYPES, { description: 'GPU vendor of the host' });
export type GpuType = (typeof GPU_TYPES)[number];

const percent = Type.Number({ minimum: 0, maximum: 100 });
const gigabytes = Type.Number({ minimum: 0, maximum: 1_000_000 });
const cores = Type.Number({ minimum: 0, maximum: 100_000 });
const load = Type.Number({ minimum: 0, maximum: 1_000_000 });

/**
 * The seed 001 heartbeat `resources` dict, field for field. Every field is optional because a
 * value that was not measured (the first CPU sample, a host without a GPU tool) is absent, not 0.
 */
export const Resources = Type.Object(
  {
    cpu_percent: Type.Optional(percent),
    cpu_cores_physical: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    cpu_cores_available: Type.Optional(cores),
    cpu_load_1min: Type.Optional(load),
    cpu_load_5min: Type.Optional(load),
    memory_percent: Type.Optional(percent),
    memory_available_gb: Type.Optional(gigabytes),
    gpu_vram_total_gb: Type.Optional(gigabytes),
    gpu_vram_available_gb: Type.Optional(gigabytes),
    gpu_type: Type.Optional(GpuType),
  },
  { additionalProperties: false },
);
export type Resources = Static<typeof Resources>;

/** The seed 002 per-agent figures: the agent process's own usage and work counters. */
export const AgentProcessMetrics = Type.Object(
  {
    memory_mb: Type.Optional(Type.Number({ minimum: 0, maximum: 1e9 })),
    message_count: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    cpu_percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000 })),
    io_read_bps: Type.Optional(Type.Number({ minimum: 0, maximum: 1e15 })),
    io_write_bps: Type.Optional(Type.Number({ minimum: 0, maximum: 1e15 })),
  },
  { additionalProperties: false },
);
export type AgentProcessMetrics = Static<typeof AgentProcessMetrics>;
