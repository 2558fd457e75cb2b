/**
 * Productionize: the command and notebook toolbar button, and the results panel that follows
 * the server's task (progress) and then shows the generated files, the lint findings (each
 * one takes you to its cell), the test results and the environment spec.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  IToolbarWidgetRegistry,
  MainAreaWidget,
  Notification,
  ToolbarButton,
  showDialog
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import {
  ITranslator,
  TranslationBundle,
  nullTranslator
} from '@jupyterlab/translation';
import { buildIcon, refreshIcon } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import {
  IErrorBody,
  ILintFinding,
  IProductionizeResult,
  IWarning,
  ITask,
  errorBody,
  postJSON,
  requestAPI
} from './api';
import { el, linkButton, section, sleep, smallButton } from './dom';
import { goToCell, notebookFor, saved } from './notebooks';
import { IMlopsSettings } from './settings';

export const PRODUCTIONIZE = 'jupyter-mlops:productionize';

/** What the results panel can do in the rest of JupyterLab. */
export interface IProductionizeActions {
  /** Open a file (path relative to the server root). */
  openFile(path: string): void;
  /** Take the user to a cell of the notebook (by id, else 1-based number). */
  goToCell(
    cellId: string | null,
    number: number | null,
    line?: number | null
  ): void;
}

/** Follows one productionize task of one notebook and shows its outcome. */
export class ProductionizeView extends Widget {
  constructor(
    public notebookPath: string,
    private actions: IProductionizeActions,
    private settings: IMlopsSettings,
    private trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-mlops-ProductionizeView');
  }

  /** True while a task runs. */
  get running(): boolean {
    return this._running;
  }

  /** Emitted when a run ends: the result, or null when it failed. */
  get finished(): ISignal<this, IProductionizeResult | null> {
    return this._finished;
  }

  /**
   * Start productionize on the server and follow it until it ends. `execute: false` skips
   * the recording run; `force` overwrites hand edits of the generated files.
   */
  async start(
    options: { execute?: boolean; force?: boolean } = {}
  ): Promise<void> {
    if (this._running) {
      return;
    }
    this._running = true;
    const trans = this.trans;
    this.node.replaceChildren();
    const status = el(
      'div',
      'jp-mlops-status jp-mlops-status-running',
      trans.__('Productionizing %1…', this.notebookPath)
    );
    const log = el('ol', 'jp-mlops-progress');
    this.node.append(status, log);
    try {
      const started = await postJSON<{ task: string }>('productionize', {
        path: this.notebookPath,
        out: null,
        force: options.force ?? false,
        execute: options.execute ?? this.settings.executeRecording
      });
      let task: ITask<IProductionizeResult>;
      do {
        await sleep(this.settings.pollInterval);
        if (this.isDisposed) {
          return;
        }
        task = await requestAPI<ITask<IProductionizeResult>>(
          `tasks/${started.task}`
        );
        log.replaceChildren(...task.progress.map(line => el('li', '', line)));
        const phase = task.progress[task.progress.length - 1];
        status.textContent =
          trans.__('Productionizing %1…', this.notebookPath) +
          (phase ? ` ${phase}` : '');
      } while (task.status === 'running');
      if (task.status === 'failed' || !task.result) {
        this.showError(status, task.error ?? { message: trans.__('failed') });
        this._running = false;
        this._finished.emit(null);
      } else {
        this.showResult(status, log, task.result);
        this._running = false;
        this._finished.emit(task.result);
      }
    } catch (reason) {
      this.showError(status, errorBody(reason));
      this._running = false;
      this._finished.emit(null);
    } finally {
      this._running = false;
    }
  }

