/**
 * Training jobs: "Run as Training Job…" (a dialog whose form comes from the notebook's
 * parameters cell) and the Training Jobs side panel (live status and progress, metrics, the
 * executed notebook, cancel).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  IToolbarWidgetRegistry,
  Notification,
  ToolbarButton,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { Time } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import {
  ITranslator,
  TranslationBundle,
  nullTranslator
} from '@jupyterlab/translation';
import { SidePanel, refreshIcon } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import { Panel, Widget } from '@lumino/widgets';

import {
  IParameter,
  IRun,
  MlopsApiError,
  errorBody,
  postJSON,
  requestAPI
} from './api';
import { el, linkButton, smallButton } from './dom';
import { jobsIcon } from './icons';
import { askAboutNotebook, goToCell, notebookFor } from './notebooks';
import { IMlopsSettings } from './settings';

export namespace JobCommandIDs {
  export const run = 'jupyter-mlops:run-training-job';
  export const show = 'jupyter-mlops:show-jobs';
}

/** What the Run dialog hands back: the values the user changed, as the server takes them. */
export interface IRunChoice {
  parameters: Record<string, string | boolean>;
  sweep: boolean;
}

/** A parameter's default as the form shows it (string defaults without their quotes). */
function shownDefault(p: IParameter): string {
  if (p.type === 'str') {
    const quoted = /^(['"])(.*)\1$/s.exec(p.default.trim());
    return quoted ? quoted[2] : p.default;
  }
  return p.default;
}

/**
 * The Run dialog's form, built from the parameters cell: one input per parameter prefilled
 * with its default (number, checkbox or text by the default's type). "Sweep" turns every
 * input into a text field that takes a comma list; the job then runs every combination.
 */
export class RunForm extends Widget implements Dialog.IBodyWidget<IRunChoice> {
  constructor(
    private parameters: IParameter[],
    private trans: TranslationBundle,
    previous: IRunChoice | null = null,
    error: string | null = null
  ) {
    super({ node: document.createElement('form') });
    this.addClass('jp-mlops-RunForm');
    for (const p of parameters) {
      const value = previous?.parameters[p.name];
      this.values.set(
        p.name,
        value === undefined
          ? shownDefault(p)
          : typeof value === 'boolean'
            ? value
              ? 'True'
              : 'False'
            : value
      );
    }
    this.sweep = previous?.sweep ?? false;
    if (error) {
      this.node.appendChild(el('div', 'jp-mlops-formError', error));
    }
    if (!parameters.length) {
      this.node.appendChild(
        el(
          'p',
          'jp-mlops-muted',
          trans.__(
            'This notebook has no cell tagged "parameters": the job runs it with its own values.'
          )
        )
      );
    }
    this.fields = el('div', 'jp-mlops-fields');
    this.node.appendChild(this.fields);
    if (parameters.length) {
      const toggle = el('label', 'jp-mlops-sweepToggle');
      const box = el('input');
      box.type = 'checkbox';
      box.name = 'jp-mlops-sweep';
      box.checked = this.sweep;
      box.onchange = () => {
        this.collect();
        this.sweep = box.checked;
        this.render();
      };
      toggle.append(box, el('span', '', trans.__('Sweep')));
      this.node.appendChild(toggle);
      this.node.appendChild(
        el(
          'p',
          'jp-mlops-muted jp-mlops-hint',
          trans.__(
            'A comma list (for example 0.1,1,10) makes a sweep: one job per combination of values.'
          )
        )
      );
    }
    // Enter submits the dialog, not this form
    this.node.addEventListener('submit', event => event.preventDefault());
    this.render();
  }

  getValue(): IRunChoice {
    this.collect();
    const parameters: Record<string, string | boolean> = {};
    for (const p of this.parameters) {
      const value = this.values.get(p.name)!;
      if (value === shownDefault(p)) {
        continue; // only what the user changed: the notebook keeps its own defaults
      }
      parameters[p.name] =
        p.type === 'bool' && !this.sweep ? value === 'True' : value;
    }
    return { parameters, sweep: this.sweep };
  }

  /** Read the inputs into `values`. */
  private collect(): void {
    for (const input of this.fields.querySelectorAll<HTMLInputElement>(
      'input[data-parameter]'
    )) {
      const name = input.dataset.parameter!;
      this.values.set(
        name,
        input.type === 'checkbox'
          ? input.checked
            ? 'True'
            : 'False'
          : input.value
      );
    }
  }

  /** (Re)build the inputs for the current mode. */
  private render(): void {
    const trans = this.trans;
    this.fields.replaceChildren();
    for (const p of this.parameters) {
      const value = this.values.get(p.name)!;
      const label = el('label', 'jp-mlops-field');
      const name = el('span', 'jp-mlops-fieldName', p.name);
      const kind = el(
        'span',
        'jp-mlops-fieldType',
        p.type ?? trans.__('Python literal')
      );
      const input = el('input', 'jp-mod-styled jp-mlops-input');
      input.name = p.name;
      input.dataset.parameter = p.name;
      input.title = trans.__('Default: %1', p.default);
      if (p.type === 'bool' && !this.sweep) {
        input.type = 'checkbox';
        input.checked = value === 'True';
        input.classList.remove('jp-mod-styled');
      } else if ((p.type === 'int' || p.type === 'float') && !this.sweep) {
        input.type = 'number';
        input.step = p.type === 'int' ? '1' : 'any';
        input.value = value.split(',')[0].trim();
      } else {
        input.type = 'text';
        input.value = value;
        input.placeholder = this.sweep
          ? p.type === 'bool'
            ? 'True,False'
            : trans.__('%1 or a comma list', shownDefault(p))
          : shownDefault(p);
      }
      label.append(name, kind, input);
      this.fields.appendChild(label);
    }
  }

  private values = new Map<string, string>();
  private sweep: boolean;
  private fields: HTMLElement;
}

/** What the Jobs panel can do in the rest of JupyterLab. */
export interface IJobsActions {
  /** Open a file (path relative to the server root). */
  open(path: string): void;
  /** Take the user to the failing cell of a run's notebook. */
  goToCell(
    notebook: string,
    cellId: string | null,
    number: number | null
  ): void;
}

const ACTIVE = new Set(['queued', 'running']);

/** The Training Jobs side panel: runs with live status, progress, metrics, open, cancel. */
export class JobsPanel extends SidePanel {
  constructor(
    private actions: IJobsActions,
    private settings: IMlopsSettings,
    private trans: TranslationBundle,
    translator: ITranslator
  ) {
    super({ content: new Panel(), translator });
    this.id = 'jp-mlops-jobs';
    this.addClass('jp-mlops-JobsPanel');
    this.title.icon = jobsIcon;
    this.title.caption = trans.__('Training Jobs');
    const title = new Widget({
      node: el('h2', 'jp-text-truncated', trans.__('Training Jobs'))
    });
    this.header.addWidget(title);
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: trans.__('Refresh the list of jobs'),
        onClick: () => void this.refresh()
      })
    );
    this.message = el('div', 'jp-mlops-muted jp-mlops-jobsMessage');
    this.list = el('ul', 'jp-mlops-runs');
    const body = new Widget();
    body.addClass('jp-mlops-jobsBody');
    body.node.append(this.message, this.list);
    this.addWidget(body);

    this.poll = new Poll({
      factory: () => this.fetch(),
      frequency: { interval: this.interval(), backoff: true, max: 60_000 },
      name: 'jupyter-mlops:jobs',
      // nothing to show while the panel is closed
      standby: () => !this.isVisible || 'when-hidden'
    });
    settings.changed.connect(this.retune, this);
  }

  /** Fetch the runs now. */
  refresh(): Promise<void> {
    return this.poll.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.poll.dispose();
    this.settings.changed.disconnect(this.retune, this);
    super.dispose();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  /** Poll quickly while a job runs, slowly otherwise. */
  private interval(): number {
    return this.settings.pollInterval * (this.anyActive ? 1 : 10);
  }

  private retune(): void {
    const interval = this.interval();
    if (this.poll.frequency.interval !== interval) {
      this.poll.frequency = { ...this.poll.frequency, interval };
    }
  }

  private async fetch(): Promise<void> {
    let runs: IRun[];
    try {
      runs = (await requestAPI<{ runs: IRun[] }>('runs')).runs;
    } catch (reason) {
      this.message.textContent = this.trans.__(
        'Could not list the jobs: %1',
        errorBody(reason).message
      );
      throw reason; // the poll backs off
    }
    this.message.textContent = runs.length
      ? ''
      : this.trans.__(
          'No training jobs yet. Open a notebook and use "Run as Training Job".'
        );
    this.showRuns(runs);
    this.anyActive = runs.some(r => ACTIVE.has(r.status));
    this.retune();
  }

  /** Show `runs` in order, re-rendering only the rows whose data changed. */
  private showRuns(runs: IRun[]): void {
    const rows = runs.map(run => {
      const signature = JSON.stringify(run);
      const known = this.rows.get(run.id);
      if (known && known.signature === signature) {
        return known.node;
      }
      const node = this.row(run);
      this.rows.set(run.id, { signature, node });
      return node;
    });
    const ids = new Set(runs.map(r => r.id));
    for (const id of [...this.rows.keys()]) {
      if (!ids.has(id)) {
        this.rows.delete(id);
      }
    }
    this.list.replaceChildren(...rows);
  }

  private row(run: IRun): HTMLElement {
    const trans = this.trans;
    const item = el('li', `jp-mlops-run jp-mlops-run-${run.status}`);
    item.dataset.runId = run.id;

    const top = el('div', 'jp-mlops-runTop');
    top.appendChild(
      el(
        'span',
        `jp-mlops-badge jp-mlops-runStatus`,
        this.statusName(run.status)
      )
    );
    top.appendChild(el('span', 'jp-mlops-runNotebook', run.notebook));
    item.appendChild(top);

    const facts: string[] = [run.id];
    if (run.sweep_id) {
      facts.push(trans.__('sweep %1', run.sweep_id));
    }
    if (run.started) {
      facts.push(Time.formatHuman(new Date(run.started * 1000)));
    }
    if (run.duration !== null) {
      facts.push(trans.__('%1 s', run.duration.toFixed(1)));
    }
    const meta = el('div', 'jp-mlops-runMeta', facts.join(' · '));
    if (run.started) {
      meta.title = Time.format(new Date(run.started * 1000));
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
    if (ACTIVE.has(run.status) && run.progress) {
      const { done, total, cell } = run.progress;
      if (total) {
        const bar = el('progress', 'jp-mlops-progressBar');
        bar.max = total;
        bar.value = done;
        item.appendChild(bar);
      }
      item.appendChild(
        el(
          'div',
          'jp-mlops-runProgress',
          total
            ? trans.__('%1/%2 cells done · running %3', done, total, cell ?? '')
            : trans.__('starting…')
        )
      );
    }
    const metrics = Object.entries(run.metrics);
    if (metrics.length) {
      const table = el('table', 'jp-mlops-metrics');
      for (const [name, value] of metrics) {
        const tr = table.insertRow();
        tr.insertCell().textContent = name;
        const cell = tr.insertCell();
        cell.textContent =
          typeof value === 'number'
            ? String(Number(value.toPrecision(4)))
            : String(value);
        cell.className = 'jp-mlops-metricValue';
      }
      item.appendChild(table);
    }
    if (run.status === 'failed' && run.error?.message) {
      item.appendChild(el('pre', 'jp-mlops-errorMessage', run.error.message));
    }
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
            this.actions.goToCell(
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
          () => this.actions.open(run.executed_path!),
          'jp-mlops-openExecuted'
        )
      );
    }
    if (ACTIVE.has(run.status)) {
      const cancel = smallButton(
        trans.__('Cancel'),
        () => void this.cancel(run, cancel),
        'jp-mod-warn jp-mlops-cancel'
      );
      buttons.appendChild(cancel);
    }
    if (buttons.childElementCount) {
      item.appendChild(buttons);
    }
    return item;
  }

  private async cancel(run: IRun, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await requestAPI(`runs/${run.id}`, { method: 'DELETE' });
    } catch (reason) {
      await showErrorMessage(
        this.trans.__('Cancel %1', run.id),
        errorBody(reason).message
      );
    }
    await this.refresh();
  }

  private statusName(status: IRun['status']): string {
    const trans = this.trans;
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

  private poll: Poll;
  private anyActive = false;
  private list: HTMLElement;
  private message: HTMLElement;
  private rows = new Map<string, { signature: string; node: HTMLElement }>();
}

