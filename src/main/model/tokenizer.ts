// Word-level tokenizer for the benchmark's closed vocabulary. Numbers are spelled digit by
// digit so any count or measurement is representable; punctuation and tags are their own
// tokens. Spacing is not stored: `decode` re-inserts it with fixed rules that reproduce
// the benchmark's canonical spacing, so decode(encode(text)) === text for benchmark text.

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
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const PUNCTUATION = ['.', ',', '?', '!', ':', ';', '(', ')', '-', "'", '"', '%', '/', '+', '=', '\n'];

// Tags, single digits, words (letters only), newlines, then any other single character.
const PIECE = /<\/?[a-z]+>|\d|[A-Za-z]+|\n|[^\sA-Za-z\d]/g;

const NO_SPACE_BEFORE = new Set(['.', ',', '?', '!', ':', ';', ')', '%', "'", '\n', THINK_CLOSE, ANSWER_CLOSE]);
const NO_SPACE_AFTER = new Set(['(', '\n', THINK_OPEN, ANSWER_OPEN]);
const isDigit = (t: string) => t.length === 1 && t >= '0' && t <= '9';

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

  /** Special tokens, option letters, digits, punctuation, then each word and its Capitalised form. */
  static fromWords(words: Iterable<string>): Tokenizer {
    const tokens: string[] = [...SPECIAL_TOKENS, ...OPTION_LETTERS, ...DIGITS, ...PUNCTUATION];
    const seen = new Set(tokens);
    const add = (t: string) => {
      if (!seen.has(t)) {
        seen.add(t);
        tokens.push(t);
      }
    };
    for (const raw of words) {
      // A vocabulary entry may be a phrase or carry punctuation; keep only its word pieces.
      for (const piece of raw.match(PIECE) ?? []) {
        if (!/^[A-Za-z]+$/.test(piece)) continue;
        add(piece.toLowerCase());
        add(piece[0]!.toUpperCase() + piece.slice(1).toLowerCase());
        if (piece !== piece.toLowerCase()) add(piece);
      }
    }
    return new Tokenizer(tokens);
  }

  static fromJSON(json: TokenizerJSON): Tokenizer {
    if (json.kind !== 'veripo-word-tokenizer' || json.version !== 1 || !Array.isArray(json.tokens)) {
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

  /** Split text into vocabulary pieces (before id lookup). */
  pieces(text: string): string[] {
    return text.match(PIECE) ?? [];
  }

  encode(text: string): number[] {
    return this.pieces(text).map((p) => this.ids.get(p) ?? this.unkId);
  }

  /** Words the vocabulary lacks (they would encode to <unk>). */
  unknownPieces(text: string): string[] {
    return this.pieces(text).filter((p) => !this.ids.has(p));
  }

  /** Text for ids; <pad>, <bos> and <eos> are dropped unless keepSpecial. */
  decode(ids: readonly number[], opts: { keepSpecial?: boolean } = {}): string {
    let out = '';
    let prev: string | null = null;
    let prevPrev: string | null = null;
    for (const id of ids) {
      const tok = this.tokens[id] ?? UNK;
      if (!opts.keepSpecial && (tok === PAD || tok === BOS || tok === EOS)) continue;
      if (prev !== null && needsSpace(prevPrev, prev, tok)) out += ' ';
      out += tok;
      prevPrev = prev;
      prev = tok;
    }
    return out;
  }
}

function needsSpace(prevPrev: string | null, prev: string, tok: string): boolean {
  if (NO_SPACE_BEFORE.has(tok) || NO_SPACE_AFTER.has(prev)) {
    // "'" only glues when it is an apostrophe inside a word ("cube's"); an opening quote keeps its space.
    return false;
  }
  if (tok === '-' || prev === '-') return false; // "left-most", "-3"
  if (prev === '/' || tok === '/') return false;
  if (isDigit(prev) && isDigit(tok)) return false; // "12"
  if (prev === '.' && isDigit(tok) && prevPrev !== null && isDigit(prevPrev)) return false; // "3.5"
  if (prev === "'") return false;
  return true;
}
