/**
 * The Productionize results panel and the Training Jobs side panel (plain DOM widgets).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import {
  IErrorBody,
  IProductionizeResult,
  IRun,
  ITask,
  MlopsApiError,
  postJSON,
  requestAPI
} from './api';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

function section(parent: HTMLElement, title: string): HTMLElement {
  const box = el('section', 'jp-mlops-section');
  box.appendChild(el('h3', 'jp-mlops-sectionTitle', title));
  parent.appendChild(box);
  return box;
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

export interface IProductionizeActions {
  openFile(path: string): void;
  goToCell(cellId: string | null, number: number | null): void;
}

/** Runs productionize for one notebook and shows progress, then the results. */
export class ProductionizePanel extends Widget {
  constructor(
    readonly notebookPath: string,
    private actions: IProductionizeActions,
    private trans: TranslationBundle,
    private pollMs: () => number
  ) {
    super();
    this.addClass('jp-mlops-ProductionizePanel');
    this.title.label = trans.__('Productionize: %1', notebookPath.split('/').pop());
    this.title.closable = true;
  }

  /** Start a productionize task and follow it until it ends. */
  async start(execute: boolean): Promise<void> {
    const node = this.node;
    node.replaceChildren();
    node.appendChild(el('h2', 'jp-mlops-heading', this.title.label));
    const status = el('div', 'jp-mlops-status jp-mlops-status-running');
    status.textContent = this.trans.__('Productionizing…');
    node.appendChild(status);
    const log = el('ul', 'jp-mlops-progress');
    node.appendChild(log);
    let task: ITask<IProductionizeResult>;
    try {
      const started = await postJSON<{ task: string }>('productionize', {
        path: this.notebookPath,
        execute
      });
      do {
        await sleep(this.pollMs());
        task = await requestAPI<ITask<IProductionizeResult>>(
          `tasks/${started.task}`
        );
        log.replaceChildren(
          ...task.progress.map(line => el('li', '', line))
        );
      } while (task.status === 'running');
    } catch (reason) {
      const body =
        reason instanceof MlopsApiError
          ? reason.body
          : { message: String(reason) };
      this.showError(status, body);
      return;
    }
    if (task.status === 'failed' || !task.result) {
      this.showError(status, task.error ?? { message: 'failed' });
      return;
    }
    this.showResult(status, task.result);
  }

  private showError(status: HTMLElement, body: IErrorBody): void {
    status.className = 'jp-mlops-status jp-mlops-status-failed';
    status.textContent = this.trans.__('Productionize failed');
    const box = el('div', 'jp-mlops-error');
    box.appendChild(el('pre', 'jp-mlops-errorMessage', body.message ?? ''));
    for (const ref of [body.cell, body.other_cell]) {
      if (ref) {
        const go = el(
          'button',
          'jp-mlops-link jp-mlops-cellLink',
          this.trans.__('Go to cell %1', ref.number)
        );
        go.onclick = () => this.actions.goToCell(ref.id, ref.number);
        box.appendChild(go);
      }
    }
    this.node.appendChild(box);
  }

  private showResult(status: HTMLElement, result: IProductionizeResult): void {
    const trans = this.trans;
    status.className =
      'jp-mlops-status ' +
      (result.ok ? 'jp-mlops-status-succeeded' : 'jp-mlops-status-failed');
    status.textContent = result.ok
      ? trans.__('Package %1 written to %2', result.package, result.out_dir)
      : trans.__('Package written to %1, but its checks failed', result.out_dir);
    for (const warning of result.warnings) {
      this.node.appendChild(el('div', 'jp-mlops-warning', warning));
    }

    const files = section(this.node, trans.__('Generated files'));
    const list = el('ul', 'jp-mlops-files');
    for (const file of result.files) {
      const item = el('li');
      const open = el('button', 'jp-mlops-link jp-mlops-file', file);
      open.onclick = () => this.actions.openFile(`${result.out_dir}/${file}`);
      item.appendChild(open);
      list.appendChild(item);
    }
    files.appendChild(list);

    const lint = section(
      this.node,
      result.lint
        ? trans.__(
            'Lint: %1/10 (threshold %2)',
            result.lint.score.toFixed(2),
            result.lint.fail_under
          )
        : trans.__('Lint: not run')
    );
    const findings = el('ul', 'jp-mlops-findings');
    for (const finding of result.lint?.findings ?? []) {
      const item = el('li');
      const where =
        finding.cell_number !== null
          ? trans.__('cell %1 line %2', finding.cell_number, finding.cell_line)
          : `${finding.path}:${finding.line}`;
      const go = el(
        'button',
        'jp-mlops-link jp-mlops-finding',
        `${where}: ${finding.message_id} ${finding.message}`
      );
      go.dataset.cellId = finding.cell_id ?? '';
      go.onclick = () =>
        finding.cell_id || finding.cell_number
          ? this.actions.goToCell(finding.cell_id, finding.cell_number)
          : this.actions.openFile(`${result.out_dir}/${finding.path}`);
      item.appendChild(go);
      findings.appendChild(item);
    }
    if (!result.lint?.findings.length) {
      findings.appendChild(el('li', 'jp-mlops-muted', trans.__('No findings')));
    }
    lint.appendChild(findings);

    const tests = result.tests;
    const testBox = section(
      this.node,
      tests
        ? trans.__(
            'Tests: %1 passed, %2 failed, %3 errors, %4 skipped',
            tests.passed,
            tests.failed,
            tests.errors,
            tests.skipped
          )
        : trans.__('Tests: not run')
    );
    const cases = el('ul', 'jp-mlops-tests');
    for (const test of tests?.cases ?? []) {
      const item = el('li', `jp-mlops-test jp-mlops-test-${test.outcome}`);
      item.appendChild(el('span', 'jp-mlops-badge', test.outcome));
      item.appendChild(el('span', '', ` ${test.name}`));
      if (test.message && test.outcome !== 'passed') {
        item.appendChild(el('pre', 'jp-mlops-testMessage', test.message));
      }
      cases.appendChild(item);
    }
    testBox.appendChild(cases);
    for (const note of result.left_out) {
      testBox.appendChild(el('div', 'jp-mlops-muted', note));
    }

    const env = section(this.node, trans.__('Environment (requirements.txt)'));
    env.appendChild(el('pre', 'jp-mlops-env', result.environment));
  }
}

