// <think> and <answer> blocks, and \boxed{…}, found by scanning rather than by one big
// regular expression: completions can be megabytes long, and backtracking patterns over
// them overflow V8's regexp stack.

export interface TagBlock {
  /** offsets of the whole `<tag>…</tag>` in the completion */
  start: number;
  end: number;
  /** offsets of the content between the tags */
  contentStart: number;
  contentEnd: number;
  content: string;
}

export type Tag = 'think' | 'answer';

const TAG_RE = /<(\/?)(think|answer)>/gi;

/** Every opening and closing tag, in order. */
export function tagEvents(completion: string): { tag: Tag; close: boolean; start: number; end: number }[] {
  const out: { tag: Tag; close: boolean; start: number; end: number }[] = [];
  TAG_RE.lastIndex = 0;
  for (let m = TAG_RE.exec(completion); m; m = TAG_RE.exec(completion)) {
    out.push({ tag: m[2].toLowerCase() as Tag, close: m[1] === '/', start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** All complete `<tag>…</tag>` blocks, case-insensitive, each open tag closed by the next closing one. */
export function findBlocks(completion: string, tag: Tag, events = tagEvents(completion)): TagBlock[] {
  const blocks: TagBlock[] = [];
  let open: { start: number; end: number } | null = null;
  for (const e of events) {
    if (e.tag !== tag) continue;
    if (!e.close) {
      if (!open) open = e;
    } else if (open) {
      blocks.push({ start: open.start, end: e.end, contentStart: open.end, contentEnd: e.start, content: completion.slice(open.end, e.start) });
      open = null;
    }
  }
  return blocks;
}

/** Content of the first <think> block, trimmed; null when there is none. */
export function extractThink(completion: string): string | null {
  const b = findBlocks(completion, 'think')[0];
  return b ? b.content.trim() : null;
}

/** Content of the first <answer> block, trimmed (Video-R1's convention); null when none. */
export function extractAnswer(completion: string): string | null {
  const b = findBlocks(completion, 'answer')[0];
  return b ? b.content.trim() : null;
}

/** The contents of every `\boxed{…}` (nested braces kept), in order. */
export function boxedContents(text: string): { content: string; start: number; end: number }[] {
  const out: { content: string; start: number; end: number }[] = [];
  for (let at = text.indexOf('\\boxed'); at >= 0; at = text.indexOf('\\boxed', at + 6)) {
    let i = at + 6;
    while (text[i] === ' ') i++;
    if (text[i] !== '{') continue;
    let depth = 0;
    const open = i;
    for (; i < text.length; i++) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}' && --depth === 0) break;
    }
    if (depth !== 0) continue;
    out.push({ content: text.slice(open + 1, i), start: at, end: i + 1 });
  }
  return out;
}

/** `\text{…}`, `\mathrm{…}` and stray braces dropped: "\text{B}" reads as "B". */
export function stripLatex(text: string): string {
  return text.replace(/\\(?:text|mathrm|textbf|mathbf|operatorname)\s*\{([^{}]*)\}/g, '$1').replace(/[{}$]/g, '');
}

/** Whether the completion is exactly one <think>…</think> then one <answer>…</answer>, whitespace around. */
export function isExactFormat(completion: string): boolean {
  const ev = tagEvents(completion);
  if (ev.length !== 4) return false;
  const [a, b, c, d] = ev;
  if (a.tag !== 'think' || a.close || b.tag !== 'think' || !b.close || c.tag !== 'answer' || c.close || d.tag !== 'answer' || !d.close) return false;
  // exact lower-case tags, only whitespace outside the blocks
  const lower = (e: { start: number; end: number }) => completion.slice(e.start, e.end) === completion.slice(e.start, e.end).toLowerCase();
  if (!ev.every(lower)) return false;
  return !completion.slice(0, a.start).trim() && !completion.slice(b.end, c.start).trim() && !completion.slice(d.end).trim();
}
