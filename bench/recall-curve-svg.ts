// Draws recall/QPS curves as a small self-contained SVG (QPS on a log scale), the picture the README shows.

export interface Curve {
  name: string;
  points: Array<{ recall: number; qps: number; ef: number }>;
}

const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];

export function recallQpsSvg(title: string, curves: Curve[]): string {
  const width = 720;
  const height = 440;
  const left = 70;
  const right = 180;
  const top = 40;
  const bottom = 50;
  const all = curves.flatMap((c) => c.points);
  const minRecall = Math.min(0.9, ...all.map((p) => p.recall));
  const qpsValues = all.map((p) => p.qps).filter((v) => v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...qpsValues))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...qpsValues))));
  const x = (recall: number) => left + ((recall - minRecall) / (1 - minRecall)) * (width - left - right);
  const y = (qps: number) => top + (1 - (Math.log10(qps) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (height - top - bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`);
  for (let decade = lo; decade <= hi; decade *= 10) {
    out.push(`<line x1="${left}" x2="${width - right}" y1="${y(decade)}" y2="${y(decade)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 8}" y="${y(decade) + 4}" text-anchor="end">${decade}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const r = minRecall + ((1 - minRecall) * i) / 5;
    out.push(`<line x1="${x(r)}" x2="${x(r)}" y1="${top}" y2="${height - bottom}" stroke="#eee"/>`);
    out.push(`<text x="${x(r)}" y="${height - bottom + 18}" text-anchor="middle">${r.toFixed(3)}</text>`);
  }
  out.push(`<line x1="${x(0.99)}" x2="${x(0.99)}" y1="${top}" y2="${height - bottom}" stroke="#999" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${width / 2 - 40}" y="${height - 12}">recall@10</text>`);
  out.push(`<text transform="translate(18 ${height / 2}) rotate(-90)" text-anchor="middle">queries per second (log)</text>`);
  curves.forEach((curve, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = [...curve.points].filter((p) => p.qps > 0).sort((a, b) => a.recall - b.recall);
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.map((p) => `${x(p.recall).toFixed(1)},${y(p.qps).toFixed(1)}`).join(' ')}"/>`);
    for (const p of points) out.push(`<circle cx="${x(p.recall).toFixed(1)}" cy="${y(p.qps).toFixed(1)}" r="3" fill="${colour}"><title>${escape(curve.name)} ef ${p.ef}: recall ${p.recall.toFixed(4)}, ${Math.round(p.qps)} QPS</title></circle>`);
    out.push(`<rect x="${width - right + 15}" y="${top + i * 22}" width="12" height="12" fill="${colour}"/>`);
    out.push(`<text x="${width - right + 32}" y="${top + i * 22 + 10}">${escape(curve.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
