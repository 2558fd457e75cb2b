/**
 * The Models panel: registered models and their versions with stage, lineage (run, notebook
 * sha256, data hashes, commit), metrics, the last validation, the ONNX parity (`convert`), a
 * Promote action behind a confirm (the registry's gate decides), and the audit history.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  ToolbarButton,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { Time } from '@jupyterlab/coreutils';
import {
  ITranslator,
  TranslationBundle,
  nullTranslator
} from '@jupyterlab/translation';
import { SidePanel, listIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';

import { IModel, IModelVersion, errorBody, postJSON, requestAPI } from './api';
import { el, smallButton } from './dom';
import { shortId, shownNumber } from './runcard';

export const SHOW_MODELS = 'jupyter-mlops:show-models';
const STAGES = ['staging', 'production', 'archived', 'none'] as const;

function lineage(
  version: IModelVersion,
  trans: TranslationBundle
): HTMLElement {
  const list = el('dl', 'jp-mlops-lineage');
  const add = (term: string, value: string, title = '') => {
    list.appendChild(el('dt', '', term));
    const dd = el('dd', '', value);
    dd.title = title || value;
    list.appendChild(dd);
  };
  const l = version.lineage;
  add(trans.__('Run'), shortId(l.run), l.run);
  add(trans.__('Notebook'), l.notebook ?? '–');
  add(
    trans.__('Notebook sha256'),
    (l.notebook_sha256 ?? '–').slice(0, 12),
    l.notebook_sha256 ?? ''
  );
  for (const input of l.inputs) {
    add(
      trans.__('Data'),
      `${input.path} ${(input.sha256 ?? '').slice(0, 12)}`,
      input.sha256 ?? ''
    );
  }
  add(
    trans.__('Commit'),
    l.commit
      ? l.commit.slice(0, 10) +
          (l.dirty ? ' ' + trans.__('(uncommitted changes)') : '')
      : trans.__('not in git'),
    l.commit ?? ''
  );
  return list;
}

function validation(
  version: IModelVersion,
  trans: TranslationBundle
): HTMLElement {
  const box = el('div', 'jp-mlops-validation');
  const v = version.validation;
  if (!v) {
    box.appendChild(
      el(
        'div',
        'jp-mlops-muted',
        trans.__(
          'Never validated: run `jupyter mlops validate %1` before promoting.',
          String(version.version)
        )
      )
    );
    return box;
  }
  box.appendChild(
    el(
      'div',
      `jp-mlops-validation-${v.passed ? 'passed' : 'failed'}`,
      (v.passed
        ? trans.__('Validation passed')
        : trans.__('Validation failed')) +
        ' · ' +
        (v.production
          ? trans.__('against production version %1', v.production)
          : trans.__('no production version to compare with')) +
        ' · ' +
        Time.formatHuman(new Date(v.at * 1000))
    )
  );
  if (v.metrics.length) {
    const table = el('table', 'jp-mlops-metrics');
    for (const row of v.metrics) {
      const tr = table.insertRow();
      tr.insertCell().textContent = row.metric;
      tr.insertCell().textContent =
        row.production === null ? '–' : shownNumber(row.production);
      tr.insertCell().textContent =
        row.candidate === null ? '–' : shownNumber(row.candidate);
      tr.insertCell().textContent =
        row.ok === null ? trans.__('not gated') : row.ok ? 'ok' : 'FAIL';
    }
    box.appendChild(table);
  }
  for (const p of v.problems) {
    box.appendChild(
      el('div', 'jp-mlops-warning', `${p.column}: ${p.check}: ${p.detail}`)
    );
  }
  return box;
}

function kilobytes(count: number): string {
  return `${(count / 1024).toFixed(1)} KB`;
}

function parity(version: IModelVersion, trans: TranslationBundle): HTMLElement {
  const box = el('div', 'jp-mlops-parity');
  const p = version.parity;
  if (!p) {
    box.appendChild(
      el(
        'div',
        'jp-mlops-muted',
        trans.__(
          'Not converted to ONNX: `jupyter mlops convert NAME:%1 --to onnx`.',
          String(version.version)
        )
      )
    );
    return box;
  }
  if (!p.current) {
    box.appendChild(
      el(
        'div',
        'jp-mlops-warning',
        trans.__(
          'model.onnx changed since its parity was measured: convert again.'
        )
      )
    );
    return box;
  }
  box.appendChild(
    el(
      'div',
      `jp-mlops-validation-${p.passed ? 'passed' : 'failed'}`,
      (p.passed
        ? trans.__('ONNX parity passed')
        : trans.__('ONNX parity failed')) +
        (p.quantization.applied ? ' · ' + trans.__('quantized') : '') +
        (p.at ? ' · ' + Time.formatHuman(new Date(p.at * 1000)) : '')
    )
  );
  const table = el('table', 'jp-mlops-metrics jp-mlops-parityChecks');
  for (const row of p.checks) {
    const tr = table.insertRow();
    tr.insertCell().textContent = `${row.check} (${row.data})`;
    tr.insertCell().textContent =
      row.value === null ? '–' : shownNumber(row.value);
    tr.insertCell().textContent =
      (row.bound === 'min' ? '≥ ' : '≤ ') + shownNumber(row.tolerance);
    tr.insertCell().textContent = row.ok ? 'ok' : 'FAIL';
  }
  box.appendChild(table);
  box.appendChild(
    el(
      'div',
      'jp-mlops-runParams',
      trans.__(
        'one-record predict: scikit-learn %1 ms, onnxruntime %2 ms · model.pkl %3, model.onnx %4',
        p.latency_ms.sklearn.toFixed(3),
        p.latency_ms.onnx.toFixed(3),
        kilobytes(p.bytes.sklearn),
        kilobytes(p.bytes.onnx)
      )
    )
  );
  return box;
}

/** The Models side panel. */
export class ModelsPanel extends SidePanel {
  constructor(
    private trans: TranslationBundle,
    translator: ITranslator
  ) {
    super({ content: new Panel(), translator });
    this.id = 'jp-mlops-models';
    this.addClass('jp-mlops-ModelsPanel');
    this.title.icon = listIcon;
    this.title.caption = trans.__('Models');
    this.header.addWidget(
      new Widget({ node: el('h2', 'jp-text-truncated', trans.__('Models')) })
    );
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: trans.__('Refresh the registered models'),
        onClick: () => void this.refresh()
      })
    );
    const body = new Widget();
    body.addClass('jp-mlops-modelsBody');
    this.body = body.node;
    this.addWidget(body);
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  /**
   * Read the registry again. Only the newest of overlapping refreshes renders (showing the
   * panel and its command both refresh), so a version's controls are not replaced under a
   * user who has started using them; `data-state` is `ready` once no refresh is pending.
   */
  async refresh(): Promise<void> {
    const trans = this.trans;
    const generation = ++this.generation;
    this.body.dataset.state = 'loading';
    let models: IModel[];
    try {
      models = (await requestAPI<{ models: IModel[] }>('models')).models;
    } catch (reason) {
      if (generation !== this.generation) {
        return;
      }
      this.body.dataset.state = 'ready';
      this.body.replaceChildren(
        el('div', 'jp-mlops-error', errorBody(reason).message)
      );
      return;
    }
    if (generation !== this.generation) {
      return;
    }
    this.body.dataset.state = 'ready';
    if (!models.length) {
      this.body.replaceChildren(
        el(
          'div',
          'jp-mlops-muted',
          trans.__(
            'No registered models yet: `jupyter mlops register RUN --name NAME` registers the model of a succeeded run.'
          )
        )
      );
      return;
    }
    this.body.replaceChildren(...models.map(m => this.model(m)));
  }

  private model(model: IModel): HTMLElement {
    const trans = this.trans;
    const box = el('section', 'jp-mlops-model');
    box.dataset.model = model.name;
    box.appendChild(el('h3', '', model.name));
    const list = el('ul', 'jp-mlops-versions');
    for (const version of model.versions) {
      list.appendChild(this.version(model, version));
    }
    box.appendChild(list);
    const history = el('details', 'jp-mlops-historySection');
    history.appendChild(
      el('summary', '', trans.__('Audit history (%1)', model.history.length))
    );
    const table = el('table', 'jp-mlops-history');
    for (const event of model.history) {
      const tr = table.insertRow();
      tr.insertCell().textContent = Time.format(new Date(event.at * 1000));
      tr.insertCell().textContent =
        event.version === null ? '' : `v${event.version}`;
      tr.insertCell().textContent =
        event.action +
        (event.stage ? ` → ${event.stage}` : '') +
        (event.passed === null || event.passed === undefined
          ? ''
          : event.passed
            ? ' (passed)'
            : ' (failed)');
      tr.insertCell().textContent = event.actor;
      tr.insertCell().textContent = event.reason ?? '';
    }
    history.appendChild(table);
    box.appendChild(history);
    return box;
  }

  private version(model: IModel, version: IModelVersion): HTMLElement {
    const trans = this.trans;
    const item = el('li', 'jp-mlops-version');
    item.dataset.version = String(version.version);
    const top = el('div', 'jp-mlops-runTop');
    top.append(
      el('strong', '', `${model.name}:${version.version}`),
      el(
        'span',
        `jp-mlops-badge jp-mlops-stage jp-mlops-stage-${version.stage}`,
        version.stage
      )
    );
    item.appendChild(top);
    const metrics = Object.entries(version.metrics);
    if (metrics.length) {
      item.appendChild(
        el(
          'div',
          'jp-mlops-runParams',
          metrics.map(([k, v]) => `${k} ${shownNumber(v)}`).join(', ')
        )
      );
    }
    item.append(
      lineage(version, trans),
      validation(version, trans),
      parity(version, trans)
    );
    const buttons = el('div', 'jp-mlops-runButtons');
    const stage = el('select', 'jp-mlops-promoteStage');
    for (const name of STAGES.filter(s => s !== version.stage)) {
      const option = el('option', '', name);
      option.value = name;
      stage.appendChild(option);
    }
    buttons.append(
      stage,
      smallButton(
        trans.__('Promote…'),
        () => void this.promote(model.name, version.version, stage.value),
        'jp-mlops-promote'
      )
    );
    item.appendChild(buttons);
    return item;
  }

  private async promote(
    name: string,
    version: number,
    stage: string
  ): Promise<void> {
    const trans = this.trans;
    const answer = await showDialog({
      title: trans.__('Promote %1:%2 to %3?', name, version, stage),
      body:
        stage === 'production' || stage === 'staging'
          ? trans.__(
              'The version it replaces at %1 is archived. The registry allows this only after a passed validation; the audit log records who did it.',
              stage
            )
          : trans.__('The audit log records who did it.'),
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: trans.__('Promote') })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      await postJSON(`models/${encodeURIComponent(name)}/${version}/promote`, {
        stage
      });
      Notification.success(
        trans.__('%1:%2 is now at %3.', name, version, stage),
        {
          autoClose: 5000
        }
      );
    } catch (reason) {
      await showErrorMessage(
        trans.__('Promote %1:%2', name, version),
        errorBody(reason).message
      );
    }
    await this.refresh();
  }

  private body: HTMLElement;
  private generation = 0;
}

export const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:models',
  description:
    'The Models panel: registered versions, lineage, validation, ONNX parity, promote, audit history.',
  autoStart: true,
  optional: [ICommandPalette, ITranslator, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null
  ) => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_mlops');
    const panel = new ModelsPanel(trans, translator);
    app.shell.add(panel, 'right', { rank: 910 });
    if (restorer) {
      restorer.add(panel, 'jupyter-mlops:models');
    }
    app.commands.addCommand(SHOW_MODELS, {
      label: trans.__('Show Models'),
      caption: trans.__('Open the Models panel (the model registry)'),
      execute: () => {
        app.shell.activateById(panel.id);
        return panel.refresh();
      }
    });
    if (palette) {
      palette.addItem({ command: SHOW_MODELS, category: trans.__('MLOps') });
    }
  }
};
