import { describe, expect, it } from 'vitest';
import { lineChartSvg } from '../ts/report/svg-chart.js';

/** The legend box's top-left corner, as drawn. */
function legendBox(svg: string): { x: number; y: number } {
  const m = /<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="\d+" fill="white" fill-opacity/.exec(svg);
  if (!m) throw new Error('no legend box');
  return { x: Number(m[1]), y: Number(m[2]) };
}

describe('line chart', () => {
  const base = { title: 't', xLabel: 'x', yLabel: 'y', width: 640, height: 400 };
  const margin = { left: 72, top: 40 };

  it('puts the legend in the plot corner the lines leave free, listing series then references', () => {
    // A line falling from the top left to the bottom right: the top-right corner is free.
    const falling = lineChartSvg({
      ...base,
      series: [
        { name: 'quantized', points: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((x) => ({ x, y: 100 - 9 * x })) },
        { name: 'retrained FP', dashed: true, points: [1, 5, 10].map((x) => ({ x, y: 95 - 9 * x })) },
      ],
      references: [{ name: 'FP model', y: 5 }],
    });
    const box = legendBox(falling);
    expect(box.x).toBeGreaterThan(640 / 2);
    expect(box.y).toBeLessThan(400 / 2);
    const labels = [...falling.matchAll(/<text x="[\d.]+" y="[\d.]+">([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['quantized', 'retrained FP', 'FP model (5)']);
    // A rising line leaves the top left free: the first corner tried.
    const rising = lineChartSvg({ ...base, series: [{ name: 'loss', points: [0, 5, 10].map((x) => ({ x, y: 10 * x })) }] });
    expect(legendBox(rising)).toEqual({ x: margin.left + 6, y: margin.top + 6 });
  });
});