export const jobsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:jobs',
  description:
    'Training jobs: run a notebook as a recorded papermill job, and follow the jobs.',
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager, IMlopsSettings],
  optional: [
    ICommandPalette,
    ITranslator,
    IToolbarWidgetRegistry,
    ILayoutRestorer
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    docManager: IDocumentManager,
    settings: IMlopsSettings,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    toolbarRegistry: IToolbarWidgetRegistry | null,
    restorer: ILayoutRestorer | null
  ) => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_mlops');

    const openNotebook = async (
      path: string
    ): Promise<NotebookPanel | null> => {
      const open = tracker.find(panel => panel.context.path === path);
      if (open) {
        return open;
      }
      try {
        await docManager.services.contents.get(path, { content: false });
      } catch {
        await showErrorMessage(
          trans.__('Open notebook'),
          trans.__('%1 is not under the server root.', path)
        );
        return null;
      }
      const widget = docManager.openOrReveal(path);
      if (!(widget instanceof NotebookPanel)) {
        return null;
      }
      await widget.context.ready;
      return widget;
    };

    const jobs = new JobsPanel(
      {
        open: path => void docManager.openOrReveal(path),
        goToCell: (path, cellId, number) =>
          void openNotebook(path).then(
            panel => panel && goToCell(app, panel, cellId, number)
          )
      },
      settings,
      trans,
      translator
    );
    app.shell.add(jobs, 'right', { rank: 900 });
    if (restorer) {
      restorer.add(jobs, 'jupyter-mlops:jobs');
    }

    app.commands.addCommand(JobCommandIDs.show, {
      label: trans.__('Show Training Jobs'),
      caption: trans.__('Open the Training Jobs panel'),
      icon: args => (args.isPalette ? undefined : jobsIcon),
      execute: () => {
        app.shell.activateById(jobs.id);
        return jobs.refresh();
      }
    });

    app.commands.addCommand(JobCommandIDs.run, {
      label: args =>
        args.toolbar
          ? trans.__('Run as Job')
          : trans.__('Run as Training Job…'),
      caption: trans.__(
        'Run the notebook with papermill as a recorded training job (or a sweep)'
      ),
      icon: args => (args.isPalette ? undefined : jobsIcon),
      isEnabled: args => !!notebookFor(tracker, args),
      execute: async args => {
        const panel = notebookFor(tracker, args);
        if (!panel) {
          return;
        }
        const asked = await askAboutNotebook<{ parameters: IParameter[] }>(
          app,
          panel,
          'parameters',
          trans.__('Run as Training Job')
        );
        if (!asked) {
          return;
        }
        const path = asked.path;
        const parameters = asked.answer.parameters;
        let previous: IRunChoice | null = null;
        let error: string | null = null;
        // The dialog comes back with the server's reason until the values are accepted.
        for (;;) {
          const answer: Dialog.IResult<IRunChoice> = await showDialog({
            title: trans.__(
              'Run %1 as a Training Job',
              panel.context.localPath.split('/').pop() ?? path
            ),
            body: new RunForm(parameters, trans, previous, error),
            buttons: [
              Dialog.cancelButton(),
              Dialog.okButton({ label: trans.__('Run') })
            ],
            focusNodeSelector: 'input'
          });
          if (!answer.button.accept || !answer.value) {
            return;
          }
          previous = answer.value;
          try {
            const started = await postJSON<{ run?: string; sweep?: string }>(
              'runs',
              { path, parameters: answer.value.parameters }
            );
            Notification.info(
              started.sweep
                ? trans.__('Started sweep %1', started.sweep)
                : trans.__('Started training job %1', started.run ?? ''),
              { autoClose: 3000 }
            );
            break;
          } catch (reason) {
            if (reason instanceof MlopsApiError && reason.status === 400) {
              error = errorBody(reason).message;
              continue;
            }
            await showErrorMessage(
              trans.__('Run as Training Job'),
              errorBody(reason).message
            );
            return;
          }
        }
        app.shell.activateById(jobs.id);
        await jobs.refresh();
      }
    });

    if (palette) {
      const category = trans.__('MLOps');
      palette.addItem({ command: JobCommandIDs.run, category });
      palette.addItem({ command: JobCommandIDs.show, category });
    }
    if (toolbarRegistry) {
      toolbarRegistry.addFactory<NotebookPanel>(
        'Notebook',
        'mlops-run',
        panel =>
          new ToolbarButton({
            icon: jobsIcon,
            label: trans.__('Run as Job'),
            tooltip: trans.__(
              'Run the notebook with papermill as a recorded training job (or a sweep)'
            ),
            className: 'jp-mlops-runButton',
            onClick: () =>
              void app.commands.execute(JobCommandIDs.run, {
                path: panel.context.path
              })
          })
      );
    }
  }
};