  private showError(status: HTMLElement, body: IErrorBody): void {
    const trans = this.trans;
    status.className = 'jp-mlops-status jp-mlops-status-failed';
    status.textContent = trans.__('Productionize failed');
    const box = el('div', 'jp-mlops-error');
    box.appendChild(
      el('pre', 'jp-mlops-errorMessage', readableMessage(body.message ?? ''))
    );
    const links = el('div', 'jp-mlops-errorLinks');
    for (const ref of [body.cell, body.other_cell]) {
      if (ref) {
        links.appendChild(
          linkButton(
            trans.__('Go to cell %1', ref.number),
            () => this.actions.goToCell(ref.id, ref.number, body.line),
            'jp-mlops-cellLink'
          )
        );
      }
    }
    if (body.fix === 'no-execute') {
      links.appendChild(
        smallButton(
          trans.__('Productionize without recording'),
          () => void this.start({ execute: false }),
          'jp-mlops-fixNoExecute'
        )
      );
    } else if (body.fix === 'force') {
      links.appendChild(
        smallButton(
          trans.__('Overwrite my edits…'),
          () => void this.overwrite(),
          'jp-mod-warn jp-mlops-fixForce'
        )
      );
    }
    if (links.childElementCount) {
      box.appendChild(links);
    }
    this.node.appendChild(box);
  }

  /** After a confirm, productionize again replacing the hand-edited generated files. */
  private async overwrite(): Promise<void> {
    const trans = this.trans;
    const answer = await showDialog({
      title: trans.__('Overwrite your edits?'),
      body: trans.__(
        'The generated files you edited by hand are replaced by what the notebook generates. Move changes you want to keep into the notebook first.'
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('Overwrite') })
      ]
    });
    if (answer.button.accept) {
      await this.start({ force: true });
    }
  }

  private showResult(
    status: HTMLElement,
    log: HTMLElement,
    result: IProductionizeResult
  ): void {
    const trans = this.trans;
    status.className = `jp-mlops-status jp-mlops-status-${
      result.ok ? 'succeeded' : 'failed'
    }`;
    status.textContent = result.ok
      ? trans.__('Package %1 written to %2', result.package, result.out_dir)
      : trans.__(
          'Package %1 written to %2, but its checks failed',
          result.package,
          result.out_dir
        );
    if (result.cached) {
      status.appendChild(
        el(
          'span',
          'jp-mlops-muted',
          ' ' + trans.__('(unchanged since the last run)')
        )
      );
    }
    // the progress log folds away under the results
    const details = el('details', 'jp-mlops-log');
    details.appendChild(el('summary', '', trans.__('Progress log')));
    log.remove();
    details.appendChild(log);
    this.node.appendChild(details);
    this.showNotProven(result);
    for (const warning of result.warnings) {
      this.node.appendChild(this.warningRow(warning));
    }
    this.showFiles(result);
    this.showLint(result);
    this.showTests(result);
    const env = section(
      this.node,
      trans.__('Environment (requirements.txt)'),
      'jp-mlops-environment'
    );
    env.appendChild(el('pre', 'jp-mlops-env', result.environment));
  }

  /** Equivalence the generated tests could not check: never hidden in a skipped test. */
  private showNotProven(result: IProductionizeResult): void {
    if (!result.not_proven || result.not_proven.length === 0) {
      return;
    }
    const box = section(
      this.node,
      this.trans.__('Not proven (%1)', result.not_proven.length),
      'jp-mlops-notProven'
    );
    for (const item of result.not_proven) {
      box.appendChild(
        el('div', 'jp-mlops-warning', this.trans.__('not proven: %1', item))
      );
    }
  }

  /** A warning, linked to its cell when it names one. */
  private warningRow(warning: IWarning): HTMLElement {
    const row = el('div', 'jp-mlops-warning');
    const cell = warning.cell;
    if (cell === null) {
      row.textContent = warning.text;
      return row;
    }
    row.appendChild(
      linkButton(
        this.trans.__('cell %1', cell.number),
        () => this.actions.goToCell(cell.id, cell.number, warning.line),
        'jp-mlops-cellLink'
      )
    );
    row.appendChild(el('span', '', ': ' + readableMessage(warning.message)));
    return row;
  }

  private showFiles(result: IProductionizeResult): void {
    const box = section(
      this.node,
      this.trans.__('Generated files (%1)', result.files.length),
      'jp-mlops-filesSection'
    );
    const list = el('ul', 'jp-mlops-files');
    for (const file of result.files) {
      const item = el('li');
      item.appendChild(
        linkButton(
          file,
          () => this.actions.openFile(`${result.out_dir}/${file}`),
          'jp-mlops-file'
        )
      );
      list.appendChild(item);
    }
    box.appendChild(list);
  }

  private showLint(result: IProductionizeResult): void {
    const trans = this.trans;
    const lint = result.lint;
    const box = section(
      this.node,
      lint
        ? trans.__(
            'Lint: %1/10 (threshold %2)',
            lint.score.toFixed(2),
            lint.fail_under
          )
        : trans.__('Lint: not run'),
      'jp-mlops-lintSection'
    );
    if (lint && lint.score < lint.fail_under) {
      box.classList.add('jp-mlops-mod-failed');
    }
    const list = el('ul', 'jp-mlops-findings');
    for (const finding of lint?.findings ?? []) {
      list.appendChild(this.findingRow(result, finding));
    }
    if (lint && !lint.findings.length) {
      list.appendChild(el('li', 'jp-mlops-muted', trans.__('No findings')));
    }
    box.appendChild(list);
  }

  private findingRow(
    result: IProductionizeResult,
    finding: ILintFinding
  ): HTMLElement {
    const trans = this.trans;
    const item = el('li', 'jp-mlops-findingRow');
    const inCell = finding.cell_id !== null || finding.cell_number !== null;
    const where = inCell
      ? trans.__(
          'Cell %1, line %2',
          finding.cell_number ?? '?',
          finding.cell_line ?? '?'
        )
      : `${finding.path}:${finding.line}`;
    const go = linkButton(
      where,
      () =>
        inCell
          ? this.actions.goToCell(
              finding.cell_id,
              finding.cell_number,
              finding.cell_line
            )
          : this.actions.openFile(`${result.out_dir}/${finding.path}`),
      'jp-mlops-finding'
    );
    go.title = inCell
      ? trans.__('Go to the cell this line came from')
      : trans.__('Open %1', finding.path);
    if (finding.cell_id) {
      go.dataset.cellId = finding.cell_id;
    }
    item.append(
      go,
      el('code', 'jp-mlops-findingId', finding.message_id),
      el(
        'span',
        'jp-mlops-findingMessage',
        `${finding.message} (${finding.symbol})`
      )
    );
    return item;
  }

  private showTests(result: IProductionizeResult): void {
    const trans = this.trans;
    const tests = result.tests;
    const box = section(
      this.node,
      tests
        ? trans.__(
            'Tests: %1 passed, %2 failed, %3 errors, %4 skipped',
            tests.passed,
            tests.failed,
            tests.errors,
            tests.skipped
          )
        : trans.__('Tests: not run'),
      'jp-mlops-testsSection'
    );
    if (tests && (tests.failed || tests.errors)) {
      box.classList.add('jp-mlops-mod-failed');
    }
    const table = el('table', 'jp-mlops-tests');
    for (const test of tests?.cases ?? []) {
      const row = table.insertRow();
      row.className = `jp-mlops-test jp-mlops-test-${test.outcome}`;
      row.insertCell().appendChild(el('span', 'jp-mlops-badge', test.outcome));
      const name = row.insertCell();
      name.appendChild(el('span', 'jp-mlops-testName', test.name));
      if (test.message && test.outcome !== 'passed') {
        name.appendChild(el('pre', 'jp-mlops-testMessage', test.message));
      }
    }
    box.appendChild(table);
    for (const note of result.left_out) {
      box.appendChild(el('div', 'jp-mlops-muted', note));
    }
  }

  private _running = false;
  private _finished = new Signal<this, IProductionizeResult | null>(this);
}

