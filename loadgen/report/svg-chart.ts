// Line charts as inline SVG, so the HTML report opens offline with no script or stylesheet to fetch.
// Pure: series in, markup out.

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Draw as a step function (value holds until the next point). */
  readonly step?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** About five round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : `${Number(v.toPrecision(3))}`);

export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 360;
  const m = { left: 64, right: 16, top: 32, bottom: 48 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]).filter((x) => !o.logX || x > 0);
  const ys = all.map((p) => p[1]);
  const tx = (x: number) => (o.logX ? Math.log10(Math.max(x, 1e-9)) : x);
  let x0 = xs.length ? Math.min(...xs.map(tx)) : 0;
  let x1 = xs.length ? Math.max(...xs.map(tx)) : 1;
  if (o.logX) {
    x0 = Math.floor(x0);
    x1 = Math.ceil(x1);
  }
  if (x1 <= x0) x1 = x0 + 1;
  const y0 = Math.min(0, ...ys);
  let y1 = ys.length ? Math.max(...ys) : 1;
  if (y1 <= y0) y1 = y0 + 1;
  const px = (x: number) => m.left + ((tx(x) - x0) / (x1 - x0)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${escape(o.title)}</text>`);
  const xTicks = o.logX ? Array.from({ length: x1 - x0 + 1 }, (_, i) => 10 ** (x0 + i)) : niceTicks(x0, x1);
  for (const t of xTicks) {
    const x = px(t);
    parts.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${height - m.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${height - m.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    const y = py(t);
    parts.push(`<line x1="${m.left}" y1="${y}" x2="${width - m.right}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${width / 2}" y="${height - 10}" text-anchor="middle">${escape(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${height / 2}) rotate(-90)" text-anchor="middle">${escape(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => !o.logX || p[0] > 0);
    if (pts.length > 0) {
      let d = `M${px(pts[0][0]).toFixed(1)},${py(pts[0][1]).toFixed(1)}`;
      for (let k = 1; k < pts.length; k++) {
        if (s.step) d += `H${px(pts[k][0]).toFixed(1)}`;
        d += `${s.step ? "V" : `L${px(pts[k][0]).toFixed(1)},`}${py(pts[k][1]).toFixed(1)}`;
      }
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    }
    parts.push(`<rect x="${m.left + 10}" y="${m.top + 8 + i * 16}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${m.left + 26}" y="${m.top + 17 + i * 16}">${escape(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}
