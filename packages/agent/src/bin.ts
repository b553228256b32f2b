import { agentMain } from './cli.js';
import { RunUsageError } from './run/args.js';

// The process side of `vigil-agent` (bin/vigil-agent.js loads this): exit 2 for bad usage, 1 for a failure of the
// wrapper itself, otherwise the wrapped command's own exit code.
agentMain(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signals: process,
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vigil-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof RunUsageError ? 2 : 1);
  },
);
