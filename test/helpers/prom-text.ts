// Reads samples out of a Prometheus text exposition, for tests that compare counters before and after.

/**
 * Every sample of an exposition as `name{labels}` → value (labels exactly as the server printed them, `name` alone when
 * a sample has none). Comment lines are skipped.
 */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}
