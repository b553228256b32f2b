import { Type } from 'typebox';
import { AgentId, CreatedApiKey, KeyAnswer, KeysAnswer } from '@vigil/protocol';
import { createApiKey, revokeApiKey } from '../auth/key-admin.js';
import { VigilError } from '../errors.js';
import { listKeys } from '../store/keys.js';
import type { Routes } from './context.js';
import { REFUSALS } from './responses.js';
import { keyView } from './views.js';

const PoolName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' });

const CreateKey = Type.Object(
  {
    agent_id: Type.Optional(AgentId),
    pool_name: Type.Optional(PoolName),
    name: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** Agent and pool keys, managed by the admin. A key's secret is shown once, in the creation answer. */
export const keyRoutes: Routes = (app, { db, auth, clock }) => {
  app.post(
    '/api/v1/keys',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Create an agent key or a pool key',
        tags: ['keys'],
        body: CreateKey,
        response: { 201: CreatedApiKey, ...REFUSALS },
      },
    },
    async (req, reply) => {
      const { agent_id, pool_name, name } = req.body;
      if ((agent_id === undefined) === (pool_name === undefined)) {
        throw new VigilError('VIGIL_VALIDATION', 'Give exactly one of agent_id (an agent key) or pool_name (a pool key)');
      }
      const { key, info } = await createApiKey(
        db,
        agent_id !== undefined ? 'agent' : 'pool',
        (agent_id ?? pool_name) as string,
        name ?? null,
        clock.now(),
      );
      return reply.status(201).send({ key, ...keyView(info) });
    },
  );

  app.get(
    '/api/v1/keys',
    {
      config: { access: 'admin' },
      schema: { summary: 'List keys (never their secrets)', tags: ['keys'], response: { 200: KeysAnswer, ...REFUSALS } },
    },
    async () => ({ keys: (await listKeys(db)).map(keyView) }),
  );

  app.delete(
    '/api/v1/keys/:keyId',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Revoke a key by id or printed prefix',
        tags: ['keys'],
        params: Type.Object({ keyId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) }),
        response: { 200: KeyAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const key = await revokeApiKey(db, req.params.keyId, clock.now());
      if (!key) throw new VigilError('VIGIL_KEY_NOT_FOUND');
      auth.forget();
      return { key: keyView(key) };
    },
  );
};
