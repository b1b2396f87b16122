import { describe, it, expect } from 'vitest';
import { sampleTasks, MODALITIES } from '../../../src/main/video/tasks';
import { COT_VARIANTS } from '../../../src/main/video/cot';
import { Tokenizer, wordLogprobs } from '../../../src/main/model/tokenizer';
import { benchmarkTokenizer, promptText } from '../../../src/main/model/prompt';

describe('tokenizer', () => {
  const tok = benchmarkTokenizer();

  it('round-trips benchmark prompts and every chain-of-thought variant without <unk>', () => {
    let checked = 0;
    for (const modality of MODALITIES) {
      for (const task of sampleTasks({ n: 30, seed: 5, split: 'train', modality })) {
        const texts = [promptText(task), ...COT_VARIANTS.map((v) => task.cot[v])];
        for (const text of texts) {
          expect(tok.unknownPieces(text)).toEqual([]);
          expect(tok.decode(tok.encode(text))).toBe(text);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('splits glued tags, maps unknown words to <unk>, drops <eos>/<pad> on decode', () => {
    const ids = tok.encode('<think> red circle </think><answer>B</answer>');
    expect(ids.map((i) => tok.tokens[i])).toEqual(['<think>', 'red', 'circle', '</think>', '<answer>', 'B', '</answer>']);
    expect(tok.encode('zebra')).toEqual([tok.unkId]);
    expect(tok.decode([...ids, tok.eosId, tok.padId])).toBe('<think> red circle </think><answer>B</answer>');
    expect(tok.decode([tok.eosId], { keepSpecial: true })).toBe('<eos>');
    const { text, spans } = tok.decodeWithSpans([...ids, tok.eosId]);
    expect(spans.at(-1)).toBeNull();
    expect(spans.slice(0, -1).map((s) => text.slice(...s!))).toEqual(['<think>', 'red', 'circle', '</think>', '<answer>', 'B', '</answer>']);
  });

  it('serialises to JSON and back', () => {
    const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back.tokens).toEqual(tok.tokens);
    expect(back.eosId).toBe(tok.eosId);
    expect(() => Tokenizer.fromJSON({ kind: 'x' } as never)).toThrow(/veripo-word-tokenizer/);
  });
});

describe('wordLogprobs', () => {
  it('sums the tokens of each whitespace word, glued tags included, and drops the trailing EOS', () => {
    const text = 'red circle . </think><answer>B</answer>';
    const tokenizer = Tokenizer.fromWords([text]);
    const ids = tokenizer.encode(text);
    // red, circle, ., </think>, <answer>, B, </answer>, then EOS.
    expect(ids).toHaveLength(7);
    const lps = [-0.1, -0.2, -0.3, -0.01, -0.02, -1.5, -0.03, -0.4];
    expect(wordLogprobs(text, lps)).toEqual([-0.1, -0.2, -0.3, -1.56]);
  });

  it('stops at the last word the log-probs cover', () => {
    expect(wordLogprobs('a b c', [-1, -2])).toEqual([-1, -2]);
  });
});
