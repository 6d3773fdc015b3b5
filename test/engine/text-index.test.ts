// Tests for the tokenizer and the BM25 text index: hand-computed scores, statistics upkeep, filters, ties.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TextIndex } from '../../src/engine/text-index.js';
import { tokenize } from '../../src/engine/tokenizer.js';
import { VecStoreError } from '../../src/errors.js';

/** Asserts two floats agree to within rounding of a few operations. */
function near(actual: number, expected: number, message?: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), message ?? `${actual} ≉ ${expected}`);
}

describe('tokenize', () => {
  it('splits on non letters/numbers/marks and lower-cases', () => {
    assert.deepEqual(tokenize('Café-au-lait'), ['café', 'au', 'lait']);
    assert.deepEqual(tokenize("Don't STOP, 3.14 x_y!"), ['don', 't', 'stop', '3', '14', 'x', 'y']);
  });

  it('keeps Cyrillic and Chinese words', () => {
    assert.deepEqual(tokenize('Привет, МИР!'), ['привет', 'мир']);
    // No word segmentation for scripts without spaces: the run is one term.
    assert.deepEqual(tokenize('向量数据库，搜索'), ['向量数据库', '搜索']);
  });

  it('NFKC-normalises so equivalent spellings give the same term', () => {
    const decomposed = 'e\u0301cole'; // e + combining acute
    assert.deepEqual(tokenize(decomposed), ['école']);
    assert.deepEqual(tokenize(decomposed), tokenize('\u00e9cole'));
    assert.deepEqual(tokenize('ＦＵＬＬ ﬁsh'), ['full', 'fish']); // full-width letters, "fi" ligature
  });

  it('gives nothing for empty or punctuation-only text', () => {
    assert.deepEqual(tokenize(''), []);
    assert.deepEqual(tokenize(' -- !? … '), []);
  });

  it('keeps duplicates and order (no stop words, no stemming)', () => {
    assert.deepEqual(tokenize('the runs the running'), ['the', 'runs', 'the', 'running']);
  });
});

/** The corpus of the hand-computed tests. */
function corpus(): TextIndex {
  const index = new TextIndex();
  index.set('d1', 'The quick brown fox'); //                        dl = 4
  index.set('d2', 'the lazy dog'); //                               dl = 3
  index.set('d3', 'Quick, quick! Dog jumps over the lazy fox.'); // dl = 8, tf(quick) = 2
  index.set('d4', 'hello world'); //                                dl = 2
  return index;
}