export interface IJobsActions {
  open(path: string): void;
}

/** The Training Jobs side panel: runs with live status, progress, metrics, cancel, open. */
export class JobsPanel extends Widget {
  private timer: number | null = null;
  private list = el('ul', 'jp-mlops-runs');
  private message = el('div', 'jp-mlops-muted');

  constructor(
    private actions: IJobsActions,
    private trans: TranslationBundle,
    private pollMs: () => number
  ) {
    super();
    this.id = 'jp-mlops-jobs';
    this.addClass('jp-mlops-JobsPanel');
    this.title.caption = trans.__('Training Jobs');
    const header = el('div', 'jp-mlops-jobsHeader');
    header.appendChild(el('h2', 'jp-mlops-heading', trans.__('Training Jobs')));
    const refresh = el('button', 'jp-mlops-link', trans.__('Refresh'));
    refresh.onclick = () => void this.refresh();
    header.appendChild(refresh);
    this.node.append(header, this.message, this.list);
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  /** Fetch the runs; keep polling while any is queued or running. */
  async refresh(): Promise<void> {
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
    let runs: IRun[] = [];
    try {
      runs = (await requestAPI<{ runs: IRun[] }>('runs')).runs;
      this.message.textContent = runs.length
        ? ''
        : this.trans.__('No training jobs yet: use "Run as Training Job".');
    } catch (reason) {
      this.message.textContent = String(
        reason instanceof Error ? reason.message : reason
      );
    }
    this.list.replaceChildren(...runs.map(run => this.row(run)));
    if (
      runs.some(r => r.status === 'running' || r.status === 'queued') &&
      !this.isDisposed
    ) {
      this.timer = window.setTimeout(() => void this.refresh(), this.pollMs());
    }
  }

  private row(run: IRun): HTMLElement {
    const trans = this.trans;
    const item = el('li', `jp-mlops-run jp-mlops-run-${run.status}`);
    item.dataset.runId = run.id;
    const top = el('div', 'jp-mlops-runTop');
    top.appendChild(el('span', `jp-mlops-badge jp-mlops-status-${run.status}`, run.status));
    top.appendChild(el('span', 'jp-mlops-runNotebook', ` ${run.notebook}`));
    item.appendChild(top);
    item.appendChild(el('div', 'jp-mlops-runId', run.id));
    const params = Object.entries(run.parameters)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ');
    if (params) {
      item.appendChild(el('div', 'jp-mlops-runParams', params));
    }
    if (run.progress && run.progress.total) {
      const bar = el('progress', 'jp-mlops-progressBar');
      bar.max = run.progress.total;
      bar.value = run.progress.done;
      item.appendChild(bar);
      item.appendChild(
        el(
          'div',
          'jp-mlops-muted',
          trans.__(
            '%1/%2 cells · %3',
            run.progress.done,
            run.progress.total,
            run.progress.cell ?? ''
          )
        )
      );
    }
    const metrics = Object.entries(run.metrics);
    if (metrics.length) {
      const table = el('table', 'jp-mlops-metrics');
      for (const [name, value] of metrics) {
        const tr = el('tr');
        tr.append(el('td', '', name), el('td', '', Number(value).toPrecision(4)));
        table.appendChild(tr);
      }
      item.appendChild(table);
    }
    if (run.status === 'failed' && run.error?.message) {
      item.appendChild(el('pre', 'jp-mlops-errorMessage', run.error.message));
    }
    const buttons = el('div', 'jp-mlops-runButtons');
    if (run.executed_path) {
      const open = el('button', 'jp-mlops-link', trans.__('Open executed notebook'));
      open.onclick = () => this.actions.open(run.executed_path!);
      buttons.appendChild(open);
    }
    if (run.status === 'running' || run.status === 'queued') {
      const cancel = el('button', 'jp-mlops-link jp-mlops-cancel', trans.__('Cancel'));
      cancel.onclick = async () => {
        cancel.disabled = true;
        try {
          await requestAPI(`runs/${run.id}`, { method: 'DELETE' });
        } finally {
          void this.refresh();
        }
      };
      buttons.appendChild(cancel);
    }
    item.appendChild(buttons);
    return item;
  }

  dispose(): void {
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
    }
    super.dispose();
  }
}
