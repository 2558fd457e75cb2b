/**
 * A sweep in the Jobs panel: its members grouped under it with the sweep's progress, a table
 * ranked by a metric the user picks, and a plot of that metric against each swept parameter.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IRun } from './api';
import { el, smallButton } from './dom';
import {
  ACTIVE,
  IRunActions,
  runCard,
  shortId,
  shownNumber,
  statusName,
  when
} from './runcard';

const SVG = 'http://www.w3.org/2000/svg';
/** Metrics where lower is better (ranked ascending). */
const LOWER_IS_BETTER = /(loss|error|rmse|mse|mae|mape|deviance|logloss)/i;

/** The sweep's status: running while any member is, else failed if any failed. */
export function sweepStatus(members: IRun[]): string {
  if (members.some(r => ACTIVE.has(r.status))) {
    return members.some(r => r.status === 'running') ? 'running' : 'queued';
  }
  if (members.some(r => r.status === 'failed')) {
    return 'failed';
  }
  return members.every(r => r.status === 'cancelled')
    ? 'cancelled'
    : 'succeeded';
}

/** Parameters whose value differs between members: what the sweep varies. */
export function sweptParameters(members: IRun[]): string[] {
  const names = new Set(members.flatMap(r => Object.keys(r.parameters)));
  return [...names].filter(
    name =>
      new Set(members.map(r => JSON.stringify(r.parameters[name]))).size > 1
  );
}

export function metricNames(members: IRun[]): string[] {
  return [...new Set(members.flatMap(r => Object.keys(r.metrics)))].sort();
}

/** Members ranked by `metric` (best first; lower first for losses and errors). */
export function ranked(members: IRun[], metric: string): IRun[] {
  const lower = LOWER_IS_BETTER.test(metric);
  const value = (r: IRun) => r.metrics[metric];
  return [...members].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x === undefined || y === undefined) {
      return x === undefined ? (y === undefined ? 0 : 1) : -1;
    }
    return lower ? x - y : y - x;
  });
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  className = ''
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    node.setAttribute(key, String(value));
  }
  if (className) {
    node.setAttribute('class', className);
  }
  return node;
}

/** A scatter plot of `metric` against `parameter` over the members that have both. */
export function sweepPlot(
  members: IRun[],
  parameter: string,
  metric: string
): SVGSVGElement {
  const [width, height, pad] = [220, 140, 34];
  const plot = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
  plot.setAttribute('class', 'jp-mlops-sweepPlot');
  plot.dataset.parameter = parameter;
  const points = members
    .filter(r => r.metrics[metric] !== undefined)
    .map(r => ({ x: r.parameters[parameter], y: r.metrics[metric], run: r }));
  const numeric = points.every(p => typeof p.x === 'number');
  const labels = [...new Set(points.map(p => JSON.stringify(p.x)))];
  const xs = points.map(p =>
    numeric ? (p.x as number) : labels.indexOf(JSON.stringify(p.x))
  );
  const ys = points.map(p => p.y);
  // a margin of 8% each side, so no point sits on an axis
  const span = (v: number[]) => {
    const [lo, hi] = [Math.min(...v), Math.max(...v)];
    const margin = lo === hi ? 1 : (hi - lo) * 0.08;
    return [lo - margin, hi + margin];
  };
  const [x0, x1] = span(xs.length ? xs : [0]);
  const [y0, y1] = span(ys.length ? ys : [0]);
  const [xLo, xHi] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 0];
  const [yLo, yHi] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 0];
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0)) * (width - pad - 10);
  const sy = (y: number) =>
    height - pad + 10 - ((y - y0) / (y1 - y0)) * (height - pad - 10);
  plot.append(
    svg(
      'line',
      { x1: pad, y1: height - pad + 10, x2: width - 6, y2: height - pad + 10 },
      'jp-mlops-axis'
    ),
    svg(
      'line',
      { x1: pad, y1: 6, x2: pad, y2: height - pad + 10 },
      'jp-mlops-axis'
    )
  );
  const text = (
    x: number,
    y: number,
    value: string,
    anchor: string,
    cls: string
  ) => {
    const node = svg('text', { x, y, 'text-anchor': anchor }, cls);
    node.textContent = value;
    plot.appendChild(node);
  };
  text(pad - 3, sy(yHi) + 3, shownNumber(yHi), 'end', 'jp-mlops-tick');
  text(pad - 3, sy(yLo) + 3, shownNumber(yLo), 'end', 'jp-mlops-tick');
  if (numeric) {
    text(
      sx(xLo),
      height - pad + 22,
      shownNumber(xLo),
      'middle',
      'jp-mlops-tick'
    );
    text(
      sx(xHi),
      height - pad + 22,
      shownNumber(xHi),
      'middle',
      'jp-mlops-tick'
    );
  } else {
    labels.forEach((label, i) =>
      text(sx(i), height - pad + 22, label, 'middle', 'jp-mlops-tick')
    );
  }
  text(
    (pad + width) / 2,
    height - 2,
    parameter,
    'middle',
    'jp-mlops-axisLabel'
  );
  points.forEach((p, i) => {
    const dot = svg(
      'circle',
      { cx: sx(xs[i]), cy: sy(p.y), r: 4 },
      'jp-mlops-point'
    );
    const title = svg('title', {});
    title.textContent = `${parameter}=${JSON.stringify(p.x)}: ${metric} ${shownNumber(p.y)} (${shortId(p.run.id)})`;
    dot.appendChild(title);
    plot.appendChild(dot);
  });
  return plot;
}

