import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

/** A small time-series line chart (uPlot). x is Unix seconds. Resizes with its container. */
export function Chart({ title, unit, t, series, height = 180, empty = 'Waiting for samples…' }: {
  title: string;
  unit: string;
  t: number[];
  series: ChartSeries[];
  height?: number;
  /** What to say while there is no data. */
  empty?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' }, ticks: { stroke: 'rgba(128,128,128,0.3)' } },
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' }, ticks: { stroke: 'rgba(128,128,128,0.3)' }, size: 56 },
      ],
      series: [{}, ...series.map((s) => ({ label: `${s.label} (${unit})`, stroke: s.color, width: 2 }))],
    };
    plot.current = new uPlot(opts, [t, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    showWindow(plot.current, t);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Recreated only when the set of series changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, unit, height]);

  useEffect(() => {
    if (!plot.current) return;
    plot.current.setData([t, ...series.map((s) => s.values)] as uPlot.AlignedData);
    showWindow(plot.current, t);
  }, [t, series]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {t.length === 0 && <p className="note chart-empty">{empty}</p>}
      <div ref={box} role="img" aria-label={`${title} over time`} />
    </figure>
  );
}

/** At least the last minute, so a few early samples do not stretch across the whole width. */
function showWindow(plot: uPlot, t: number[]): void {
  const max = t.length > 0 ? t[t.length - 1] : Date.now() / 1000;
  const min = t.length > 0 ? Math.min(t[0], max - 60) : max - 60;
  plot.setScale('x', { min, max });
}
