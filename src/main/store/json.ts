// Columns holding JSON documents: parse defensively so one bad row cannot break a listing.
export function parseJsonColumn<T = Record<string, unknown>>(text: string | null | undefined): T | null {
  if (text == null || text === '') return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export function toJsonColumn(value: unknown): string | null {
  return value == null ? null : JSON.stringify(value);
}
