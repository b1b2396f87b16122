// Word- and line-level diffs (longest common subsequence over tokens): the chosen/rejected
// view and the rubric's changes against its saved version.
export interface DiffPart {
  text: string;
  /** 'same' in both, 'del' only in the left text, 'add' only in the right text */
  op: 'same' | 'del' | 'add';
}

/** Tokens are words with their trailing whitespace, so joining them gives the text back. */
export function tokenize(s: string): string[] {
  return s.match(/\S+\s*|\s+/g) ?? [];
}

/** O(n·m) LCS; texts longer than `limit` tokens on both sides fall back to a prefix/suffix diff. */
export function wordDiff(a: string, b: string, limit = 3000): DiffPart[] {
  return diffTokens(tokenize(a), tokenize(b), limit);
}

/** Lines with their newline: the rubric's text diff against the saved version. */
export function lineDiff(a: string, b: string, limit = 3000): DiffPart[] {
  const lines = (s: string) => s.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  return diffTokens(lines(a), lines(b), limit);
}

function diffTokens(x: string[], y: string[], limit: number): DiffPart[] {
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  const xs = x.slice(pre, x.length - suf);
  const ys = y.slice(pre, y.length - suf);
  const out: DiffPart[] = [];
  const push = (op: DiffPart['op'], text: string) => {
    const last = out[out.length - 1];
    if (last && last.op === op) last.text += text;
    else if (text) out.push({ op, text });
  };
  push('same', x.slice(0, pre).join(''));
  if (xs.length * ys.length > limit * limit) {
    push('del', xs.join(''));
    push('add', ys.join(''));
  } else {
    const n = xs.length;
    const m = ys.length;
    const dp = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        dp[i * (m + 1) + j] = xs[i] === ys[j] ? dp[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(dp[(i + 1) * (m + 1) + j]!, dp[i * (m + 1) + j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (xs[i] === ys[j]) {
        push('same', xs[i]!);
        i++;
        j++;
      } else if (dp[(i + 1) * (m + 1) + j]! >= dp[i * (m + 1) + j + 1]!) push('del', xs[i++]!);
      else push('add', ys[j++]!);
    }
    while (i < n) push('del', xs[i++]!);
    while (j < m) push('add', ys[j++]!);
  }
  push('same', x.slice(x.length - suf).join(''));
  return out;
}