function rankedTable(
  members: IRun[],
  swept: string[],
  metric: string
): HTMLTableElement {
  const table = el('table', 'jp-mlops-sweepTable');
  const head = table.createTHead().insertRow();
  for (const title of ['#', ...swept, metric, '']) {
    head.appendChild(el('th', '', title));
  }
  const body = table.createTBody();
  ranked(members, metric).forEach((run, i) => {
    const row = body.insertRow();
    row.className = `jp-mlops-sweepRow jp-mlops-run-${run.status}`;
    row.dataset.runId = run.id;
    row.insertCell().textContent = String(i + 1);
    for (const name of swept) {
      row.insertCell().textContent = JSON.stringify(run.parameters[name]);
    }
    const value = run.metrics[metric];
    row.insertCell().textContent =
      value === undefined ? '–' : shownNumber(value);
    row.insertCell().textContent = run.status;
  });
  return table;
}

/** The card of a sweep: progress, ranked table, plots, and its members folded below. */
export function sweepCard(
  sweepId: string,
  members: IRun[],
  actions: IRunActions,
  chosen: Map<string, string>,
  trans: TranslationBundle,
  rerender: () => void
): HTMLElement {
  const status = sweepStatus(members);
  const item = el('li', `jp-mlops-sweep jp-mlops-run-${status}`);
  item.dataset.sweepId = sweepId;
  const ended = members.filter(r => !ACTIVE.has(r.status)).length;
  const top = el('div', 'jp-mlops-runTop');
  top.append(
    el('span', 'jp-mlops-badge jp-mlops-runStatus', statusName(status, trans)),
    el(
      'span',
      'jp-mlops-runNotebook',
      trans.__('Sweep of %1', members[0].notebook)
    )
  );
  item.appendChild(top);
  const meta = el('div', 'jp-mlops-runMeta');
  const id = el('code', 'jp-mlops-runId', shortId(sweepId));
  id.title = sweepId;
  meta.append(
    id,
    ' · ' + trans.__('%1 of %2 runs done', ended, members.length)
  );
  const started = Math.min(...members.map(r => r.started ?? r.created));
  meta.append(' · ', when(started));
  item.appendChild(meta);
  if (ended < members.length) {
    const bar = el('progress', 'jp-mlops-progressBar');
    const cells = members.map(r =>
      ACTIVE.has(r.status)
        ? r.progress?.total
          ? r.progress.done / r.progress.total
          : 0
        : 1
    );
    bar.max = members.length;
    bar.value = cells.reduce((a, b) => a + b, 0);
    item.appendChild(bar);
  }
  const swept = sweptParameters(members);
  const metrics = metricNames(members);
  if (!metrics.length) {
    if (members.some(r => r.status === 'succeeded')) {
      item.appendChild(
        el(
          'div',
          'jp-mlops-muted jp-mlops-noMetrics',
          trans.__(
            'No metrics to rank: the notebook never called log_metric (from jupyter_mlops import log_metric; log_metric("accuracy", acc)).'
          )
        )
      );
    }
  } else {
    const metric = metrics.includes(chosen.get(sweepId) ?? '')
      ? chosen.get(sweepId)!
      : metrics[0];
    const pick = el('label', 'jp-mlops-sweepPick', trans.__('Rank by '));
    const select = el('select', 'jp-mlops-sweepMetric');
    for (const name of metrics) {
      const option = el('option', '', name);
      option.value = name;
      option.selected = name === metric;
      select.appendChild(option);
    }
    select.onchange = () => {
      chosen.set(sweepId, select.value);
      rerender();
    };
    pick.appendChild(select);
    item.append(pick, rankedTable(members, swept, metric));
    const plots = el('div', 'jp-mlops-sweepPlots');
    for (const name of swept) {
      plots.appendChild(sweepPlot(members, name, metric));
    }
    item.appendChild(plots);
  }
  const folded = el('details', 'jp-mlops-sweepMembers');
  folded.appendChild(el('summary', '', trans.__('Runs (%1)', members.length)));
  folded.open = chosen.has(`open:${sweepId}`);
  folded.ontoggle = () =>
    folded.open
      ? chosen.set(`open:${sweepId}`, '1')
      : chosen.delete(`open:${sweepId}`);
  const list = el('ul', 'jp-mlops-runs');
  list.append(...members.map(run => runCard(run, actions, trans)));
  folded.appendChild(list);
  item.appendChild(folded);
  if (ended < members.length) {
    const cancel = smallButton(
      trans.__('Cancel sweep'),
      () => actions.cancel(sweepId, cancel),
      'jp-mod-warn jp-mlops-cancel jp-mlops-cancelSweep'
    );
    item.appendChild(cancel);
  }
  return item;
}