/**
 * A message with cells named by number, as the links beside it: "cell 5 (id 3b0e…)" reads
 * "cell 5", "cell 4 (id 1c01…, mlops:skip)" reads "cell 4 (mlops:skip)".
 */
export function readableMessage(message: string): string {
  return message.replace(
    /(cell \d+) \(id [^,)]+(?:, ([^)]+))?\)/g,
    (_, cell: string, rest?: string) => (rest ? `${cell} (${rest})` : cell)
  );
}

/** A notification when a Productionize ends, with a link to its panel. */
function notifyProductionized(
  notebook: string,
  result: IProductionizeResult | null,
  show: () => void,
  trans: TranslationBundle
): void {
  const name = notebook.split('/').pop() ?? notebook;
  const actions = [
    {
      label: trans.__('Show results'),
      callback: show,
      displayType: 'link' as const
    }
  ];
  if (result === null) {
    Notification.error(trans.__('Productionize of %1 failed.', name), {
      autoClose: false,
      actions
    });
  } else if (result.ok) {
    Notification.success(
      trans.__('Package %1 written to %2.', result.package, result.out_dir),
      { autoClose: 6000, actions }
    );
  } else {
    Notification.warning(
      trans.__('Package %1 written, but its checks failed.', result.package),
      { autoClose: false, actions }
    );
  }
}

