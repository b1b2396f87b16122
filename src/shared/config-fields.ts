// The run config's settable keys as the API hands them to the Runs form, and the one parser of
// an override typed as text (`veripo run|sft|grpo --set a.b=value`, the form's inputs): each
// key's kind comes from the config schema, so "3.5 steps" is refused and "1e-5" is a number.
import { z } from 'zod';

export const CONFIG_FIELD_KINDS = ['integer', 'number', 'boolean', 'enum', 'string', 'json'] as const;
export type ConfigFieldKind = (typeof CONFIG_FIELD_KINDS)[number];

export const ConfigFieldSchema = z.object({
  /** Dotted key, e.g. `grpo.beta`. */
  key: z.string(),
  kind: z.enum(CONFIG_FIELD_KINDS),
  /** The value the preset (or the schema's default) gives it; undefined when neither does. */
  default: z.unknown(),
  /** enum: the allowed values. */
  options: z.array(z.string()).optional(),
  /** `null` is a value the key takes (e.g. "no limit"). */
  nullable: z.boolean(),
});
export type ConfigField = z.infer<typeof ConfigFieldSchema>;

/** One override typed as text, parsed by its key's kind; an error names the key and what it expects. */
export function parseOverride(field: ConfigField, raw: string): { value: unknown } | { error: string } {
  const s = raw.trim();
  if (field.nullable && s === 'null') return { value: null };
  const expected = (what: string) => ({ error: `${field.key}: expected ${what}${field.nullable ? ' or null' : ''}, got "${raw}"` });
  switch (field.kind) {
    case 'integer': {
      const n = Number(s);
      return s !== '' && Number.isInteger(n) ? { value: n } : expected('an integer');
    }
    case 'number': {
      const n = Number(s);
      return s !== '' && Number.isFinite(n) ? { value: n } : expected('a number');
    }
    case 'boolean':
      return s === 'true' || s === 'false' ? { value: s === 'true' } : expected('true or false');
    case 'enum':
      return field.options?.includes(s) ? { value: s } : expected(`one of ${field.options?.join(', ')}`);
    case 'string':
      return { value: raw };
    case 'json':
      try {
        return { value: JSON.parse(s) };
      } catch {
        return expected('JSON (e.g. ["video"] or {"gold": 1})');
      }
  }
}
