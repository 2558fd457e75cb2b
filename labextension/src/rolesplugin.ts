/**
 * Cell roles in the notebook: "Set Cell Role…" (dialog), "Mark Cell as <Role>", "Clear Cell
 * Role" and "Suggest Cell Roles…"; markers on every tagged cell. The context menu, cell
 * toolbar and main menu entries are declared in schema/plugin.json.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import {
  ITranslator,
  TranslationBundle,
  nullTranslator
} from '@jupyterlab/translation';
import { tagIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { ISuggestion } from './api';
import { askAboutNotebook, goToCell, notebookFor } from './notebooks';
import {
  ROLES,
  Role,
  RoleMarkers,
  isRole,
  roleDescriptions,
  roleNames,
  roleOf,
  setRole
} from './roles';

export namespace RoleCommandIDs {
  export const setRole = 'jupyter-mlops:set-role';
  export const clearRole = 'jupyter-mlops:clear-role';
  export const suggest = 'jupyter-mlops:suggest-roles';
}

/**
 * The code cells a role command applies to: the selected ones, or the active one. From the
 * context menu (`args.fromContextMenu`), a right-clicked cell outside the selection is the
 * target by itself: right-clicking does not move JupyterLab's active cell, and the user
 * means the cell they clicked.
 */
function targetCells(
  app: JupyterFrontEnd,
  panel: NotebookPanel,
  args: ReadonlyPartialJSONObject
): Cell[] {
  const notebook = panel.content;
  if (args.fromContextMenu) {
    const node = app.contextMenuHitTest(n => n.classList.contains('jp-Cell'));
    const hit = notebook.widgets.find(cell => cell.node === node);
    if (hit && !notebook.isSelectedOrActive(hit)) {
      return hit.model.type === 'code' ? [hit] : [];
    }
  }
  return notebook.widgets.filter(
    cell => notebook.isSelectedOrActive(cell) && cell.model.type === 'code'
  );
}

/** The notebook a role command acts on: the right-clicked one from the context menu. */
function roleNotebook(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  args: ReadonlyPartialJSONObject
): NotebookPanel | null {
  if (args.fromContextMenu) {
    const node = app.contextMenuHitTest(n =>
      n.classList.contains('jp-NotebookPanel')
    );
    const panel = node && tracker.find(p => p.node === node);
    if (panel) {
      return panel;
    }
  }
  return notebookFor(tracker, args);
}

/** The "Set Cell Role" dialog's body: one radio button per role (and "no role"). */
class RolePicker extends Widget implements Dialog.IBodyWidget<Role | null> {
  constructor(current: string | null, trans: TranslationBundle) {
    super();
    this.addClass('jp-mlops-RolePicker');
    const names = roleNames(trans);
    const descriptions = roleDescriptions(trans);
    const choices: [Role | '', string, string][] = [
      ...ROLES.map(
        r => [r, names[r], descriptions[r]] as [Role, string, string]
      ),
      ['', trans.__('No role'), trans.__('Not exported; still runs in jobs')]
    ];
    for (const [value, name, description] of choices) {
      const label = document.createElement('label');
      label.className = 'jp-mlops-roleChoice';
      label.dataset.mlopsRole = value || 'none';
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'jp-mlops-role';
      radio.value = value;
      radio.checked = value === (current ?? '');
      const text = document.createElement('span');
      text.className = 'jp-mlops-roleChoiceText';
      const title = document.createElement('span');
      title.className = 'jp-mlops-roleChoiceName';
      title.textContent = name;
      const meaning = document.createElement('span');
      meaning.className = 'jp-mlops-roleChoiceDescription';
      meaning.textContent = description;
      text.append(title, meaning);
      label.append(radio, text);
      this.node.appendChild(label);
    }
  }

  getValue(): Role | null {
    const checked = this.node.querySelector<HTMLInputElement>(
      'input[name="jp-mlops-role"]:checked'
    );
    return checked && isRole(checked.value) ? checked.value : null;
  }
}

