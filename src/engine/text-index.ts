// In-memory inverted index over record texts, ranking documents for a keyword query with BM25.

import { VecStoreError } from '../errors.js';
import { tokenize } from './tokenizer.js';

/** One ranked hit of a keyword query. */
export interface TextHit {
  /** The record's id. */
  id: string;
  /** Its BM25 score for the query, always > 0. */
  score: number;
}

/** BM25 tuning parameters; see {@link TextIndex}. */
export interface TextIndexParams {
  /** Term-frequency saturation, finite and ≥ 0 (default 1.2; 0 makes term frequency irrelevant). */
  k1?: number;
  /** Document-length normalisation in [0, 1] (default 0.75; 0 ignores length). */
  b?: number;
}

/** A query term with its weight-independent parts computed once per query. */
interface QueryTerm {
  termId: number;
  idf: number;
  /** Occurrences of the term in the query. */
  count: number;
}

/** The shared empty posting list of a term not yet appended to; replaced, never written, on first append. */
const EMPTY_POSTINGS = new Int32Array(0);

/** Below this many stale entries a posting list is not worth compacting on its own. */
const MIN_STALE_TO_COMPACT = 16;
/** Below this many removed documents their numbers are not worth reclaiming. */
const MIN_DEAD_TO_RECLAIM = 1024;

/**
 * An inverted index of record texts with Okapi BM25 ranking, keyed by record id.
 *
 * Scoring follows Lucene's BM25 with the classic `(k1 + 1)` numerator: for each query term t,
 * `idf(t) = ln(1 + (N − n_t + 0.5) / (n_t + 0.5))` and the document's term score is
 * `idf(t) · tf · (k1 + 1) / (tf + k1 · (1 − b + b · dl / avgdl))`, where N is {@link TextIndex.size},
 * n_t the number of documents containing t, tf the count of t in the document, dl the document's token
 * count and avgdl the mean dl over the index. The document's score is the sum over the query's terms.
 * A term repeated in the query counts once per occurrence (as Lucene sums duplicate SHOULD clauses),
 * implemented as `count · termScore`. Unlike Lucene, dl is exact rather than a lossy one-byte norm.
 * N, n_t and avgdl always describe the live documents exactly (removals are not deferred).
 *
 * Only documents with at least one token are indexed (like Lucene's per-field docCount), so a text
 * that tokenizes to nothing (empty, punctuation only) removes the document.
 *
 * The index holds no texts: the engine persists the raw texts and rebuilds the index with
 * {@link TextIndex.set} at load (under 2 s for 100k documents of ~50 words on a 2-core build machine).
 */
export class TextIndex {
  readonly k1: number;
  readonly b: number;

  // Terms and documents are numbered internally: postings then hold small integers in packed arrays
  // instead of string-keyed maps, which is what makes bulk loading and long posting lists fast.
  /** term → termId. */
  private readonly termIds = new Map<string, number>();
  /** termId → term; undefined for a free number. */
  private terms: (string | undefined)[] = [];
  /**
   * termId → posting list, interleaved `[docNo, tf, docNo, tf, …]` in the first postingLengths[termId]
   * slots; may hold stale entries of removed documents. Typed arrays grown by doubling append about
   * twice as fast as `Array.push`, a large share of bulk-loading time.
   */
  private postings: Int32Array[] = [];
  /** termId → used slots of its posting list. */
  private postingLengths: number[] = [];
  /** termId → n_t, live documents containing the term. */
  private docFreq: number[] = [];
  /** termId → stale entries in its posting list. */
  private stale: number[] = [];
  private readonly freeTermIds: number[] = [];

  private readonly docNos = new Map<string, number>();
  /** docNo → id; undefined for a removed document (its stale postings may still name it). */
  private ids: (string | undefined)[] = [];
  /** docNo → dl. */
  private lengths: number[] = [];
  /** docNo → its distinct termIds and their tfs, interleaved `[termId, tf, …]`. */
  private docTerms: (Int32Array | undefined)[] = [];
  /**
   * Numbers of removed documents whose stale postings may remain. They are reused only after every
   * list is purged of them, so a stale entry can never be mistaken for a new document.
   */
  private deadDocNos: number[] = [];
  private readonly freeDocNos: number[] = [];
  private totalLength = 0;

  /** Per-term counters while indexing one document, indexed by termId; left all-zero between calls. */
  private tfScratch = new Int32Array(1024);
  /** Per-document score accumulator for search, indexed by docNo; left all-zero between calls. */
  private scoreScratch = new Float64Array(0);
  private searching = false;

