import { Type } from 'typebox';
import { EpochMs, LlmUsage } from '@vigil/protocol';
import { VigilError } from '../errors.js';
import { llmUsage } from '../store/llm-usage.js';
import type { Routes } from './context.js';
import { REFUSALS } from './responses.js';

const DAY_MS = 86_400_000;
/** Widest range one usage query may span (a month and a day, so "the last month" always fits). */
export const MAX_USAGE_RANGE_MS = 31 * DAY_MS;

/** LLM usage aggregates: calls, tokens, cost, error rate and latency per agent, model or pool. */
export const llmUsageRoutes: Routes = (app, { db, clock }) => {
  app.get(
    '/api/v1/llm/usage',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'LLM calls, tokens, cost, error rate and p50/p95 latency per agent, model or pool over [from, to)',
        tags: ['traces'],
        querystring: Type.Object(
          {
            group_by: Type.Union([Type.Literal('agent'), Type.Literal('model'), Type.Literal('pool')]),
            from: Type.Optional(EpochMs),
            to: Type.Optional(EpochMs),
          },
          { additionalProperties: false },
        ),
        response: { 200: LlmUsage, ...REFUSALS },
      },
    },
    async (req) => {
      const to = req.query.to ?? clock.now() + 1;
      const from = req.query.from ?? to - DAY_MS;
      if (from >= to) throw new VigilError('VIGIL_VALIDATION', 'from must be before to');
      if (to - from > MAX_USAGE_RANGE_MS)
        throw new VigilError('VIGIL_RANGE_TOO_WIDE', `from..to may span at most ${MAX_USAGE_RANGE_MS / DAY_MS} days`);
      return { group_by: req.query.group_by, from, to, groups: await llmUsage(db, req.query.group_by, from, to) };
    },
  );
};
