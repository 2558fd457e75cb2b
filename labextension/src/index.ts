/**
 * jupyter-mlops in JupyterLab: cell roles with markers and suggestions, Productionize with a
 * results panel, "Run as Training Job" with a form from the parameters cell, a Jobs panel.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  ToolbarButton,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import {
  IParameter,
  ISuggestion,
  MlopsApiError,
  postJSON,
  requestAPI
} from './api';
import { JobsPanel, ProductionizePanel } from './panels';
import { ROLES, Role, goToCell, setRole, trackMarkers } from './roles';

const PLUGIN_ID = 'jupyter-mlops:plugin';

namespace CommandIDs {
  export const setRole = 'mlops:set-role';
  export const clearRole = 'mlops:clear-role';
  export const suggest = 'mlops:suggest-roles';
  export const productionize = 'mlops:productionize';
  export const run = 'mlops:run-training-job';
  export const jobs = 'mlops:show-jobs';
}

const jobsIcon = new LabIcon({
  name: 'jupyter-mlops:jobs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M4 4h16v3H4zm0 6.5h10v3H4zM4 17h13v3H4z"/>' +
    '<circle class="jp-icon-brand0" fill="#F37726" cx="19" cy="12" r="3"/></svg>'
});

/** A form built from the parameters cell: one typed input per parameter. */
class RunForm extends Widget {
  constructor(
    private parameters: IParameter[],
    trans: ReturnType<ITranslator['load']>
  ) {
    super();
    this.addClass('jp-mlops-RunForm');
    if (!parameters.length) {
      this.node.appendChild(
        Object.assign(document.createElement('p'), {
          textContent: trans.__(
            'This notebook has no cell tagged "parameters": it runs with its own values.'
          )
        })
      );
    }
    for (const p of parameters) {
      const label = document.createElement('label');
      label.className = 'jp-mlops-field';
      const name = document.createElement('span');
      name.textContent = `${p.name}${p.type ? ` (${p.type})` : ''}`;
      const input = document.createElement('input');
      input.name = p.name;
      input.className = 'jp-mod-styled jp-mlops-input';
      if (p.type === 'bool') {
        input.type = 'checkbox';
        input.checked = p.default === 'True';
      } else {
        input.type = 'text';
        input.value = p.type === 'str' ? p.default.replace(/^['"]|['"]$/g, '') : p.default;
        input.placeholder = p.default;
      }
      label.append(name, input);
      this.node.appendChild(label);
    }
    const hint = document.createElement('p');
    hint.className = 'jp-mlops-muted';
    hint.textContent = trans.__(
      'A comma list (for example 0.1,1,10) runs a sweep: one job per combination.'
    );
    this.node.appendChild(hint);
  }

  getValue(): Record<string, string | boolean> {
    const values: Record<string, string | boolean> = {};
    for (const p of this.parameters) {
      const input = this.node.querySelector<HTMLInputElement>(
        `input[name="${CSS.escape(p.name)}"]`
      )!;
      if (p.type === 'bool') {
        if (input.checked !== (p.default === 'True')) {
          values[p.name] = input.checked;
        }
      } else {
        const shown =
          p.type === 'str' ? p.default.replace(/^['"]|['"]$/g, '') : p.default;
        if (input.value !== shown) {
          values[p.name] = input.value;
        }
      }
    }
    return values;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Cell roles, Productionize and training jobs for notebooks.',
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager],
  optional: [ICommandPalette, ISettingRegistry, ITranslator, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    labShell: ILabShell | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyter_mlops');
    const settings = { pollInterval: 1000, executeRecording: true };
    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(loaded => {
        const update = () => {
          settings.pollInterval = loaded.get('pollInterval').composite as number;
          settings.executeRecording = loaded.get('executeRecording')
            .composite as boolean;
        };
        update();
        loaded.changed.connect(update);
      });
    }
    const pollMs = () => Math.max(250, settings.pollInterval);
    const category = trans.__('MLOps');
    const current = (): NotebookPanel | null => tracker.currentWidget;
    const enabled = () => current() !== null;

    tracker.widgetAdded.connect((_, panel) => trackMarkers(panel));

    const saved = async (panel: NotebookPanel) => {
      if (panel.context.model.dirty) {
        await panel.context.save();
      }
      return panel.context.path;
    };
    const reportError = (title: string, reason: unknown, panel?: NotebookPanel) => {
      const body = reason instanceof MlopsApiError ? reason.body : null;
      if (panel && body?.cell) {
        goToCell(panel, body.cell.id, body.cell.number);
      }
      void showErrorMessage(title, reason instanceof Error ? reason.message : String(reason));
    };

    // --- cell roles ---------------------------------------------------------------------
    const roleLabel = (role: string) =>
      ({
        setup: trans.__('Setup'),
        data: trans.__('Data'),
        featurization: trans.__('Featurization'),
        training: trans.__('Training'),
        evaluation: trans.__('Evaluation'),
        scoring: trans.__('Scoring'),
        skip: trans.__('Skip'),
        parameters: trans.__('Parameters')
      })[role] ?? role;

    app.commands.addCommand(CommandIDs.setRole, {
      label: args =>
        args.role
          ? trans.__('Mark Cell as %1', roleLabel(args.role as string))
          : trans.__('Set Cell Role…'),
      caption: trans.__('Tag the selected cells with an MLOps role'),
      isEnabled: enabled,
      isToggled: args => {
        const cell = current()?.content.activeCell;
        const tags = (cell?.model.getMetadata('tags') as string[]) ?? [];
        return !!args.role && (tags.includes(`mlops:${args.role}`) ||
          (args.role === 'parameters' && tags.includes('parameters')));
      },
      execute: async args => {
        const panel = current();
        if (!panel) {
          return;
        }
        let role = args.role as Role | undefined;
        if (!role) {
          const choice = await showDialog({
            title: trans.__('Set Cell Role'),
            body: trans.__('Role of the selected cells in the production package:'),
            buttons: [
              Dialog.cancelButton(),
              ...[...ROLES, 'parameters'].map(r =>
                Dialog.okButton({ label: roleLabel(r), caption: r, className: `jp-mlops-roleButton-${r}` })
              )
            ]
          });
          if (!choice.button.accept) {
            return;
          }
          role = choice.button.caption as Role;
        }
        const notebook = panel.content;
        for (const cell of notebook.widgets) {
          if (notebook.isSelectedOrActive(cell) && cell.model.type === 'code') {
            setRole(cell, role);
          }
        }
      }
    });
    app.commands.addCommand(CommandIDs.clearRole, {
      label: trans.__('Clear Cell Role'),
      isEnabled: enabled,
      execute: () => {
        const notebook = current()?.content;
        for (const cell of notebook?.widgets ?? []) {
          if (notebook!.isSelectedOrActive(cell)) {
            setRole(cell, null);
          }
        }
      }
    });

    app.commands.addCommand(CommandIDs.suggest, {
      label: trans.__('Suggest Cell Roles…'),
      caption: trans.__('Propose roles from the code (.fit → training, .predict → scoring…)'),
      isEnabled: enabled,
      execute: async () => {
        const panel = current();
        if (!panel) {
          return;
        }
        try {
          const path = await saved(panel);
          const { suggestions } = await requestAPI<{ suggestions: ISuggestion[] }>(
            'suggest',
            {},
            { path }
          );
          if (!suggestions.length) {
            await showDialog({
              title: trans.__('Suggest Cell Roles'),
              body: trans.__('No new roles to suggest.'),
              buttons: [Dialog.okButton()]
            });
            return;
          }
          const body = document.createElement('ul');
          body.className = 'jp-mlops-suggestions';
          for (const s of suggestions) {
            const li = document.createElement('li');
            li.textContent = trans.__('Cell %1 → %2 (%3)', s.number, roleLabel(s.role), s.reason);
            body.appendChild(li);
          }
          const answer = await showDialog({
            title: trans.__('Apply %1 suggested roles?', suggestions.length),
            body: new Widget({ node: body }),
            buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Apply') })]
          });
          if (!answer.button.accept) {
            return;
          }
          for (const s of suggestions) {
            const cell = panel.content.widgets.find(w => w.model.id === s.cell_id);
            if (cell) {
              setRole(cell, s.role as Role);
            }
          }
        } catch (reason) {
          reportError(trans.__('Suggest Cell Roles'), reason, panel);
        }
      }
    });

    // --- productionize --------------------------------------------------------------------
    app.commands.addCommand(CommandIDs.productionize, {
      label: trans.__('Productionize Notebook'),
      caption: trans.__('Write a linted, tested Python package from the tagged cells'),
      isEnabled: enabled,
      execute: async () => {
        const panel = current();
        if (!panel) {
          return;
        }
        const path = await saved(panel);
        const results = new ProductionizePanel(
          path,
          {
            openFile: file => void docManager.openOrReveal(file),
            goToCell: (id, number) => {
              app.shell.activateById(panel.id);
              goToCell(panel, id, number);
            }
          },
          trans,
          pollMs
        );
        const widget = new MainAreaWidget({ content: results });
        widget.id = `jp-mlops-productionize-${Date.now()}`;
        widget.title.label = results.title.label;
        widget.title.closable = true;
        app.shell.add(widget, 'main', { mode: 'split-right', ref: panel.id });
        await results.start(settings.executeRecording);
      }
    });

    // --- training jobs -------------------------------------------------------------------
    const jobs = new JobsPanel(
      { open: path => void docManager.openOrReveal(path) },
      trans,
      pollMs
    );
    jobs.title.icon = jobsIcon;
    app.shell.add(jobs, 'right', { rank: 900 });

    app.commands.addCommand(CommandIDs.jobs, {
      label: trans.__('Show Training Jobs'),
      execute: () => {
        app.shell.activateById(jobs.id);
        void jobs.refresh();
      }
    });

    app.commands.addCommand(CommandIDs.run, {
      label: trans.__('Run as Training Job…'),
      caption: trans.__('Execute the notebook with papermill as a recorded job'),
      isEnabled: enabled,
      execute: async () => {
        const panel = current();
        if (!panel) {
          return;
        }
        try {
          const path = await saved(panel);
          const { parameters } = await requestAPI<{ parameters: IParameter[] }>(
            'parameters',
            {},
            { path }
          );
          const form = new RunForm(parameters, trans);
          const answer = await showDialog({
            title: trans.__('Run %1 as a Training Job', path.split('/').pop()),
            body: form,
            buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Run') })],
            focusNodeSelector: 'input'
          });
          if (!answer.button.accept || !answer.value) {
            return;
          }
          await postJSON('runs', { path, parameters: answer.value });
          app.shell.activateById(jobs.id);
          await jobs.refresh();
        } catch (reason) {
          reportError(trans.__('Run as Training Job'), reason, panel);
        }
      }
    });

    // --- menus, palette, toolbar ---------------------------------------------------------
    for (const role of [...ROLES, 'parameters']) {
      app.contextMenu.addItem({
        command: CommandIDs.setRole,
        args: { role },
        selector: '.jp-Notebook .jp-CodeCell',
        rank: 20
      });
    }
    app.contextMenu.addItem({
      command: CommandIDs.clearRole,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 21
    });
    if (palette) {
      for (const command of [
        CommandIDs.setRole,
        CommandIDs.clearRole,
        CommandIDs.suggest,
        CommandIDs.productionize,
        CommandIDs.run,
        CommandIDs.jobs
      ]) {
        palette.addItem({ command, category });
      }
    }
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const buttons: [string, ToolbarButton][] = [
          [
            'mlops-productionize',
            new ToolbarButton({
              className: 'jp-mlops-productionizeButton',
              label: trans.__('Productionize'),
              tooltip: trans.__('Write a linted, tested Python package from the tagged cells'),
              onClick: () => {
                tracker.currentWidget !== panel && app.shell.activateById(panel.id);
                void app.commands.execute(CommandIDs.productionize);
              }
            })
          ],
          [
            'mlops-run',
            new ToolbarButton({
              className: 'jp-mlops-runButton',
              label: trans.__('Run as Job'),
              tooltip: trans.__('Run as a recorded training job'),
              onClick: () => {
                tracker.currentWidget !== panel && app.shell.activateById(panel.id);
                void app.commands.execute(CommandIDs.run);
              }
            })
          ]
        ];
        for (const [name, button] of buttons) {
          panel.toolbar.insertAfter('cellType', name, button);
        }
        return {
          dispose: () => buttons.forEach(([, b]) => b.dispose()),
          isDisposed: false
        } as any;
      }
    });
    if (labShell) {
      labShell.currentChanged.connect(() => app.commands.notifyCommandChanged());
    }
  }
};

export default plugin;