  /**
   * @param params - BM25 parameters; defaults k1 = 1.2, b = 0.75.
   * @throws VecStoreError `validation` if k1 is not finite and ≥ 0 or b is outside [0, 1].
   */
  constructor(params: TextIndexParams = {}) {
    const k1 = params.k1 ?? 1.2;
    const b = params.b ?? 0.75;
    if (!Number.isFinite(k1) || k1 < 0) throw new VecStoreError('validation', `text index k1 must be a finite number ≥ 0, got ${k1}`);
    if (!Number.isFinite(b) || b < 0 || b > 1) throw new VecStoreError('validation', `text index b must be in [0, 1], got ${b}`);
    this.k1 = k1;
    this.b = b;
  }

  /** N: the number of documents in the index. */
  get size(): number {
    return this.docNos.size;
  }

  /** avgdl: the mean token count of the indexed documents (0 when the index is empty). */
  get averageLength(): number {
    const n = this.docNos.size;
    return n === 0 ? 0 : this.totalLength / n;
  }

  /**
   * n_t: the number of documents containing a term.
   * @param term - One already-tokenized term (lower-case, NFKC), as {@link tokenize} produces.
   */
  documentFrequency(term: string): number {
    const termId = this.termIds.get(term);
    return termId === undefined ? 0 : this.docFreq[termId]!;
  }

  /** Whether a document with this id is indexed. */
  has(id: string): boolean {
    return this.docNos.has(id);
  }

  /**
   * Adds or replaces the document for an id.
   * @param id - The record id.
   * @param text - Its text; empty, undefined or token-less text removes the document.
   */
  set(id: string, text: string | undefined): void {
    this.remove(id);
    if (text === undefined || text.length === 0) return;
    const tokens = tokenize(text);
    if (tokens.length === 0) return;

    const docNo = this.freeDocNos.length > 0 ? this.freeDocNos.pop()! : this.ids.length;
    const distinct: number[] = [];
    for (const token of tokens) {
      const termId = this.termId(token);
      // termId() may have grown the scratch, so read the field each time.
      if (this.tfScratch[termId]++ === 0) distinct.push(termId);
    }
    const entry = new Int32Array(distinct.length * 2);
    const tfs = this.tfScratch;
    for (let i = 0; i < distinct.length; i++) {
      const termId = distinct[i]!;
      const tf = tfs[termId]!;
      tfs[termId] = 0;
      this.append(termId, docNo, tf);
      this.docFreq[termId]!++;
      entry[2 * i] = termId;
      entry[2 * i + 1] = tf;
    }
    this.docNos.set(id, docNo);
    this.ids[docNo] = id;
    this.lengths[docNo] = tokens.length;
    this.docTerms[docNo] = entry;
    this.totalLength += tokens.length;
  }

  /** Removes the document for an id; a no-op when it is not indexed. */
  remove(id: string): void {
    const docNo = this.docNos.get(id);
    if (docNo === undefined) return;
    const entry = this.docTerms[docNo]!;
    for (let i = 0; i < entry.length; i += 2) {
      const termId = entry[i]!;
      const df = --this.docFreq[termId]!;
      if (df === 0) {
        this.freeTerm(termId);
      } else {
        const stale = ++this.stale[termId]!;
        // Compacting when stale entries outnumber live ones keeps each list at most twice its df, at
        // an amortised cost of O(1) per removal.
        if (stale >= MIN_STALE_TO_COMPACT && stale > df) this.compact(termId);
      }
    }
    this.totalLength -= this.lengths[docNo]!;
    this.docNos.delete(id);
    this.ids[docNo] = undefined;
    this.lengths[docNo] = 0;
    this.docTerms[docNo] = undefined;
    this.deadDocNos.push(docNo);
    if (this.deadDocNos.length >= MIN_DEAD_TO_RECLAIM && this.deadDocNos.length > this.docNos.size) this.reclaimDocNos();
  }

  /** Removes every document. */
  clear(): void {
    this.termIds.clear();
    this.terms = [];
    this.postings = [];
    this.postingLengths = [];
    this.docFreq = [];
    this.stale = [];
    this.freeTermIds.length = 0;
    this.docNos.clear();
    this.ids = [];
    this.lengths = [];
    this.docTerms = [];
    this.deadDocNos = [];
    this.freeDocNos.length = 0;
    this.totalLength = 0;
    this.tfScratch = new Int32Array(1024);
    this.scoreScratch = new Float64Array(0);
  }

