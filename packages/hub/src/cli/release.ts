import { apiCommand } from './api-command.js';
import { claimFields, type ClaimView } from './claims.js';
import { UsageError } from './command.js';

export const command = apiCommand({
  name: 'release',
  usage: `vigil release CLAIM_ID [--json] [options]: end a capacity claim now

Calls POST /api/v1/capacity/claims/CLAIM_ID/release and prints the claim. Releasing a claim that has
already ended prints it as it is; an unknown id exits 1 with VIGIL_CLAIM_NOT_FOUND.
`,
  options: {},
  positionals: 1,
  async run(hub, { values, positionals }, io) {
    const id = positionals[0];
    if (id === undefined) throw new UsageError('release needs a claim id (vigil claims lists them)');
    const claim = await hub.request<ClaimView>('POST', `/api/v1/capacity/claims/${encodeURIComponent(id)}/release`);
    io.stdout.write(values.json ? `${JSON.stringify(claim, null, 2)}\n` : claimFields(claim, Date.now()));
    return 0;
  },
});
