// Tests for hybrid-query fusion: hand-computed linear and RRF scores, exact extremes, distance flipping.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuseCandidates, type FusionCandidate, type FusionMethod } from '../../src/search/fusion.js';

function near(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) <= 1e-12, `${actual} ≉ ${expected}`);
}

const ids = (hits: Array<{ id: string }>): string[] => hits.map((h) => h.id);

/** a: best by vector, no text match; b: best by text, worst by vector; c: in between on both. */
const abc: FusionCandidate[] = [
  { id: 'a', vectorScore: 0.9, textScore: 0 },
  { id: 'b', vectorScore: 0.5, textScore: 4 },
  { id: 'c', vectorScore: 0.7, textScore: 2 },
];

describe('fuseCandidates linear', () => {
  it('mixes min-max normalised scores as computed by hand', () => {
    // v: (s − 0.5) / (0.9 − 0.5) → a 1, b 0, c 0.5;  t: (s − 0) / (4 − 0) → a 0, b 1, c 0.5.
    const hits = fuseCandidates(abc, { alpha: 0.3, method: 'linear', limit: 10, higherVectorIsBetter: true });
    assert.deepEqual(ids(hits), ['b', 'c', 'a']);
    near(hits[0]!.score, 0.3 * 0 + 0.7 * 1);
    near(hits[1]!.score, 0.3 * 0.5 + 0.7 * 0.5);
    near(hits[2]!.score, 0.3 * 1 + 0.7 * 0);
  });

  it('flips distances so the nearest normalises to 1', () => {
    const cands: FusionCandidate[] = [
      { id: 'near', vectorScore: 1, textScore: 0 },
      { id: 'far', vectorScore: 3, textScore: 6 },
      { id: 'mid', vectorScore: 2, textScore: 3 },
    ];
    const vectorOnly = fuseCandidates(cands, { alpha: 1, method: 'linear', limit: 10, higherVectorIsBetter: false });
    assert.deepEqual(vectorOnly, [
      { id: 'near', score: 1 }, // (3 − 1) / (3 − 1)
      { id: 'mid', score: 0.5 }, // (3 − 2) / (3 − 1)
      { id: 'far', score: 0 },
    ]);
    // alpha 0.8: near 0.8·1 + 0.2·0 = 0.8; mid 0.8·0.5 + 0.2·0.5 = 0.5; far 0.8·0 + 0.2·1 = 0.2.
    const mixed = fuseCandidates(cands, { alpha: 0.8, method: 'linear', limit: 10, higherVectorIsBetter: false });
    assert.deepEqual(ids(mixed), ['near', 'mid', 'far']);
    near(mixed[0]!.score, 0.8);
    near(mixed[1]!.score, 0.5);
    near(mixed[2]!.score, 0.2);
  });

  it('alpha 1 is exactly the vector order, ties by id, text ignored', () => {
    const cands: FusionCandidate[] = [
      { id: 'z', vectorScore: 0.5, textScore: 9 },
      { id: 'y', vectorScore: 0.8, textScore: 0 },
      { id: 'x', vectorScore: 0.5, textScore: 0 },
      { id: 'w', vectorScore: 0.2, textScore: 5 },
    ];
    const hits = fuseCandidates(cands, { alpha: 1, method: 'linear', limit: 10, higherVectorIsBetter: true });
    assert.deepEqual(ids(hits), ['y', 'x', 'z', 'w']);
  });

  it('alpha 0 is exactly the BM25 order, then non-matching candidates by vector', () => {
    const cands: FusionCandidate[] = [
      { id: 'x', vectorScore: 0.9, textScore: 0 },
      { id: 'y', vectorScore: 0.1, textScore: 0 },
      { id: 'z', vectorScore: 0.5, textScore: 1 },
      { id: 'w', vectorScore: 0.2, textScore: 3 },
      { id: 'v', vectorScore: 0.3, textScore: 1 }, // ties z on text: id order, not vector
    ];
    const cosine = fuseCandidates(cands, { alpha: 0, method: 'linear', limit: 10, higherVectorIsBetter: true });
    assert.deepEqual(ids(cosine), ['w', 'v', 'z', 'x', 'y']);
    const euclid = fuseCandidates(cands, { alpha: 0, method: 'linear', limit: 10, higherVectorIsBetter: false });
    assert.deepEqual(ids(euclid), ['w', 'v', 'z', 'y', 'x']); // nearest (smallest distance) first
  });

  it('normalises an all-equal side to 1 when it carries a signal, else 0', () => {
    const flatVector: FusionCandidate[] = [
      { id: 'b', vectorScore: 0.8, textScore: 0 },
      { id: 'a', vectorScore: 0.8, textScore: 0 },
    ];
    // v all 1, t all 0 (no text signal): 0.4·1 + 0.6·0.
    assert.deepEqual(fuseCandidates(flatVector, { alpha: 0.4, method: 'linear', limit: 10, higherVectorIsBetter: true }), [
      { id: 'a', score: 0.4 },
      { id: 'b', score: 0.4 },
    ]);
    const flatText: FusionCandidate[] = [
      { id: 'a', vectorScore: 0.2, textScore: 2.5 },
      { id: 'b', vectorScore: 0.6, textScore: 2.5 },
    ];
    // v: a 0, b 1; t all 1: a 0.25·0 + 0.75·1, b 0.25·1 + 0.75·1.
    assert.deepEqual(fuseCandidates(flatText, { alpha: 0.25, method: 'linear', limit: 10, higherVectorIsBetter: true }), [
      { id: 'b', score: 1 },
      { id: 'a', score: 0.75 },
    ]);
  });

  it('ranks candidates without a vector score last on the vector side', () => {
    const cands: FusionCandidate[] = [
      { id: 'a', vectorScore: undefined, textScore: 5 },
      { id: 'b', vectorScore: 0.1, textScore: 0 },
      { id: 'c', vectorScore: Number.NaN, textScore: 0 },
      { id: 'd', vectorScore: 0.3, textScore: 1 },
    ];
    const hits = fuseCandidates(cands, { alpha: 1, method: 'linear', limit: 10, higherVectorIsBetter: true });
    assert.deepEqual(ids(hits), ['d', 'b', 'a', 'c']);
  });

  it('honours the limit', () => {
    assert.deepEqual(ids(fuseCandidates(abc, { alpha: 0.3, method: 'linear', limit: 2, higherVectorIsBetter: true })), ['b', 'c']);
    assert.deepEqual(fuseCandidates(abc, { alpha: 0.3, method: 'linear', limit: 0, higherVectorIsBetter: true }), []);
    assert.deepEqual(fuseCandidates([], { alpha: 0.3, method: 'rrf', limit: 5, higherVectorIsBetter: true }), []);
  });
});

