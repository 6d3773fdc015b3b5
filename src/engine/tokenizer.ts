// Turns free text into the index terms shared by the text index's documents and its queries.

// Letters, numbers and combining marks; marks stay inside the word so "e" + U+0301 is not split off its base letter.
const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Splits text into lower-case terms for keyword (BM25) search.
 *
 * The text is NFKC-normalised (so full-width letters, ligatures such as "ﬁ" and composed/decomposed
 * accents index alike), lower-cased with the locale-independent Unicode mapping, and split on every
 * run of characters that is not a letter, number or mark (`\p{L}\p{N}\p{M}`). Punctuation, spaces,
 * symbols and underscores are separators: `"Café-au-lait"` gives `["café", "au", "lait"]`,
 * `"don't"` gives `["don", "t"]`, `"3.14"` gives `["3", "14"]`.
 *
 * Deliberately no stemming and no stop-word list: both are language-specific, and BM25's idf already
 * gives very common words a weight near zero. Scripts written without spaces (Chinese, Japanese, Thai)
 * are not segmented into words: a run such as `"向量数据库"` is one term, so it matches only as a whole.
 *
 * @param text - Any string; an empty string gives an empty array.
 * @returns The terms in text order, duplicates kept (term frequency matters to BM25).
 */
export function tokenize(text: string): string[] {
  if (text.length === 0) return [];
  // Lower-case after normalising: NFKC can produce upper-case letters (e.g. from full-width forms).
  const terms = text.normalize('NFKC').toLowerCase().match(TOKEN);
  return terms ?? [];
}
