// The progress bar of `vecstore import` and `export` (cli-progress on stderr, only on a terminal): rows, rate, ETA.
import cliProgress from 'cli-progress';

/** A progress display; a no-op when stderr is not a terminal (scripts and tests get the summary line only). */
export interface Progress {
  update(done: number): void;
  setTotal(total: number): void;
  stop(): void;
}

export function startProgress(label: string, total: number, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return { update() {}, setTotal() {}, stop() {} };
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { rate: 0 });
  return {
    update(done) {
      bar.update(done, { rate: Math.round(done / Math.max(1e-3, (performance.now() - started) / 1000)) });
    },
    setTotal(t) {
      bar.setTotal(t);
    },
    stop() {
      bar.stop();
    },
  };
}
