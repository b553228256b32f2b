import { CLIENT_SETTINGS, parseCommandLine, settingsHelp, type OptionSpec, type OptionValues } from '../config/config.js';
import { HubClient } from './client.js';
import { UsageError, type Command, type Io } from './command.js';

const JSON_OPTION = { json: { type: 'boolean' } } as const;

/** The end of every API command's --help: how it finds the hub, and what its exit code means. */
export function apiHelp(): string {
  return `
--json prints the hub's answer as JSON, for scripts, instead of a table.
Where the hub is and what key to send (flag, environment variable, meaning):
${settingsHelp(CLIENT_SETTINGS)}

Exit codes: 0 done; 1 the hub answered an error (printed as CODE: message); 2 wrong usage or settings;
3 the hub could not be reached. docs/cli.md describes every command.
`;
}

/**
 * A command that reads the hub's HTTP API (vigil agents, errors, alerts, …): it takes its own `options`,
 * --json, and the client settings (--url, --key, --data-dir), then calls `run` with a connected client.
 */
export function apiCommand<O extends Record<string, OptionSpec>>(spec: {
  name: string;
  usage: string;
  options: O;
  positionals?: number;
  run(hub: HubClient, line: { values: OptionValues<O & typeof JSON_OPTION>; positionals: string[] }, io: Io): Promise<number>;
}): Command {
  return {
    usage: () => spec.usage + apiHelp(),
    async run(argv, io) {
      const line = parseCommandLine(
        argv,
        io.env,
        { command: spec.name, settings: CLIENT_SETTINGS, options: { ...spec.options, ...JSON_OPTION }, positionals: spec.positionals ?? 0 },
        io.cwd,
      );
      return spec.run(HubClient.connect(line.config), line, io);
    },
  };
}

/** --limit N: how many rows one list prints (the hub caps a page at 500). */
export function limitOf(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 500) throw new UsageError('--limit must be an integer from 1 to 500');
  return n;
}

/** A number flag such as --gpu-vram 16: a usage error (exit 2) when it is not a number of at least 0. */
export function amountOf(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`${flag} must be a number of at least 0, not ${JSON.stringify(raw)}`);
  return n;
}
