import { describe, expect, it } from 'vitest';
import { inertText, terminalText, UNSAFE_TEXT_RE } from '../src/text.js';

describe('inertText / terminalText', () => {
  it('escapes every control, bidi and invisible character visibly, and nothing else', () => {
    expect(inertText('Buy \u202egnp.exe')).toBe('Buy \\u202egnp.exe');
    expect(inertText('\u001b[31mred\u0000\u0085\u200b\ufeff')).toBe(
      '\\u001b[31mred\\u0000\\u0085\\u200b\\ufeff',
    );
    const plain = 'Café 🚀 👩‍🔬 שלום مرحبا 東京 \\x1b';
    expect(inertText(plain)).toBe(plain);
  });

  it('leaves no unsafe character for any code point (exhaustive over the BMP)', () => {
    for (let c = 0; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = `a${String.fromCharCode(c)}b`;
      const out = inertText(s);
      expect(UNSAFE_TEXT_RE.test(out)).toBe(false);
      if (UNSAFE_TEXT_RE.test(s)) expect(out).not.toBe(s);
    }
  });

  it('terminalText keeps the line breaks the program writes, and escapes the rest', () => {
    expect(terminalText('one \u001b]0;pwned\u0007\ntwo\r')).toBe('one \\u001b]0;pwned\\u0007\ntwo\\u000d');
  });
});

describe('terminalText on JSON output', () => {
  it('leaves JSON that parses to the same value', () => {
    const value = { headline: 'Buy \u202egnp.exe \u0085 \u001b[2J', n: 1 };
    const text = terminalText(JSON.stringify(value, null, 2).replace('\\u001b', '\u001b'));
    expect(text.split('\n').some((l) => UNSAFE_TEXT_RE.test(l))).toBe(false);
    expect(JSON.parse(text)).toEqual(value);
  });
});
