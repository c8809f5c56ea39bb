/**
 * A small, dependency-free SVG line chart: numeric x axis, one or more series, optional
 * horizontal reference lines (e.g. the full-precision baseline), "nice" ticks, a legend.
 * Output is a standalone SVG document (UTF-8 text) that browsers and Markdown viewers render.
 */

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  /** Stroke colour; a palette colour when omitted. */
  color?: string;
  /** Dashed stroke. */
  dashed?: boolean;
}

export interface ReferenceLine {
  name: string;
  y: number;
  color?: string;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  references?: ReferenceLine[];
  /** Logarithmic y axis (all values must be > 0). */
  logY?: boolean;
  /** Integer x ticks only (iterations, epochs). */
  integerX?: boolean;
  width?: number;
  height?: number;
}

/** The series colours, in order (callers pairing two series per run reuse them). */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** About `count` round tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Ticks at 1, 2, 5 × 10^k inside [lo, hi] (just 1 × 10^k when that already gives several). */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo && v <= hi) ticks.push(v);
    }
  const decades = ticks.filter((t) => Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9);
  return decades.length >= 3 ? decades : ticks;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return Number(v.toPrecision(4)).toString();
}

/** Renders the chart. Series with no finite points are listed in the legend but not drawn. */
export function lineChartSvg(spec: ChartSpec): string {
  const width = spec.width ?? 640;
  const height = spec.height ?? 400;
  const margin = { left: 72, right: 20, top: 40, bottom: 56 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const pts = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const ys = pts.map((p) => p.y).concat((spec.references ?? []).map((r) => r.y));
  const xs = pts.map((p) => p.x);
  let [xLo, xHi] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (xHi === xLo) [xLo, xHi] = [xLo - 1, xHi + 1];
  const tY = (v: number) => (spec.logY ? Math.log10(v) : v);
  let [yLo, yHi] = ys.length ? [Math.min(...ys.map(tY)), Math.max(...ys.map(tY))] : [0, 1];
  if (yHi === yLo) [yLo, yHi] = [yLo - 0.5, yHi + 0.5];
  const pad = (yHi - yLo) * 0.08;
  [yLo, yHi] = [yLo - pad, yHi + pad];
  const sx = (x: number) => margin.left + ((x - xLo) / (xHi - xLo)) * plotW;
  const sy = (y: number) => margin.top + (1 - (tY(y) - yLo) / (yHi - yLo)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  // Grid and ticks.
  let xTicks = niceTicks(xLo, xHi, 6);
  if (spec.integerX) xTicks = xTicks.filter((t) => Number.isInteger(t));
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${margin.top + plotH + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  const yTickValues = spec.logY ? logTicks(10 ** yLo, 10 ** yHi) : niceTicks(yLo, yHi, 6);
  for (const t of yTickValues) {
    const y = sy(t);
    if (y < margin.top - 0.5 || y > margin.top + plotH + 0.5) continue;
    out.push(`<line x1="${margin.left}" y1="${y.toFixed(1)}" x2="${margin.left + plotW}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${margin.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${formatTick(t)}</text>`);
  }
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  out.push(
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" ` +
      `text-anchor="middle">${escapeXml(spec.yLabel)}${spec.logY ? ' (log scale)' : ''}</text>`,
  );
  // Reference lines, then the series; the legend last, on top.
  const entries: { color: string; label: string; dashed: boolean }[] = [];
  /** Points along everything drawn, in pixels: where the legend should not sit. */
  const drawn: [number, number][] = [];
  for (const r of spec.references ?? []) {
    const color = r.color ?? '#555';
    const y = sy(r.y);
    out.push(
      `<line x1="${margin.left}" y1="${y.toFixed(1)}" x2="${margin.left + plotW}" y2="${y.toFixed(1)}" stroke="${color}" stroke-dasharray="6 4"/>`,
    );
    for (let x = margin.left; x <= margin.left + plotW; x += 8) drawn.push([x, y]);
    entries.push({ color, label: `${r.name} (${formatTick(r.y)})`, dashed: true });
  }
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const good = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.logY || p.y > 0));
    if (good.length) {
      const d = good.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
      for (const p of good) out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
      good.forEach((p, j) => {
        const q = good[j + 1] ?? p;
        for (let k = 0; k < 12; k++) {
          const f = k / 12;
          drawn.push([sx(p.x + (q.x - p.x) * f), sy(p.y + (q.y - p.y) * f)]);
        }
      });
    }
    entries.splice(i, 0, { color, label: s.name, dashed: !!s.dashed });
  });
  // The legend (series first, then references) in the plot corner that covers the fewest drawn
  // points (ties: top left, top right, bottom left, bottom right), on a white box.
  const boxW = 34 + Math.max(0, ...entries.map((e) => e.label.length)) * 6.6;
  const boxH = 8 + entries.length * 16;
  const inset = 6;
  const corners: [number, number][] = [
    [margin.left + inset, margin.top + inset],
    [margin.left + plotW - inset - boxW, margin.top + inset],
    [margin.left + inset, margin.top + plotH - inset - boxH],
    [margin.left + plotW - inset - boxW, margin.top + plotH - inset - boxH],
  ];
  const covered = ([x, y]: [number, number]) => drawn.filter(([px, py]) => px >= x && px <= x + boxW && py >= y && py <= y + boxH).length;
  const [bx, by] = corners.reduce((best, c) => (covered(c) < covered(best) ? c : best));
  out.push(
    `<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${boxW.toFixed(1)}" height="${boxH}" fill="white" fill-opacity="0.9" stroke="#ccc"/>`,
  );
  entries.forEach((e, i) => legend(out, bx + 6, by + 16 + i * 16, e.color, e.label, e.dashed));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function legend(out: string[], x: number, y: number, color: string, label: string, dashed: boolean): void {
  out.push(
    `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${color}" ` +
      `stroke-width="2"${dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
    `<text x="${x + 24}" y="${y}">${escapeXml(label)}</text>`,
  );
}