export const productionizePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:productionize',
  description:
    'Productionize: write a linted, tested package from the tagged cells and show the outcome.',
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager, IMlopsSettings],
  optional: [ICommandPalette, ITranslator, IToolbarWidgetRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    docManager: IDocumentManager,
    settings: IMlopsSettings,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    toolbarRegistry: IToolbarWidgetRegistry | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyter_mlops');
    /** One results panel per notebook, reused by later runs. */
    const open = new Map<NotebookPanel, MainAreaWidget<ProductionizeView>>();

    const panelFor = (notebook: NotebookPanel) => {
      let widget = open.get(notebook);
      if (widget && !widget.isDisposed) {
        widget.content.notebookPath = notebook.context.path;
        return widget;
      }
      const view = new ProductionizeView(
        notebook.context.path,
        {
          openFile: path => void docManager.openOrReveal(path),
          goToCell: (id, number, line) =>
            void goToCell(app, notebook, id, number, line)
        },
        settings,
        trans
      );
      widget = new MainAreaWidget({ content: view });
      widget.id = `jp-mlops-productionize-${++counter}`;
      widget.addClass('jp-mlops-ProductionizePanel');
      widget.title.icon = buildIcon;
      widget.title.closable = true;
      const again = new ToolbarButton({
        icon: refreshIcon,
        label: trans.__('Productionize Again'),
        tooltip: trans.__('Save the notebook and productionize it again'),
        onClick: () =>
          void app.commands.execute(PRODUCTIONIZE, {
            path: notebook.context.path
          })
      });
      widget.toolbar.addItem('again', again);
      const mine = widget;
      mine.disposed.connect(() => open.delete(notebook));
      notebook.disposed.connect(() => mine.dispose());
      open.set(notebook, widget);
      // One results area: a later notebook's panel is a tab beside the first one, not
      // another split that narrows every notebook.
      const sibling = [...open.values()].find(w => w !== mine && !w.isDisposed);
      app.shell.add(
        widget,
        'main',
        sibling
          ? { mode: 'tab-after', ref: sibling.id }
          : { mode: 'split-right', ref: notebook.id }
      );
      view.finished.connect((_, result) =>
        notifyProductionized(
          notebook.context.localPath,
          result,
          () => app.shell.activateById(mine.id),
          trans
        )
      );
      return widget;
    };
    let counter = 0;

    app.commands.addCommand(PRODUCTIONIZE, {
      label: args =>
        args.toolbar
          ? trans.__('Productionize')
          : trans.__('Productionize Notebook'),
      caption: trans.__(
        'Write a linted, tested Python package from the tagged cells'
      ),
      icon: buildIcon,
      isEnabled: args => !!notebookFor(tracker, args),
      execute: async args => {
        const notebook = notebookFor(tracker, args);
        if (!notebook) {
          return;
        }
        const widget = panelFor(notebook);
        widget.title.label = trans.__(
          'Productionize: %1',
          notebook.context.localPath.split('/').pop() ?? ''
        );
        app.shell.activateById(widget.id);
        if (widget.content.running) {
          return;
        }
        widget.content.notebookPath = await saved(notebook);
        await widget.content.start();
      }
    });

    if (palette) {
      palette.addItem({ command: PRODUCTIONIZE, category: trans.__('MLOps') });
    }
    if (toolbarRegistry) {
      toolbarRegistry.addFactory<NotebookPanel>(
        'Notebook',
        'mlops-productionize',
        panel =>
          new ToolbarButton({
            icon: buildIcon,
            label: trans.__('Productionize'),
            tooltip: trans.__(
              'Write a linted, tested Python package from the tagged cells'
            ),
            className: 'jp-mlops-productionizeButton',
            onClick: () =>
              void app.commands.execute(PRODUCTIONIZE, {
                path: panel.context.path
              })
          })
      );
    }
  }
};