describe('TextIndex BM25', () => {
  const k1 = 1.2;
  const b = 0.75;
  const N = 4;
  const avgdl = (4 + 3 + 8 + 2) / N; // 4.25

  /** One term's BM25 contribution, written out from the formula. */
  function term(df: number, tf: number, dl: number): number {
    const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
    return (idf * (tf * (k1 + 1))) / (tf + k1 * (1 - b + (b * dl) / avgdl));
  }

  it('has the expected statistics', () => {
    const index = corpus();
    assert.equal(index.size, 4);
    assert.equal(index.averageLength, 4.25);
    assert.equal(index.documentFrequency('quick'), 2);
    assert.equal(index.documentFrequency('the'), 3);
    assert.equal(index.documentFrequency('hello'), 1);
    assert.equal(index.documentFrequency('cat'), 0);
  });

  it('scores "quick fox" as computed by hand', () => {
    const index = corpus();
    // quick: df = 2 → idf = ln(1 + (4 − 2 + 0.5) / (2 + 0.5)) = ln 2; fox: df = 2 → idf = ln 2.
    const idf = Math.log(2);
    // d1: dl = 4 → K = 1.2 · (0.25 + 0.75 · 4 / 4.25) = 1.2 · 0.955882… = 1.147058…
    const K1 = 1.2 * (0.25 + (0.75 * 4) / 4.25);
    near(K1, 1.1470588235294117);
    const d1 = (idf * (1 * 2.2)) / (1 + K1) + (idf * (1 * 2.2)) / (1 + K1); // quick tf 1 + fox tf 1
    // d3: dl = 8 → K = 1.2 · (0.25 + 0.75 · 8 / 4.25) = 1.994117…
    const K3 = 1.2 * (0.25 + (0.75 * 8) / 4.25);
    near(K3, 1.9941176470588236);
    const d3 = (idf * (2 * 2.2)) / (2 + K3) + (idf * (1 * 2.2)) / (1 + K3); // quick tf 2 + fox tf 1
    // The literals were computed independently (Python, same formula) to pin the arithmetic above.
    near(d1, 1.4204769618050386, 'd1 literal');
    near(d3, 1.272891390214504, 'd3 literal');
    near(d1, term(2, 1, 4) * 2, 'd1 via helper');

    // d3 has quick twice but is almost twice avgdl long, so the short d1 wins.
    const hits = corpus().search('QUICK fox', 10);
    assert.deepEqual(hits.map((h) => h.id), ['d1', 'd3']);
    near(hits[0]!.score, d1);
    near(hits[1]!.score, d3);
    near(index.score('d1', 'quick fox'), d1);
    near(index.score('d3', 'quick fox'), d3);
    assert.equal(index.score('d2', 'quick fox'), 0);
    assert.equal(index.score('nope', 'quick fox'), 0);
  });

  it('weights rare terms higher (idf by df)', () => {
    const index = corpus();
    // hello: df = 1 → idf = ln(1 + 3.5 / 1.5) = ln(10/3); the: df = 3 → idf = ln(1 + 1.5 / 3.5) = ln(10/7).
    near(index.score('d4', 'hello'), (Math.log(10 / 3) * 2.2) / (1 + 1.2 * (0.25 + (0.75 * 2) / 4.25)));
    near(index.score('d2', 'the'), (Math.log(10 / 7) * 2.2) / (1 + 1.2 * (0.25 + (0.75 * 3) / 4.25)));
    near(index.score('d2', 'the lazy dog'), term(3, 1, 3) + term(2, 1, 3) + term(2, 1, 3));
  });

  it('counts a repeated query term once per occurrence', () => {
    const index = corpus();
    near(index.score('d1', 'fox fox'), 2 * index.score('d1', 'fox'));
    near(index.score('d1', 'fox fox quick'), 2 * term(2, 1, 4) + term(2, 1, 4));
  });

  it('gives search() and score() bit-identical scores', () => {
    const index = corpus();
    for (const q of ['quick fox', 'the lazy dog the', 'dog fox quick hello world']) {
      for (const hit of index.search(q, 10)) assert.equal(hit.score, index.score(hit.id, q), `${q} / ${hit.id}`);
    }
  });

  it('honours k1 and b', () => {
    const index = new TextIndex({ k1: 2, b: 0 });
    index.set('a', 'x y');
    index.set('b', 'x x x y y y y y');
    // b = 0 ignores length; idf(x) = ln(1 + 0.5 / 2.5) = ln 1.2; K = k1 = 2.
    near(index.score('b', 'x'), (Math.log(1.2) * 3 * 3) / (3 + 2));
    near(index.score('a', 'x'), (Math.log(1.2) * 1 * 3) / (1 + 2));
    assert.throws(() => new TextIndex({ b: 1.5 }), VecStoreError);
    assert.throws(() => new TextIndex({ k1: -1 }), VecStoreError);
    assert.throws(() => new TextIndex({ k1: Number.NaN }), VecStoreError);
  });
});

describe('TextIndex maintenance', () => {
  it('replacing a document updates N, avgdl, df and scores', () => {
    const index = corpus();
    index.set('d4', 'a lazy fox sleeps'); // dl 2 → 4, gains lazy and fox
    assert.equal(index.size, 4);
    assert.equal(index.averageLength, (4 + 3 + 8 + 4) / 4);
    assert.equal(index.documentFrequency('hello'), 0);
    assert.equal(index.documentFrequency('lazy'), 3);
    assert.equal(index.documentFrequency('fox'), 3);
    assert.deepEqual(index.search('hello', 5), []);
    // fox now has df 3 of N 4 → idf = ln(10/7), avgdl 4.75, d4 dl 4.
    const expected = (Math.log(10 / 7) * 2.2) / (1 + 1.2 * (0.25 + (0.75 * 4) / 4.75));
    near(index.score('d4', 'fox'), expected);
  });

  it('removing updates N, avgdl and df; re-adding restores the scores', () => {
    const index = corpus();
    const before = index.search('quick fox dog', 10);
    index.remove('d3');
    assert.equal(index.size, 3);
    assert.equal(index.has('d3'), false);
    assert.equal(index.averageLength, (4 + 3 + 2) / 3);
    assert.equal(index.documentFrequency('quick'), 1);
    assert.equal(index.documentFrequency('jumps'), 0);
    // quick: df 1 of N 3 → idf ln(1 + 2.5 / 1.5); d1 dl 4, avgdl 3.
    near(index.score('d1', 'quick'), (Math.log(1 + 2.5 / 1.5) * 2.2) / (1 + 1.2 * (0.25 + (0.75 * 4) / 3)));
    index.remove('d3'); // no-op
    index.remove('never'); // no-op
    assert.equal(index.size, 3);
    index.set('d3', 'Quick, quick! Dog jumps over the lazy fox.');
    assert.deepEqual(index.search('quick fox dog', 10), before);
  });

  it('empty, undefined or token-less text removes the document', () => {
    const index = corpus();
    index.set('d1', '');
    index.set('d2', undefined);
    index.set('d4', '?!');
    index.set('new', '...');
    assert.equal(index.size, 1);
    assert.deepEqual([...['d1', 'd2', 'd3', 'd4', 'new']].filter((id) => index.has(id)), ['d3']);
    assert.equal(index.averageLength, 8);
  });

  it('clear() empties the index', () => {
    const index = corpus();
    index.clear();
    assert.equal(index.size, 0);
    assert.equal(index.averageLength, 0);
    assert.deepEqual(index.search('quick', 5), []);
    index.set('z', 'quick');
    assert.deepEqual(index.search('quick', 5).map((h) => h.id), ['z']);
  });
});