/** The "Suggest Cell Roles" dialog's body: one row per suggestion, each with a checkbox. */
class SuggestionList
  extends Widget
  implements Dialog.IBodyWidget<ISuggestion[]>
{
  constructor(
    private suggestions: ISuggestion[],
    trans: TranslationBundle,
    code: (s: ISuggestion) => string,
    goTo: (s: ISuggestion) => void
  ) {
    super({ node: document.createElement('table') });
    this.addClass('jp-mlops-Suggestions');
    const names = roleNames(trans);
    const name = (role: string | null) =>
      role === null ? '–' : isRole(role) ? names[role] : role;
    const head = this.node.appendChild(document.createElement('thead'));
    const headRow = head.insertRow();
    for (const title of [
      '',
      trans.__('Cell'),
      trans.__('Code'),
      trans.__('Now'),
      trans.__('Suggested'),
      trans.__('Because the cell')
    ]) {
      headRow.appendChild(document.createElement('th')).textContent = title;
    }
    const body = this.node.appendChild(document.createElement('tbody'));
    suggestions.forEach((s, i) => {
      const row = body.insertRow();
      row.className = 'jp-mlops-suggestion';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = true;
      box.className = 'jp-mlops-suggestionApply';
      box.dataset.index = String(i);
      box.setAttribute('aria-label', trans.__('Apply to cell %1', s.number));
      row.insertCell().appendChild(box);
      const link = document.createElement('button');
      link.type = 'button';
      link.className = 'jp-mlops-link jp-mlops-cellLink';
      link.textContent = trans.__('cell %1', s.number);
      link.title = trans.__('Show cell %1 in the notebook', s.number);
      link.onclick = () => goTo(s);
      row.insertCell().appendChild(link);
      const preview = document.createElement('pre');
      preview.className = 'jp-mlops-suggestionCode';
      preview.textContent = code(s).split('\n').slice(0, 3).join('\n');
      row.insertCell().appendChild(preview);
      row.insertCell().textContent = name(s.current);
      const role = row.insertCell();
      role.textContent = name(s.role);
      role.className = 'jp-mlops-suggestedRole';
      role.dataset.mlopsRole = s.role;
      row.insertCell().textContent = s.reason;
    });
  }

  getValue(): ISuggestion[] {
    return [
      ...this.node.querySelectorAll<HTMLInputElement>('input:checked')
    ].map(box => this.suggestions[Number(box.dataset.index)]);
  }
}

/**
 * Give `cells` their `roles`, and say so in a notification with an Undo button (a role change
 * is a metadata edit, which the editor's undo does not reach).
 */
function applyRoles(
  cells: Cell[],
  roles: (Role | null)[],
  trans: TranslationBundle
): void {
  const before = cells.map(cell => cell.model.getMetadata('tags'));
  cells.forEach((cell, i) => setRole(cell.model, roles[i]));
  if (!cells.length) {
    return;
  }
  const names = roleNames(trans);
  const message =
    cells.length === 1
      ? roles[0]
        ? trans.__('Cell role set to %1.', names[roles[0]])
        : trans.__('Cell role cleared.')
      : trans.__('Roles of %1 cells changed.', cells.length);
  Notification.info(message, {
    autoClose: 6000,
    actions: [
      {
        label: trans.__('Undo'),
        callback: () =>
          cells.forEach((cell, i) =>
            before[i] === undefined
              ? cell.model.deleteMetadata('tags')
              : cell.model.setMetadata('tags', before[i])
          )
      }
    ]
  });
}

