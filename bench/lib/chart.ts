/** One bar: a contender's throughput in one group. */
export interface Bar {
  label: string;
  opsPerSecond: number;
  /** Contender / baseline, printed after the figure. */
  ratio?: number;
  /** Drawn in grey: the raw-client reference the others are measured against. */
  baseline?: boolean;
}

/** A panel of bars sharing a title, e.g. "hit, 1 in flight". */
export interface BarGroup {
  title: string;
  bars: Bar[];
}

/** What {@link barChart} draws. */
export interface ChartSpec {
  title: string;
  groups: BarGroup[];
  /** Lines under the chart: machine, versions, method. */
  caption: string[];
}

const WIDTH = 1000;
const LABEL_RIGHT = 350;
const BAR_LEFT = 360;
const BAR_RIGHT = 790;
const BAR_HEIGHT = 16;
const BAR_GAP = 5;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const BASELINE_COLORS = ['#7f7f7f', '#b5b5b5'];
const COLORS = ['#1f5fa8', '#0a2f5c', '#e07b1a', '#2e9a48', '#8c5cc7', '#d0458f', '#17a2b8', '#a0522d'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function compact(value: number): string {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(value);
}

/** One color per label, the same in every group; baselines get greys. */
function palette(groups: readonly BarGroup[]): Map<string, string> {
  const colors = new Map<string, string>();
  let baselines = 0;
  let others = 0;
  for (const bar of groups.flatMap((g) => g.bars)) {
    if (colors.has(bar.label)) continue;
    const color = bar.baseline
      ? BASELINE_COLORS[baselines++ % BASELINE_COLORS.length]
      : COLORS[others++ % COLORS.length];
    colors.set(bar.label, color ?? '#000');
  }
  return colors;
}

/**
 * A grouped horizontal bar chart as a standalone SVG document. The axis is logarithmic, shared by all
 * groups: throughputs of an in-process tier and of a Redis round trip differ by orders of magnitude.
 */
export function barChart(spec: ChartSpec): string {
  const values = spec.groups.flatMap((g) => g.bars.map((b) => b.opsPerSecond));
  const lowDecade = Math.floor(Math.log10(Math.min(...values)));
  const highDecade = Math.ceil(Math.log10(Math.max(...values)));
  const x = (value: number) =>
    BAR_LEFT + ((Math.log10(value) - lowDecade) / Math.max(1, highDecade - lowDecade)) * (BAR_RIGHT - BAR_LEFT);
  const colors = palette(spec.groups);
  const out: string[] = [];
  let y = 56;

  for (const group of spec.groups) {
    out.push(`<text x="20" y="${y}" font-size="14" font-weight="bold">${escapeXml(group.title)}</text>`);
    y += 10;
    // Grid first, so the bars are drawn over it.
    const bottom = y + group.bars.length * (BAR_HEIGHT + BAR_GAP);
    for (let d = lowDecade; d <= highDecade; d++) {
      const gx = x(10 ** d).toFixed(1);
      out.push(
        `<line x1="${gx}" y1="${y - 2}" x2="${gx}" y2="${bottom}" stroke="#000" stroke-opacity="0.15"/>`,
        `<text x="${gx}" y="${bottom + 12}" font-size="10" text-anchor="middle" fill="#555">${compact(10 ** d)}</text>`,
      );
    }
    for (const bar of group.bars) {
      const mid = y + BAR_HEIGHT / 2 + 4;
      out.push(`<text x="${LABEL_RIGHT}" y="${mid}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`);
      const end = x(bar.opsPerSecond);
      const figure = `${Math.round(bar.opsPerSecond).toLocaleString('en-US')} ops/s`;
      const ratio = bar.ratio === undefined ? '' : ` · ${bar.ratio.toFixed(2)}x`;
      out.push(
        `<rect x="${BAR_LEFT}" y="${y}" width="${(end - BAR_LEFT).toFixed(1)}" height="${BAR_HEIGHT}" fill="${colors.get(bar.label)}"/>`,
        `<text x="${(end + 6).toFixed(1)}" y="${mid}" font-size="12">${figure}${ratio}</text>`,
      );
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += 40;
  }

  out.push(
    `<text x="${(BAR_LEFT + BAR_RIGHT) / 2}" y="${y - 18}" font-size="12" text-anchor="middle">operations per second (log scale; higher is better)</text>`,
  );
  y += 4;
  for (const line of spec.caption) {
    out.push(`<text x="20" y="${y}" font-size="11" fill="#444">${escapeXml(line)}</text>`);
    y += 15;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" viewBox="0 0 ${WIDTH} ${y + 10}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="20" y="28" font-size="18" font-weight="bold">${escapeXml(spec.title)}</text>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