describe('fuseCandidates rrf', () => {
  it('sums weighted reciprocal ranks as computed by hand', () => {
    // Vector ranks: a 1, c 2, b 3. Text ranks: b 1, c 2, a none (text score 0).
    const hits = fuseCandidates(abc, { alpha: 0.5, method: 'rrf', limit: 10, higherVectorIsBetter: true });
    assert.deepEqual(ids(hits), ['b', 'c', 'a']);
    near(hits[0]!.score, 0.5 / (60 + 3) + 0.5 / (60 + 1)); // 0.0161332…
    near(hits[1]!.score, 0.5 / (60 + 2) + 0.5 / (60 + 2)); // 0.0161290…
    near(hits[2]!.score, 0.5 / (60 + 1)); //                   0.0081967…
  });

  it('uses rrfK and ranks distances ascending', () => {
    const cands: FusionCandidate[] = [
      { id: 'near', vectorScore: 0.5, textScore: 0 },
      { id: 'far', vectorScore: 9, textScore: 1 },
      { id: 'mid', vectorScore: 2, textScore: 7 },
    ];
    // Vector ranks: near 1, mid 2, far 3. Text ranks: mid 1, far 2.
    const hits = fuseCandidates(cands, { alpha: 0.7, method: 'rrf', rrfK: 1, limit: 10, higherVectorIsBetter: false });
    assert.deepEqual(ids(hits), ['mid', 'near', 'far']);
    near(hits[0]!.score, 0.7 / (1 + 2) + 0.3 / (1 + 1));
    near(hits[1]!.score, 0.7 / (1 + 1));
    near(hits[2]!.score, 0.7 / (1 + 3) + 0.3 / (1 + 2));
  });
});

describe('fuseCandidates extremes (property)', () => {
  /** Unique ids with tie-prone scores, including missing vector scores and zero text scores. */
  const candidates = fc.uniqueArray(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 3 }),
      vectorScore: fc.oneof(fc.constant(undefined), fc.constantFrom(0.25, 0.5, 2), fc.double({ min: -5, max: 5, noNaN: true })),
      textScore: fc.oneof(fc.constant(0), fc.constantFrom(1.5, 3), fc.double({ min: 0, max: 20, noNaN: true }).map(Math.abs)),
    }),
    { selector: (c) => c.id, maxLength: 30 },
  );
  const byId = (x: FusionCandidate, y: FusionCandidate): number => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  const oriented = (c: FusionCandidate, higher: boolean): number =>
    c.vectorScore === undefined ? -Infinity : higher ? c.vectorScore : -c.vectorScore;

  for (const method of ['linear', 'rrf'] as FusionMethod[]) {
    it(`${method}: alpha 1 gives the vector ranking, alpha 0 the BM25 ranking`, () => {
      fc.assert(
        fc.property(candidates, fc.boolean(), fc.integer({ min: 1, max: 40 }), (cands, higher, limit) => {
          const vectorOrder = [...cands]
            .sort((x, y) => {
              const vx = oriented(x, higher);
              const vy = oriented(y, higher);
              return vx !== vy ? (vy > vx ? 1 : -1) : byId(x, y);
            })
            .map((c) => c.id);
          const textOrder = [...cands]
            .sort((x, y) => {
              if (x.textScore !== y.textScore) return y.textScore - x.textScore;
              if (x.textScore === 0) {
                const vx = oriented(x, higher);
                const vy = oriented(y, higher);
                if (vx !== vy) return vy > vx ? 1 : -1;
              }
              return byId(x, y);
            })
            .map((c) => c.id);
          const base = { method, limit, higherVectorIsBetter: higher };
          assert.deepEqual(ids(fuseCandidates(cands, { ...base, alpha: 1 })), vectorOrder.slice(0, limit));
          assert.deepEqual(ids(fuseCandidates(cands, { ...base, alpha: 0 })), textOrder.slice(0, limit));
        }),
        { numRuns: 500 },
      );
    });
  }

  it('linear scores stay in [0, 1] and come sorted for any alpha', () => {
    fc.assert(
      fc.property(candidates, fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (cands, alpha, higher) => {
        const hits = fuseCandidates(cands, { alpha, method: 'linear', limit: 100, higherVectorIsBetter: higher });
        assert.equal(hits.length, cands.length);
        for (let i = 0; i < hits.length; i++) {
          assert.ok(hits[i]!.score >= 0 && hits[i]!.score <= 1 + 1e-12, String(hits[i]!.score));
          if (i > 0) assert.ok(hits[i - 1]!.score >= hits[i]!.score);
        }
      }),
      { numRuns: 300 },
    );
  });
});
