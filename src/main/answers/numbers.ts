// Numbers as models write them: digits with decimals, thousands separators or a decimal
// comma ("2,5 Meter"), number words in the common languages of video-QA data, and CJK
// numerals; plus VSI-Bench's mean relative accuracy.

const WORDS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17,
  eighteen: 18, nineteen: 19, twenty: 20,
  // French, Spanish, German, Portuguese from two on ("un", "uno", "ein", "um" are articles too)
  deux: 2, trois: 3, quatre: 4, cinq: 5, sept: 7, huit: 8, neuf: 9, dix: 10,
  dos: 2, tres: 3, cuatro: 4, cinco: 5, seis: 6, siete: 7, ocho: 8, nueve: 9, diez: 10,
  zwei: 2, drei: 3, vier: 4, 'fünf': 5, sechs: 6, sieben: 7, acht: 8, neun: 9, zehn: 10,
  dois: 2, duas: 2, 'três': 3, quatro: 4, sete: 7, oito: 8, nove: 9, dez: 10,
};
const CJK: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 兩: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10 };

// Digits: "1,200" groups, "2.8" decimals, "2,5" decimal comma (one or two digits, not a group).
const DIGITS = String.raw`-?\d+(?:(?:,\d{3})+(?!\d)|,\d{1,2}(?![\d,])|)(?:\.\d+)?`;
const NUMBER_RE = new RegExp(
  String.raw`(?<![\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{N}.,])${DIGITS}(?!\p{N})|(?<![\p{L}])(?:${Object.keys(WORDS).join('|')})(?![\p{L}])|[零〇一二两兩三四五六七八九十](?=\s*[个個只把辆輛人张張本次条條件位名台座棵头頭匹块塊杯米秒分])`,
  'giu',
);

export interface NumberHit {
  value: number;
  start: number;
  end: number;
}

function valueOf(raw: string): number {
  const lower = raw.toLowerCase();
  if (lower in WORDS) return WORDS[lower];
  if (raw in CJK) return CJK[raw];
  // a single comma followed by one or two digits is a decimal comma; otherwise commas group thousands
  const s = /^-?\d+,\d{1,2}$/.test(raw) ? raw.replace(',', '.') : raw.replace(/,/g, '');
  return Number(s);
}

/** Every number in the text, in order. */
export function numbersIn(text: string): NumberHit[] {
  const out: NumberHit[] = [];
  NUMBER_RE.lastIndex = 0;
  for (let m = NUMBER_RE.exec(text); m; m = NUMBER_RE.exec(text)) {
    const value = valueOf(m[0]);
    if (Number.isFinite(value)) out.push({ value, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

export function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** The one number a text states; null when it states none or two different ones. */
export function singleNumber(text: string): number | null {
  const nums = numbersIn(text);
  if (nums.length === 0) return null;
  const first = nums[0].value;
  return nums.every((n) => sameNumber(n.value, first)) ? first : null;
}

/**
 * VSI-Bench mean relative accuracy over t = 0.50, 0.55, …, 0.95 of 1[|pred - gt| / |gt| < 1 - t].
 * For gt = 0 the denominator is 1 (absolute error), so 0 vs 0 scores 1.
 */
export function meanRelativeAccuracy(pred: number, gt: number): number {
  const err = Math.abs(pred - gt) / (gt === 0 ? 1 : Math.abs(gt));
  let hits = 0;
  for (let k = 0; k < 10; k++) {
    const tolerance = (50 - 5 * k) / 100;
    if (err < tolerance - 1e-12) hits++;
  }
  return hits / 10;
}
