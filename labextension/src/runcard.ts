/**
 * One run as the Jobs panel shows it: status, notebook, when (kept current), parameters,
 * progress, metrics (or why there are none), the error with its cell, and its buttons.
 */
import { Time } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';

import { IRun } from './api';
import { el, linkButton, smallButton } from './dom';

export const ACTIVE = new Set(['queued', 'running']);

/** What a run's buttons do. */
export interface IRunActions {
  /** Open the executed notebook of a run. */
  openExecuted(run: IRun): void;
  /** Take the user to the failing cell of a run's notebook. */
  goToCell(
    notebook: string,
    cellId: string | null,
    number: number | null
  ): void;
  /** Cancel a run (or a sweep, by its id). */
  cancel(id: string, button: HTMLButtonElement): void;
}

/**
 * A run or sweep id as people read it: its random part (`20261202-011304-c654ea` ->
 * `c654ea`); the whole id is in the tooltip.
 */
export function shortId(id: string): string {
  const tail = id.split('-').pop() ?? id;
  return tail.length >= 4 ? tail : id;
}

/** A relative time ("2 minutes ago") that `refreshTimes` keeps current. */
export function when(seconds: number): HTMLElement {
  const date = new Date(seconds * 1000);
  const node = el('time', 'jp-mlops-when', Time.formatHuman(date));
  node.dateTime = date.toISOString();
  node.title = Time.format(date);
  return node;
}

/** Re-read every relative time under `root` ("11 seconds ago" does not stay true). */
export function refreshTimes(root: HTMLElement): void {
  for (const node of root.querySelectorAll<HTMLTimeElement>(
    'time.jp-mlops-when'
  )) {
    node.textContent = Time.formatHuman(new Date(node.dateTime));
  }
}

export function statusName(status: string, trans: TranslationBundle): string {
  return (
    {
      queued: trans.__('queued'),
      running: trans.__('running'),
      succeeded: trans.__('succeeded'),
      failed: trans.__('failed'),
      cancelled: trans.__('cancelled')
    }[status] ?? status
  );
}

/** A metric value with 4 significant digits. */
export function shownNumber(value: unknown): string {
  return typeof value === 'number'
    ? String(Number(value.toPrecision(4)))
    : String(value);
}

function progressOf(run: IRun, trans: TranslationBundle): HTMLElement[] {
  if (!ACTIVE.has(run.status)) {
    return [];
  }
  const nodes: HTMLElement[] = [];
  const { done, total, cell } = run.progress ?? {
    done: 0,
    total: null,
    cell: null
  };
  if (total) {
    const bar = el('progress', 'jp-mlops-progressBar');
    bar.max = total;
    bar.value = done;
    nodes.push(bar);
  }
  nodes.push(
    el(
      'div',
      'jp-mlops-runProgress',
      run.status === 'queued'
        ? trans.__('queued: waiting for a worker')
        : total
          ? trans.__('%1/%2 cells done · running %3', done, total, cell ?? '')
          : trans.__('starting the kernel…')
    )
  );
  return nodes;
}

function metricsOf(run: IRun, trans: TranslationBundle): HTMLElement | null {
  const metrics = Object.entries(run.metrics);
  if (!metrics.length) {
    return run.status === 'succeeded'
      ? el(
          'div',
          'jp-mlops-muted jp-mlops-noMetrics',
          trans.__(
            'No metrics: the notebook never called log_metric (from jupyter_mlops import log_metric; log_metric("accuracy", acc)).'
          )
        )
      : null;
  }
  const table = el('table', 'jp-mlops-metrics');
  for (const [name, value] of metrics) {
    const tr = table.insertRow();
    tr.insertCell().textContent = name;
    const cell = tr.insertCell();
    cell.textContent = shownNumber(value);
    cell.className = 'jp-mlops-metricValue';
  }
  return table;
}

function buttonsOf(
  run: IRun,
  actions: IRunActions,
  trans: TranslationBundle
): HTMLElement | null {
  const buttons = el('div', 'jp-mlops-runButtons');
  const error = run.error;
  if (
    run.status === 'failed' &&
    error &&
    (error.cell_id || error.cell_number)
  ) {
    buttons.appendChild(
      linkButton(
        trans.__('Go to cell %1', error.cell_number ?? '?'),
        () =>
          actions.goToCell(
            run.notebook,
            error.cell_id ?? null,
            error.cell_number ?? null
          ),
        'jp-mlops-cellLink'
      )
    );
  }
  if (run.executed_path) {
    buttons.appendChild(
      smallButton(
        trans.__('Open executed notebook'),
        () => actions.openExecuted(run),
        'jp-mlops-openExecuted'
      )
    );
  }
  if (ACTIVE.has(run.status)) {
    const cancel = smallButton(
      trans.__('Cancel'),
      () => actions.cancel(run.id, cancel),
      'jp-mod-warn jp-mlops-cancel'
    );
    buttons.appendChild(cancel);
  }
  return buttons.childElementCount ? buttons : null;
}

/** The card of one run. */
export function runCard(
  run: IRun,
  actions: IRunActions,
  trans: TranslationBundle
): HTMLElement {
  const item = el('li', `jp-mlops-run jp-mlops-run-${run.status}`);
  item.dataset.runId = run.id;
  const top = el('div', 'jp-mlops-runTop');
  top.append(
    el(
      'span',
      'jp-mlops-badge jp-mlops-runStatus',
      statusName(run.status, trans)
    ),
    el('span', 'jp-mlops-runNotebook', run.notebook)
  );
  item.appendChild(top);
  const meta = el('div', 'jp-mlops-runMeta');
  const id = el('code', 'jp-mlops-runId', shortId(run.id));
  id.title = run.id;
  meta.appendChild(id);
  if (run.started) {
    meta.append(' · ', when(run.started));
  }
  if (run.duration !== null) {
    meta.append(' · ' + trans.__('%1 s', run.duration.toFixed(1)));
  }
  item.appendChild(meta);
  const params = Object.entries(run.parameters);
  if (params.length) {
    item.appendChild(
      el(
        'div',
        'jp-mlops-runParams',
        params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')
      )
    );
  }
  item.append(...progressOf(run, trans));
  const metrics = metricsOf(run, trans);
  if (metrics) {
    item.appendChild(metrics);
  }
  if (run.status === 'failed' && run.error?.message) {
    item.appendChild(el('pre', 'jp-mlops-errorMessage', run.error.message));
  }
  const buttons = buttonsOf(run, actions, trans);
  if (buttons) {
    item.appendChild(buttons);
  }
  return item;
}