  /**
   * The top-k documents for a keyword query by BM25 score.
   *
   * Only the posting lists of the query's terms are read, and a bounded heap keeps the best k.
   * @param query - Free text, tokenized like the documents.
   * @param k - How many hits at most; ≤ 0 gives none.
   * @param accept - Optional filter on record ids, applied before ranking, so k hits come back
   *   whenever at least k accepted documents match. Called at most once per matching document.
   * @returns Hits with score > 0, best first, equal scores by id ascending (code-unit order).
   */
  search(query: string, k: number, accept?: (id: string) => boolean): TextHit[] {
    const limit = Math.floor(k);
    if (!(limit > 0) || this.docNos.size === 0) return [];
    const terms = this.queryTerms(query);
    if (terms.length === 0) return [];

    // A re-entrant call (from inside accept) must not share the accumulator of the outer one.
    const reentrant = this.searching;
    let acc = this.scoreScratch;
    if (reentrant) acc = new Float64Array(this.ids.length);
    else if (acc.length < this.ids.length) acc = this.scoreScratch = new Float64Array(Math.max(this.ids.length, 2 * acc.length));
    this.searching = true;
    const touched: number[] = [];
    try {
      const avgdl = this.averageLength;
      const { ids, lengths } = this;
      // Sums are accumulated term by term in query order, the same order score() uses, so both give
      // bit-identical values for a document (fusion mixes scores from both paths).
      for (const term of terms) {
        const list = this.postings[term.termId]!;
        const end = this.postingLengths[term.termId]!;
        for (let i = 0; i < end; i += 2) {
          const docNo = list[i]!;
          if (ids[docNo] === undefined) continue; // stale entry of a removed document
          if (acc[docNo] === 0) touched.push(docNo);
          acc[docNo] += this.termScore(term, list[i + 1]!, lengths[docNo]!, avgdl);
        }
      }

      const heap = new TopK(limit);
      for (const docNo of touched) {
        const score = acc[docNo]!;
        const id = ids[docNo]!;
        // Cheap heap rejection before the caller's predicate, which may be the expensive part.
        if (!(score > 0) || !heap.wouldAccept(id, score)) continue;
        if (accept !== undefined && !accept(id)) continue;
        heap.push(id, score);
      }
      return heap.drain();
    } finally {
      for (const docNo of touched) acc[docNo] = 0;
      this.searching = reentrant;
    }
  }

  /**
   * The BM25 score of one document for a query, equal to the score {@link TextIndex.search} gives it.
   * @returns 0 when the document is not indexed or contains none of the query's terms.
   */
  score(id: string, query: string): number {
    return this.scorer(query)(id);
  }

  /**
   * A function giving each document's BM25 score for one query, tokenising the query once: hybrid search scores
   * every vector-side candidate this way.
   */
  scorer(query: string): (id: string) => number {
    const terms = this.queryTerms(query);
    const avgdl = this.averageLength;
    return (id) => {
      const docNo = this.docNos.get(id);
      if (docNo === undefined) return 0;
      const dl = this.lengths[docNo]!;
      const entry = this.docTerms[docNo]!;
      let score = 0;
      for (const term of terms) {
        // A linear scan: documents hold tens of distinct terms, and this runs for a few hundred candidates.
        for (let i = 0; i < entry.length; i += 2) {
          if (entry[i] === term.termId) {
            score += this.termScore(term, entry[i + 1]!, dl, avgdl);
            break;
          }
        }
      }
      return score;
    };
  }

  /** The query's distinct indexed terms in first-occurrence order, with idf and repeat count. */
  private queryTerms(query: string): QueryTerm[] {
    const n = this.docNos.size;
    const byTerm = new Map<string, QueryTerm>();
    for (const token of tokenize(query)) {
      const seen = byTerm.get(token);
      if (seen !== undefined) {
        seen.count++;
        continue;
      }
      const termId = this.termIds.get(token);
      if (termId === undefined) continue;
      const df = this.docFreq[termId]!;
      byTerm.set(token, { termId, idf: Math.log(1 + (n - df + 0.5) / (df + 0.5)), count: 1 });
    }
    return [...byTerm.values()];
  }

  /** One query term's contribution to a document's score; the single formula both search paths use. */
  private termScore(term: QueryTerm, tf: number, dl: number, avgdl: number): number {
    const norm = this.k1 * (1 - this.b + (this.b * dl) / avgdl);
    return term.count * ((term.idf * tf * (this.k1 + 1)) / (tf + norm));
  }

