import { parseCommandLine, settingsHelp, STORE_SETTINGS } from '../config/config.js';
import { UsageError, type Command } from './command.js';

export const command: Command = {
  usage: () => `vigil keys create --agent ID [--name TEXT] [options]
                                   Create a key that writes only agent ID's data
vigil keys create --pool NAME [--name TEXT] [options]
                                   Create a key that registers and writes agents in pool NAME
vigil keys list [options]          List keys (never their secrets)
vigil keys revoke KEY_ID|PREFIX [options]
                                   Revoke a key; it stops working within a second

A key is shown once, when it is created; the hub keeps only its SHA-256.

Options (flag, environment variable, meaning), to find the database:
${settingsHelp(STORE_SETTINGS)}
`,
  async run(argv, io) {
    const { values, positionals, config } = parseCommandLine(
      argv,
      io.env,
      {
        command: 'keys',
        settings: STORE_SETTINGS,
        options: { agent: { type: 'string' }, pool: { type: 'string' }, name: { type: 'string' } },
        positionals: 2,
      },
      io.cwd,
    );
    const [sub, id] = positionals;
    if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
      throw new UsageError(`unknown keys command ${JSON.stringify(sub ?? '')}: use create, list or revoke`);
    }
    if (sub === 'create' && (values.agent === undefined) === (values.pool === undefined)) {
      throw new UsageError('keys create needs exactly one of --agent ID or --pool NAME');
    }
    if (sub === 'revoke' && id === undefined) throw new UsageError('keys revoke needs a key id or prefix');
    const { openStore } = await import('../store/open.js');
    const { createApiKey, revokeApiKey } = await import('../auth/key-admin.js');
    const { listKeys } = await import('../store/keys.js');
    const { db } = await openStore(config.db, { sqliteSynchronous: config.sqliteSynchronous, now: Date.now() });
    try {
      if (sub === 'create') {
        const scope = values.agent !== undefined ? 'agent' : 'pool';
        const { key, info } = await createApiKey(db, scope, (values.agent ?? values.pool) as string, values.name ?? null, Date.now());
        io.stdout.write(
          `Created ${scope} key ${info.key_id} for ${scope} ${JSON.stringify(info.scope_value)}.\n` +
            `This is the only time the key is shown; store it now:\n\n${key}\n\n`,
        );
        return 0;
      }
      if (sub === 'list') {
        const all = await listKeys(db);
        if (all.length === 0) io.stdout.write('no keys\n');
        for (const k of all) {
          const state = k.revoked_at ? `revoked ${new Date(k.revoked_at).toISOString()}` : 'active';
          io.stdout.write(`${k.key_id}  ${k.prefix}…  ${k.scope}=${k.scope_value}  ${state}  ${k.name ?? ''}\n`);
        }
        return 0;
      }
      const key = await revokeApiKey(db, id as string, Date.now());
      if (!key) {
        io.stderr.write(`no key ${JSON.stringify(id)}\n`);
        return 1;
      }
      io.stdout.write(`revoked ${key.key_id} (${key.prefix}…)\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};