export const rolesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:roles',
  description:
    'Cell roles: pick, mark and suggest the mlops:* tags of notebook cells.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyter_mlops');
    const names = roleNames(trans);
    const { commands } = app;

    tracker.widgetAdded.connect((_, panel) => new RoleMarkers(panel, trans));

    const hasCodeCell = (args: ReadonlyPartialJSONObject) => {
      const panel = roleNotebook(app, tracker, args);
      return !!panel && targetCells(app, panel, args).length > 0;
    };

    commands.addCommand(RoleCommandIDs.setRole, {
      label: args => {
        const role = args.role;
        if (isRole(role)) {
          return trans.__('Mark Cell as %1', names[role]);
        }
        return trans.__('Set Cell Role…');
      },
      caption: args =>
        isRole(args.role)
          ? roleDescriptions(trans)[args.role]
          : trans.__('Set the MLOps role of the selected code cells'),
      icon: args => (args.toolbar ? tagIcon : undefined),
      isEnabled: hasCodeCell,
      isToggled: args => {
        const panel = roleNotebook(app, tracker, args);
        const cell = panel && targetCells(app, panel, args)[0];
        return isRole(args.role) && !!cell && roleOf(cell.model) === args.role;
      },
      execute: async args => {
        const panel = roleNotebook(app, tracker, args);
        if (!panel) {
          return;
        }
        const cells = targetCells(app, panel, args);
        if (!cells.length) {
          return;
        }
        let role: Role | null;
        if (isRole(args.role)) {
          role = args.role;
        } else {
          const picked = await showDialog({
            title:
              cells.length === 1
                ? trans.__(
                    'Role of cell %1',
                    panel.content.widgets.indexOf(cells[0]) + 1
                  )
                : trans.__('Role of %1 cells', cells.length),
            body: new RolePicker(roleOf(cells[0].model), trans),
            buttons: [
              Dialog.cancelButton(),
              Dialog.okButton({ label: trans.__('Set Role') })
            ]
          });
          if (!picked.button.accept) {
            return;
          }
          role = picked.value;
        }
        applyRoles(
          cells,
          cells.map(() => role),
          trans
        );
      }
    });

    commands.addCommand(RoleCommandIDs.clearRole, {
      label: trans.__('Clear Cell Role'),
      caption: trans.__('Remove the MLOps role tag of the selected code cells'),
      isEnabled: args => {
        const panel = roleNotebook(app, tracker, args);
        return (
          !!panel && targetCells(app, panel, args).some(c => roleOf(c.model))
        );
      },
      execute: args => {
        const panel = roleNotebook(app, tracker, args);
        const cells = panel ? targetCells(app, panel, args) : [];
        applyRoles(
          cells,
          cells.map(() => null),
          trans
        );
      }
    });

    commands.addCommand(RoleCommandIDs.suggest, {
      label: trans.__('Suggest Cell Roles…'),
      caption: trans.__(
        'Propose roles from what each cell calls (.fit → Training, .predict → Scoring…)'
      ),
      isEnabled: args => !!notebookFor(tracker, args),
      execute: async args => {
        const panel = notebookFor(tracker, args);
        if (!panel) {
          return;
        }
        const asked = await askAboutNotebook<{ suggestions: ISuggestion[] }>(
          app,
          panel,
          'suggest',
          trans.__('Suggest Cell Roles')
        );
        if (!asked) {
          return;
        }
        const suggestions = asked.answer.suggestions;
        if (!suggestions.length) {
          await showDialog({
            title: trans.__('Suggest Cell Roles'),
            body: trans.__(
              'Every cell already has the role its code suggests.'
            ),
            buttons: [Dialog.okButton()]
          });
          return;
        }
        const answer = await showDialog({
          title: trans.__('Suggested Cell Roles'),
          body: new SuggestionList(
            suggestions,
            trans,
            s =>
              panel.content.widgets
                .find(w => w.model.id === s.cell_id)
                ?.model.sharedModel.getSource() ?? '',
            s => void goToCell(app, panel, s.cell_id, s.number)
          ),
          buttons: [
            Dialog.cancelButton(),
            Dialog.okButton({ label: trans.__('Apply Selected') })
          ]
        });
        if (!answer.button.accept || !answer.value) {
          return;
        }
        const changed = answer.value
          .map(s => ({
            cell: panel.content.widgets.find(w => w.model.id === s.cell_id),
            role: s.role
          }))
          .filter(c => c.cell && isRole(c.role));
        applyRoles(
          changed.map(c => c.cell!),
          changed.map(c => c.role as Role),
          trans
        );
      }
    });

    if (palette) {
      const category = trans.__('MLOps');
      palette.addItem({ command: RoleCommandIDs.setRole, category });
      for (const role of ROLES) {
        palette.addItem({
          command: RoleCommandIDs.setRole,
          args: { role },
          category
        });
      }
      palette.addItem({ command: RoleCommandIDs.clearRole, category });
      palette.addItem({ command: RoleCommandIDs.suggest, category });
    }

    // Menus show the check mark of the active cell's role.
    tracker.activeCellChanged.connect(() =>
      commands.notifyCommandChanged(RoleCommandIDs.setRole)
    );
  }
};
