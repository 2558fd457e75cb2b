/**
 * Cell roles: the `mlops:*` tags (and papermill's `parameters` tag) in a cell's metadata,
 * and the coloured marker each tagged cell wears in the notebook.
 */
import { Cell, ICellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IObservableList } from '@jupyterlab/observables';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

/** Roles in the order a notebook usually has them. */
export const ROLES = [
  'setup',
  'parameters',
  'data',
  'featurization',
  'training',
  'evaluation',
  'scoring',
  'skip'
] as const;
export type Role = (typeof ROLES)[number];

const PREFIX = 'mlops:';
/** papermill's own tag: a role, but without our prefix. */
const PARAMETERS = 'parameters';

export function isRole(value: unknown): value is Role {
  return (
    typeof value === 'string' && (ROLES as readonly string[]).includes(value)
  );
}

function tagsOf(model: ICellModel): string[] {
  const tags = model.getMetadata('tags');
  return Array.isArray(tags) ? (tags as string[]) : [];
}

/** The role of a cell: its `mlops:*` tag, else `parameters` for papermill's tag. */
export function roleOf(model: ICellModel): string | null {
  const tags = tagsOf(model);
  const tag = tags.find(t => t.startsWith(PREFIX));
  if (tag) {
    return tag.slice(PREFIX.length);
  }
  return tags.includes(PARAMETERS) ? PARAMETERS : null;
}

/**
 * Set (or clear, with null) a cell's role in the live model: the other tags stay, any other
 * role tag goes, so the notebook gets dirty and saves like any edit.
 */
export function setRole(model: ICellModel, role: Role | null): void {
  const kept = tagsOf(model).filter(
    t => !t.startsWith(PREFIX) && t !== PARAMETERS
  );
  if (role === PARAMETERS) {
    kept.push(PARAMETERS);
  } else if (role) {
    kept.push(PREFIX + role);
  }
  if (kept.length) {
    model.setMetadata('tags', kept);
  } else {
    model.deleteMetadata('tags');
  }
}

/** Translated names and one-line meanings of the roles (shown in menus, dialogs, badges). */
export function roleNames(trans: TranslationBundle): Record<Role, string> {
  return {
    setup: trans.__('Setup'),
    parameters: trans.__('Parameters'),
    data: trans.__('Data'),
    featurization: trans.__('Featurization'),
    training: trans.__('Training'),
    evaluation: trans.__('Evaluation'),
    scoring: trans.__('Scoring'),
    skip: trans.__('Skip')
  };
}

export function roleDescriptions(
  trans: TranslationBundle
): Record<Role, string> {
  return {
    setup: trans.__('Imports, constants and helpers the other roles share'),
    parameters: trans.__(
      "papermill's parameters: typed defaults of the training job"
    ),
    data: trans.__('Loads the raw data (data.py, training only)'),
    featurization: trans.__(
      'Turns records into features, for training and scoring (featurize.py)'
    ),
    training: trans.__('Fits the model (train.py)'),
    evaluation: trans.__('Computes metrics on held-out data (evaluate.py)'),
    scoring: trans.__('Predicts on new records (score.py)'),
    skip: trans.__('Exploration: never exported')
  };
}

const BADGE = 'jp-mlops-roleBadge';
const HAS_ROLE = 'jp-mlops-hasRole';

/**
 * Keeps every cell's role marker (a `data-mlops-role` attribute for the coloured edge, and a
 * badge with the translated role name) in step with its tags, for the life of the panel.
 */
export class RoleMarkers implements IDisposable {
  constructor(
    private panel: NotebookPanel,
    private trans: TranslationBundle
  ) {
    this.names = roleNames(trans);
    void panel.context.ready.then(() => {
      if (this.isDisposed) {
        return;
      }
      const cells = panel.content.model?.cells;
      if (!cells) {
        return;
      }
      for (let i = 0; i < cells.length; i++) {
        this.watch(cells.get(i));
      }
      cells.changed.connect(this.onCellsChanged, this);
      this.paintAll();
    });
    panel.disposed.connect(() => this.dispose());
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.panel.content.model?.cells.changed.disconnect(
      this.onCellsChanged,
      this
    );
    for (const model of this.watched) {
      model.metadataChanged.disconnect(this.onMetadataChanged, this);
    }
    this.watched.clear();
  }

  /** Paint the marker of every cell widget of the notebook. */
  paintAll(): void {
    for (const cell of this.panel.content.widgets) {
      this.paint(cell);
    }
  }

  private watch(model: ICellModel): void {
    if (!this.watched.has(model)) {
      this.watched.add(model);
      model.metadataChanged.connect(this.onMetadataChanged, this);
    }
  }

  private onCellsChanged(
    _: unknown,
    change: IObservableList.IChangedArgs<ICellModel>
  ): void {
    for (const model of change.newValues) {
      this.watch(model);
    }
    for (const model of change.oldValues) {
      if (this.watched.delete(model)) {
        model.metadataChanged.disconnect(this.onMetadataChanged, this);
      }
    }
    // The notebook creates the new cell widgets in its own handler of this signal.
    void Promise.resolve().then(() => this.paintAll());
  }

  private onMetadataChanged(model: ICellModel): void {
    const cell = this.panel.content.widgets.find(w => w.model === model);
    if (cell) {
      this.paint(cell);
    }
  }

  private paint(cell: Cell): void {
    const role = roleOf(cell.model);
    const node = cell.node;
    let badge = node.querySelector<HTMLElement>(`:scope > .${BADGE}`);
    if (!role) {
      delete node.dataset.mlopsRole;
      node.classList.remove(HAS_ROLE);
      badge?.remove();
      return;
    }
    node.dataset.mlopsRole = role;
    node.classList.add(HAS_ROLE);
    if (!badge) {
      badge = document.createElement('div');
      badge.className = BADGE;
      node.appendChild(badge);
    }
    const name = isRole(role)
      ? this.names[role]
      : this.trans.__('Unknown role "%1"', role);
    badge.textContent = name;
    badge.title = this.trans.__('MLOps role: %1', name);
  }

  private names: Record<Role, string>;
  private watched = new Set<ICellModel>();
  private disposed = false;
}
