// Events a run emits while it works. The loop produces them, the store persists metrics,
// transports forward them to the renderer (IPC messages / server-sent events).
import { z } from 'zod';

const base = { run_id: z.number().int(), t: z.number() };

export const RunEventSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('progress'), stage: z.string(), iteration: z.number().int(), step: z.number().int(), total: z.number().int(), eta_s: z.number().nullable() }),
  z.object({ ...base, type: z.literal('stage_started'), stage_id: z.number().int(), stage: z.string(), iteration: z.number().int() }),
  z.object({ ...base, type: z.literal('stage_finished'), stage_id: z.number().int(), stage: z.string(), iteration: z.number().int(), wall_s: z.number(), val: z.record(z.string(), z.unknown()).nullable() }),
  z.object({ ...base, type: z.literal('metric'), stage: z.string(), step: z.number().int(), name: z.string(), value: z.number() }),
  z.object({ ...base, type: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']), message: z.string() }),
  z.object({ ...base, type: z.literal('run_finished'), status: z.string(), error: z.string().nullable() }),
]);
export type RunEvent = z.infer<typeof RunEventSchema>;
