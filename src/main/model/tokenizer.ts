// Word-level tokenizer for the benchmark's closed vocabulary (src/main/video/words.ts).
// Benchmark text is whitespace-separated words ("frame 1 : red circle at 2 4 .") with the
// four CoT tags possibly glued to words ("</think><answer>B</answer>"), so encoding is:
// split the tags off, split on whitespace, look each word up. Spacing is not stored:
// `decode` joins with single spaces except where the completion format glues tags
// (`</think><answer>X</answer>`), so decode(encode(text)) === text for benchmark text.

export const PAD = '<pad>';
export const EOS = '<eos>';
export const BOS = '<bos>';
export const UNK = '<unk>';
export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';
export const ANSWER_OPEN = '<answer>';
export const ANSWER_CLOSE = '</answer>';
export const SPECIAL_TOKENS = [PAD, EOS, BOS, UNK, THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE] as const;
export const OPTION_LETTERS = ['A', 'B', 'C', 'D', 'E'] as const;

const TAG = /<\/?(?:think|answer)>/g;

export interface TokenizerJSON {
  kind: 'veripo-word-tokenizer';
  version: 1;
  tokens: string[];
}

export class Tokenizer {
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;
  readonly padId: number;
  readonly eosId: number;
  readonly bosId: number;
  readonly unkId: number;

  constructor(tokens: readonly string[]) {
    this.tokens = tokens;
    this.ids = new Map(tokens.map((t, i) => [t, i]));
    if (this.ids.size !== tokens.length) throw new Error('tokenizer: duplicate tokens in vocabulary');
    const need = (t: string) => {
      const id = this.ids.get(t);
      if (id === undefined) throw new Error(`tokenizer: vocabulary lacks special token ${JSON.stringify(t)}`);
      return id;
    };
    for (const t of SPECIAL_TOKENS) need(t);
    this.padId = need(PAD);
    this.eosId = need(EOS);
    this.bosId = need(BOS);
    this.unkId = need(UNK);
  }

  /** Special tokens, option letters, then every distinct word of the list (whitespace-split). */
  static fromWords(words: Iterable<string>): Tokenizer {
    const tokens: string[] = [...SPECIAL_TOKENS, ...OPTION_LETTERS];
    const seen = new Set(tokens);
    for (const entry of words) {
      for (const w of splitPieces(entry)) {
        if (!seen.has(w)) {
          seen.add(w);
          tokens.push(w);
        }
      }
    }
    return new Tokenizer(tokens);
  }

  static fromJSON(json: TokenizerJSON): Tokenizer {
    if (json?.kind !== 'veripo-word-tokenizer' || json.version !== 1 || !Array.isArray(json.tokens)) {
      throw new Error('tokenizer.json: not a veripo-word-tokenizer version 1 document');
    }
    return new Tokenizer(json.tokens);
  }

  toJSON(): TokenizerJSON {
    return { kind: 'veripo-word-tokenizer', version: 1, tokens: [...this.tokens] };
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number {
    const id = this.ids.get(token);
    if (id === undefined) throw new Error(`tokenizer: no token ${JSON.stringify(token)}`);
    return id;
  }

  encode(text: string): number[] {
    return splitPieces(text).map((p) => this.ids.get(p) ?? this.unkId);
  }

  /** Words the vocabulary lacks (they would encode to <unk>). */
  unknownPieces(text: string): string[] {
    return splitPieces(text).filter((p) => !this.ids.has(p));
  }

  /** Text for ids; <pad>, <bos> and <eos> are dropped unless keepSpecial. */
  decode(ids: readonly number[], opts: { keepSpecial?: boolean } = {}): string {
    return this.decodeWithSpans(ids, opts).text;
  }

  /**
   * decode, plus where each id landed in the text: spans[i] = [start, end) character
   * offsets of ids[i], or null for a dropped special token. Lets a reward computed on
   * text (a grounded reading) be credited to the tokens that wrote it.
   */
  decodeWithSpans(ids: readonly number[], opts: { keepSpecial?: boolean } = {}): { text: string; spans: ([number, number] | null)[] } {
    let text = '';
    let prev: string | null = null;
    const spans: ([number, number] | null)[] = [];
    for (const id of ids) {
      const tok = this.tokens[id] ?? UNK;
      if (!opts.keepSpecial && (tok === PAD || tok === BOS || tok === EOS)) {
        spans.push(null);
        continue;
      }
      if (prev !== null && !glued(prev, tok)) text += ' ';
      spans.push([text.length, text.length + tok.length]);
      text += tok;
      prev = tok;
    }
    return { text, spans };
  }
}

/** The completion format writes `</think><answer>X</answer>` without spaces. */
function glued(prev: string, tok: string): boolean {
  return prev === ANSWER_OPEN || tok === ANSWER_CLOSE || (prev === THINK_CLOSE && tok === ANSWER_OPEN);
}

/** Words of a text, with the four CoT tags split off as their own pieces. */
export function splitPieces(text: string): string[] {
  return text.replace(TAG, (tag) => ` ${tag} `).split(/\s+/).filter(Boolean);
}

/**
 * Per whitespace word of `text`, the summed log-prob of the tokens it encodes to (a word with
 * glued tags such as `</think><answer>B</answer>` is several tokens), rounded to 0.01 so a
 * stored rollout stays small. Tokens past the text (EOS) are left out; the UI shades words, not
 * tokens, so this is the unit it can show.
 */
export function wordLogprobs(text: string, tokenLogprobs: readonly number[]): number[] {
  const out: number[] = [];
  let k = 0;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const n = splitPieces(word).length;
    if (k + n > tokenLogprobs.length) break;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += tokenLogprobs[k + i]!;
    k += n;
    out.push(Math.round(sum * 100) / 100);
  }
  return out;
}