  /** The id of a term, numbering it if new. */
  private termId(term: string): number {
    let termId = this.termIds.get(term);
    if (termId !== undefined) return termId;
    if (this.freeTermIds.length > 0) {
      termId = this.freeTermIds.pop()!;
    } else {
      termId = this.postings.length;
      this.terms.push(undefined);
      this.postings.push(EMPTY_POSTINGS);
      this.postingLengths.push(0);
      this.docFreq.push(0);
      this.stale.push(0);
      if (termId >= this.tfScratch.length) {
        const grown = new Int32Array(this.tfScratch.length * 2);
        grown.set(this.tfScratch);
        this.tfScratch = grown;
      }
    }
    this.termIds.set(term, termId);
    this.terms[termId] = term;
    return termId;
  }

  /** Forgets a term no live document contains, so the vocabulary does not grow without bound under churn. */
  private freeTerm(termId: number): void {
    this.termIds.delete(this.terms[termId]!);
    this.terms[termId] = undefined;
    // Only stale entries of removed documents remain in the list.
    this.postings[termId] = EMPTY_POSTINGS;
    this.postingLengths[termId] = 0;
    this.stale[termId] = 0;
    this.freeTermIds.push(termId);
  }

  /** Appends a (docNo, tf) entry to a term's posting list, growing it by doubling. */
  private append(termId: number, docNo: number, tf: number): void {
    let list = this.postings[termId]!;
    const used = this.postingLengths[termId]!;
    if (used + 2 > list.length) {
      const grown = new Int32Array(Math.max(8, list.length * 2));
      grown.set(list);
      this.postings[termId] = list = grown;
    }
    list[used] = docNo;
    list[used + 1] = tf;
    this.postingLengths[termId] = used + 2;
  }

  /** Drops the stale entries of one posting list. */
  private compact(termId: number): void {
    const list = this.postings[termId]!;
    const end = this.postingLengths[termId]!;
    const { ids } = this;
    let w = 0;
    for (let r = 0; r < end; r += 2) {
      if (ids[list[r]!] === undefined) continue;
      list[w++] = list[r]!;
      list[w++] = list[r + 1]!;
    }
    this.postingLengths[termId] = w;
    // Give memory back when the list shrank a lot, keeping room to grow.
    if (w * 4 < list.length && list.length > 64) this.postings[termId] = list.slice(0, Math.max(2 * w, 8));
    this.stale[termId] = 0;
  }

  /** Purges every list of removed documents so that their numbers can be reused. */
  private reclaimDocNos(): void {
    for (let termId = 0; termId < this.postings.length; termId++) {
      if (this.stale[termId]! > 0) this.compact(termId);
    }
    for (const docNo of this.deadDocNos) this.freeDocNos.push(docNo);
    this.deadDocNos = [];
  }
}

/** A bounded min-heap holding the best k (score desc, id asc) hits seen so far; its root is the worst kept. */
class TopK {
  private readonly ids: string[] = [];
  private readonly scores: number[] = [];

  constructor(private readonly k: number) {}

  /** Whether a hit would enter the heap now. */
  wouldAccept(id: string, score: number): boolean {
    return this.ids.length < this.k || worse(this.ids[0]!, this.scores[0]!, id, score);
  }

  /** Adds a hit that {@link TopK.wouldAccept} approved. */
  push(id: string, score: number): void {
    if (this.ids.length < this.k) {
      this.ids.push(id);
      this.scores.push(score);
      this.siftUp(this.ids.length - 1);
    } else {
      this.ids[0] = id;
      this.scores[0] = score;
      this.siftDown(0);
    }
  }

  /** The kept hits, best first. */
  drain(): TextHit[] {
    const hits = this.ids.map((id, i) => ({ id, score: this.scores[i]! }));
    hits.sort((x, y) => (worse(x.id, x.score, y.id, y.score) ? 1 : worse(y.id, y.score, x.id, x.score) ? -1 : 0));
    return hits;
  }

  private siftUp(i: number): void {
    const { ids, scores } = this;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!worse(ids[i]!, scores[i]!, ids[parent]!, scores[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const { ids, scores } = this;
    const n = ids.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      let child = left;
      const right = left + 1;
      if (right < n && worse(ids[right]!, scores[right]!, ids[left]!, scores[left]!)) child = right;
      if (!worse(ids[child]!, scores[child]!, ids[i]!, scores[i]!)) break;
      this.swap(i, child);
      i = child;
    }
  }

  private swap(i: number, j: number): void {
    const { ids, scores } = this;
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    [scores[i], scores[j]] = [scores[j]!, scores[i]!];
  }
}

/** Whether hit a ranks below hit b: lower score, or equal score and a later id. */
function worse(aId: string, aScore: number, bId: string, bScore: number): boolean {
  return aScore < bScore || (aScore === bScore && aId > bId);
}
