import { Type, type Static, type TSchema } from 'typebox';

/**
 * GPU vendors the collector recognises. The hub accepts any short lowercase word (`apple`, `qualcomm`,
 * …) because the resources dict is open-ended (docs/seed-requirements.md); these are only the names Vigil itself sends.
 */
export const GPU_TYPES = ['nvidia', 'amd', 'intel', 'apple', 'none'] as const;
export const GpuType = Type.String({
  minLength: 1,
  maxLength: 32,
  pattern: '^[a-z][a-z0-9_-]{0,31}$',
  description: 'GPU vendor of the host: nvidia, amd, intel, apple, none, or another short lowercase word',
});
export type GpuType = string;

const percent = Type.Number({ minimum: 0, maximum: 100 });
const gigabytes = Type.Number({ minimum: 0, maximum: 1_000_000 });
const cores = Type.Number({ minimum: 0, maximum: 100_000 });
const load = Type.Number({ minimum: 0, maximum: 1_000_000 });

/** Most GPUs one heartbeat may describe. */
export const MAX_GPUS = 64;

/** One GPU as its vendor's tool reports it; figures the tool does not give are absent. */
export const GpuDevice = Type.Object(
  {
    index: Type.Integer({ minimum: 0, maximum: 65_535, description: "The tool's device index" }),
    uuid: Type.Optional(
      Type.String({ minLength: 1, maxLength: 96, description: 'Stable device id (nvidia-smi `uuid`, rocm-smi `Unique ID`)' }),
    ),
    bus_id: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'PCI bus id' })),
    name: Type.Optional(Type.String({ maxLength: 128, description: 'Model' })),
    vram_total_gb: gigabytes,
    vram_used_gb: gigabytes,
    vram_free_gb: gigabytes,
    utilization_percent: Type.Optional(percent),
    temperature_c: Type.Optional(Type.Number({ minimum: -273, maximum: 1000 })),
    power_w: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000 })),
    process_vram_gb: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1_000_000, description: "VRAM the agent's own processes hold on this GPU" }),
    ),
  },
  { additionalProperties: false },
);
export type GpuDevice = Static<typeof GpuDevice>;

/** Most fields a resource dict may hold, known and unknown together (per heartbeat and as stored). */
export const MAX_RESOURCE_FIELDS = 48;
/** Longest name and longest text value of a field the hub does not know. */
export const MAX_EXTRA_NAME = 64;
export const MAX_EXTRA_TEXT = 256;
/** Names a field the hub does not know may have: snake_case, so it cannot collide with the hub's own keys. */
export const EXTRA_FIELD_NAME = `^[a-z][a-z0-9_]{0,${MAX_EXTRA_NAME - 1}}$`;

/**
 * An agent's latest resources as the hub keeps them: the base resources dict (docs/seed-requirements.md), field for field, plus the
 * per-GPU figures. Every field is optional because a value that was never measured (the first CPU
 * sample, a host without a GPU tool) is absent, not 0. Fields the hub does not know are kept beside
 * these (see `ResourceReport`).
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
    /** Sums over the GPUs, kept for clients of the base dict; `gpus` has each one. */
    gpu_vram_total_gb: Type.Optional(gigabytes),
    gpu_vram_available_gb: Type.Optional(gigabytes),
    gpu_type: Type.Optional(GpuType),
    gpus: Type.Optional(Type.Array(GpuDevice, { maxItems: MAX_GPUS })),
    /** VRAM held by the agent's own processes, over all GPUs. */
    gpu_process_vram_gb: Type.Optional(gigabytes),
    /** Network bytes per second received and sent by the host (its network namespace), loopback left out. */
    net_rx_bps: Type.Optional(Type.Number({ minimum: 0, maximum: 1e15 })),
    net_tx_bps: Type.Optional(Type.Number({ minimum: 0, maximum: 1e15 })),
  },
  { additionalProperties: true },
);
type KnownResources = Static<typeof Resources>;
export type Resources = KnownResources & { [extra: string]: unknown };

/** A heartbeat's `resources`: a change to the agent's latest resources (see `ResourceReport`). */
export type ResourceReport = { [K in keyof KnownResources]?: KnownResources[K] | null } & { [extra: string]: unknown };

/** Names of the resource fields the hub knows. */
export const KNOWN_RESOURCE_FIELDS = Object.keys(Resources.properties) as (keyof KnownResources)[];

/**
 * The `resources` of a heartbeat. A field left out keeps the agent's last value; `null` clears it.
 * Fields the hub does not know are kept too (numbers, booleans, texts up to 256 characters) under
 * snake_case names, within `MAX_RESOURCE_FIELDS` fields in all.
 */
export const ResourceReport = Type.Unsafe<ResourceReport>(
  Type.Object(
    Object.fromEntries(
      // The spread copies the field's schema without its (non-enumerable) optional marker.
      Object.entries(Resources.properties).map(([k, s]) => [k, Type.Optional(Type.Union([{ ...s } as TSchema, Type.Null()]))]),
    ),
    {
      additionalProperties: Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: MAX_EXTRA_TEXT }), Type.Null()]),
      maxProperties: MAX_RESOURCE_FIELDS,
      propertyNames: { pattern: EXTRA_FIELD_NAME, maxLength: MAX_EXTRA_NAME },
    },
  ),
);

/** The monitoring API's per-agent figures (docs/seed-requirements.md): the agent process's own usage and work counters. */
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
