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
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import {
  ITranslator,
  TranslationBundle,
  nullTranslator
} from '@jupyterlab/translation';
import { SidePanel, refreshIcon } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import { IRunChoice, RunForm } from './runform';
import { ExecutedRunsDrive, executedPath } from './drive';
import { JobsStatus, notifyEnded } from './jobstatus';
import {
  IParameter,
  IRun,
  MlopsApiError,
  errorBody,
  postJSON,
  requestAPI
} from './api';
import { el } from './dom';
import { ACTIVE, IRunActions, refreshTimes, runCard, shortId } from './runcard';
import { sweepCard, sweepStatus } from './sweeps';
import { jobsIcon } from './icons';
import { askAboutNotebook, goToCell, notebookFor } from './notebooks';
import { IMlopsSettings } from './settings';

export namespace JobCommandIDs {
  export const run = 'jupyter-mlops:run-training-job';
  export const show = 'jupyter-mlops:show-jobs';
}

/** What the Jobs panel can do in the rest of JupyterLab. */
export type IJobsActions = Omit<IRunActions, 'cancel'>;

/** A run or sweep that ended while this page watched it. */
export interface IEnded {
  kind: 'run' | 'sweep';
  id: string;
  status: string;
  runs: IRun[];
}

/** The Training Jobs side panel: runs and sweeps with live status, progress, metrics. */
export class JobsPanel extends SidePanel {
  constructor(
    actions: IJobsActions,
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
    this.runActions = {
      ...actions,
      cancel: (id, button) => void this.cancel(id, button)
    };
    // Polled while the page is visible, panel open or not: the status bar and the
    // notifications follow the jobs too.
    this.poll = new Poll({
      factory: () => this.fetch(),
      frequency: { interval: this.interval(), backoff: true, max: 60_000 },
      name: 'jupyter-mlops:jobs',
      standby: 'when-hidden'
    });
    this.clock = window.setInterval(() => refreshTimes(this.list), 15_000);
    settings.changed.connect(this.retune, this);
  }

  /** Emitted with the number of active runs whenever it changes. */
  get activeChanged(): ISignal<this, number> {
    return this._activeChanged;
  }

  /** Emitted when a run or a sweep this page saw running has ended. */
  get ended(): ISignal<this, IEnded> {
    return this._ended;
  }

  /** Fetch the runs now. */
  refresh(): Promise<void> {
    return this.poll.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this.clock);
    this.poll.dispose();
    this.settings.changed.disconnect(this.retune, this);
    super.dispose();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  /** Poll quickly while a job runs, slowly otherwise. */
  private interval(): number {
    return this.settings.pollInterval * (this.active ? 1 : 10);
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
    this.runs = runs;
    this.render();
    this.announce(runs);
    const active = runs.filter(r => ACTIVE.has(r.status)).length;
    if (active !== this.active) {
      this.active = active;
      this._activeChanged.emit(active);
    }
    this.retune();
  }

  /** Tell `ended` about runs and sweeps that ended since the last fetch. */
  private announce(runs: IRun[]): void {
    const sweeps = new Map<string, IRun[]>();
    for (const run of runs) {
      if (run.sweep_id) {
        sweeps.set(run.sweep_id, [...(sweeps.get(run.sweep_id) ?? []), run]);
      }
      const was = this.seen.get(run.id);
      this.seen.set(run.id, run.status);
      if (was && ACTIVE.has(was) && !ACTIVE.has(run.status) && !run.sweep_id) {
        this._ended.emit({
          kind: 'run',
          id: run.id,
          status: run.status,
          runs: [run]
        });
      }
    }
    for (const [id, members] of sweeps) {
      const status = sweepStatus(members);
      const was = this.seen.get(`sweep:${id}`);
      this.seen.set(`sweep:${id}`, status);
      if (was && ACTIVE.has(was) && !ACTIVE.has(status)) {
        this._ended.emit({ kind: 'sweep', id, status, runs: members });
      }
    }
  }

  /** Runs, newest first, with a sweep's members grouped under it. */
  private render(): void {
    const cards: HTMLElement[] = [];
    const done = new Set<string>();
    for (const run of this.runs) {
      if (!run.sweep_id) {
        cards.push(
          this.cached(run.id, [run], () =>
            runCard(run, this.runActions, this.trans)
          )
        );
        continue;
      }
      if (done.has(run.sweep_id)) {
        continue;
      }
      const id = run.sweep_id;
      done.add(id);
      const members = this.runs.filter(r => r.sweep_id === id).reverse();
      const chosen = `${this.chosen.get(id)}|${this.chosen.has(`open:${id}`)}`;
      cards.push(
        this.cached(`sweep:${id}`, [chosen, ...members], () =>
          sweepCard(id, members, this.runActions, this.chosen, this.trans, () =>
            this.render()
          )
        )
      );
    }
    this.list.replaceChildren(...cards);
    refreshTimes(this.list);
  }

  /** The card for `key`, rebuilt only when `data` changed. */
  private cached(
    key: string,
    data: unknown[],
    make: () => HTMLElement
  ): HTMLElement {
    const signature = JSON.stringify(data);
    const known = this.cards.get(key);
    if (known && known.signature === signature) {
      return known.node;
    }
    const node = make();
    this.cards.set(key, { signature, node });
    return node;
  }

  private async cancel(id: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await requestAPI(`runs/${id}`, { method: 'DELETE' });
    } catch (reason) {
      await showErrorMessage(
        this.trans.__('Cancel %1', shortId(id)),
        errorBody(reason).message
      );
    }
    await this.refresh();
  }

  private poll: Poll;
  private clock: number;
  private active = 0;
  private runs: IRun[] = [];
  private seen = new Map<string, string>();
  private chosen = new Map<string, string>();
  private runActions: IRunActions;
  private list: HTMLElement;
  private message: HTMLElement;
  private cards = new Map<string, { signature: string; node: HTMLElement }>();
  private _activeChanged = new Signal<this, number>(this);
  private _ended = new Signal<this, IEnded>(this);
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
    ILayoutRestorer,
    IStatusBar
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    docManager: IDocumentManager,
    settings: IMlopsSettings,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    toolbarRegistry: IToolbarWidgetRegistry | null,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null
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

    app.serviceManager.contents.addDrive(new ExecutedRunsDrive());
    // read-only, and no kernel: the record of what ran
    const openExecuted = (run: IRun) =>
      void docManager.openOrReveal(
        executedPath(run.id, run.notebook),
        'default',
        undefined,
        {},
        { shouldStart: false, canStart: false }
      );
    const jobs = new JobsPanel(
      {
        openExecuted,
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
    const showJobs = () => app.shell.activateById(jobs.id);
    jobs.ended.connect((_, ended) =>
      notifyEnded(ended, trans, showJobs, openExecuted)
    );
    if (statusBar) {
      const item = new JobsStatus(trans, showJobs);
      jobs.activeChanged.connect((_, active) => (item.active = active));
      statusBar.registerStatusItem('jupyter-mlops:jobs-status', {
        item,
        align: 'left',
        rank: 50
      });
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
                ? trans.__('Started sweep %1', shortId(started.sweep))
                : trans.__(
                    'Started training job %1',
                    shortId(started.run ?? '')
                  ),
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