describe('TextIndex search', () => {
  it('returns nothing for k ≤ 0, unknown terms or an empty query', () => {
    const index = corpus();
    assert.deepEqual(index.search('quick', 0), []);
    assert.deepEqual(index.search('quick', -3), []);
    assert.deepEqual(index.search('zebra', 5), []);
    assert.deepEqual(index.search('', 5), []);
    assert.deepEqual(new TextIndex().search('quick', 5), []);
  });

  it('applies accept before ranking, so k filtered hits still come back', () => {
    const index = new TextIndex();
    for (let i = 0; i < 20; i++) index.set(`doc-${String(i).padStart(2, '0')}`, `apple ${'pie '.repeat(i)}`);
    // Shorter documents score higher for "apple"; the best ones are rejected.
    const seen: string[] = [];
    const accept = (id: string): boolean => {
      seen.push(id);
      return Number(id.slice(4)) % 2 === 1;
    };
    const hits = index.search('apple', 3, accept);
    assert.deepEqual(hits.map((h) => h.id), ['doc-01', 'doc-03', 'doc-05']);
    assert.equal(new Set(seen).size, seen.length, 'accept is called at most once per document');
    assert.deepEqual(index.search('apple', 3, () => false), []);
  });

  it('breaks score ties by id ascending and keeps the lowest ids at the cut', () => {
    const index = new TextIndex();
    for (const id of ['m', 'b', 'z', 'a', 'k']) index.set(id, 'same words here');
    index.set('best', 'words');
    const hits = index.search('words', 4);
    assert.deepEqual(hits.map((h) => h.id), ['best', 'a', 'b', 'k']);
    assert.equal(hits[1]!.score, hits[3]!.score);
    assert.ok(hits[0]!.score > hits[1]!.score);
  });

  it('agrees with a brute-force ranking by score() on random corpora', () => {
    const word = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'ж', '猫');
    const doc = fc.array(word, { minLength: 0, maxLength: 8 }).map((ws) => ws.join(' '));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), doc), { maxLength: 60 }),
        fc.array(word, { minLength: 1, maxLength: 4 }).map((ws) => ws.join(' ')),
        fc.integer({ min: 1, max: 12 }),
        (ops, query, k) => {
          const index = new TextIndex();
          const texts = new Map<string, string>();
          for (const [n, text] of ops) {
            const id = `r${n}`;
            index.set(id, text);
            if (tokenize(text).length > 0) texts.set(id, text);
            else texts.delete(id);
          }
          assert.equal(index.size, texts.size);
          const expected = [...texts.keys()]
            .map((id) => ({ id, score: index.score(id, query) }))
            .filter((h) => h.score > 0)
            .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1))
            .slice(0, k);
          assert.deepEqual(index.search(query, k), expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays equal to a freshly built index under heavy churn', () => {
    // Enough removals to compact posting lists and to reclaim and reuse internal document numbers.
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return Math.floor((seed / 0x80000000) * n);
    };
    const words = ['alpha', 'beta', 'gamma', 'delta', 'эпсилон', '数据', 'zeta', 'eta'];
    const text = (): string => Array.from({ length: 1 + rand(10) }, () => words[rand(words.length)]).join(' ');
    const churned = new TextIndex();
    const live = new Map<string, string>();
    for (let step = 0; step < 12000; step++) {
      const id = `doc${rand(1500)}`;
      if (rand(3) === 0) {
        churned.remove(id);
        live.delete(id);
      } else {
        const t = rand(50) === 0 ? `unique${step}` : text(); // some terms come and go
        churned.set(id, t);
        live.set(id, t);
      }
    }
    const fresh = new TextIndex();
    for (const [id, t] of live) fresh.set(id, t);
    assert.equal(churned.size, live.size);
    assert.equal(churned.averageLength, fresh.averageLength);
    for (const w of [...words, 'unique11999', 'unique3']) assert.equal(churned.documentFrequency(w), fresh.documentFrequency(w), w);
    for (const q of ['alpha', 'beta gamma', '数据 eta eta', 'эпсилон zeta delta alpha']) {
      assert.deepEqual(churned.search(q, 25), fresh.search(q, 25), q);
      assert.deepEqual(churned.search(q, 5000).length, fresh.search(q, 5000).length);
    }
  });
});
