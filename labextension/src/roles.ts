/**
 * Cell roles: the `mlops:*` tags in cell metadata, and the coloured marker on each cell.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

export const ROLES = [
  'setup',
  'data',
  'featurization',
  'training',
  'evaluation',
  'scoring',
  'skip'
] as const;
export type Role = (typeof ROLES)[number] | 'parameters';

const PREFIX = 'mlops:';

function tagsOf(cell: Cell): string[] {
  const tags = cell.model.getMetadata('tags');
  return Array.isArray(tags) ? (tags as string[]) : [];
}

/** The role of a cell: its `mlops:*` tag, else `parameters` for papermill's tag. */
export function roleOf(cell: Cell): Role | null {
  const tags = tagsOf(cell);
  const tag = tags.find(t => t.startsWith(PREFIX));
  if (tag) {
    return tag.slice(PREFIX.length) as Role;
  }
  return tags.includes('parameters') ? 'parameters' : null;
}

/** Set (or clear, with null) a cell's role, keeping its other tags. */
export function setRole(cell: Cell, role: Role | null): void {
  const kept = tagsOf(cell).filter(
    t => !t.startsWith(PREFIX) && !(role === 'parameters' && t === 'parameters')
  );
  if (role === 'parameters') {
    kept.push('parameters');
  } else if (role) {
    kept.push(PREFIX + role);
  }
  if (kept.length) {
    cell.model.setMetadata('tags', kept);
  } else {
    cell.model.deleteMetadata('tags');
  }
}

/** Paint the role marker of one cell. */
export function paint(cell: Cell): void {
  const role = roleOf(cell);
  if (role) {
    cell.node.dataset.mlopsRole = role;
    cell.node.classList.add('jp-mlops-hasRole');
  } else {
    delete cell.node.dataset.mlopsRole;
    cell.node.classList.remove('jp-mlops-hasRole');
  }
}

/** Keep every cell's marker in step with its tags, for the life of the panel. */
export function trackMarkers(panel: NotebookPanel): void {
  const watched = new WeakSet<object>();
  const refresh = () => {
    for (const cell of panel.content.widgets) {
      paint(cell);
      if (!watched.has(cell.model)) {
        watched.add(cell.model);
        cell.model.metadataChanged.connect(() => {
          const current = panel.content.widgets.find(w => w.model === cell.model);
          if (current) {
            paint(current);
          }
        });
      }
    }
  };
  void panel.context.ready.then(() => {
    refresh();
    panel.content.model?.cells.changed.connect(() =>
      // new cell widgets are created after the model change
      requestAnimationFrame(refresh)
    );
  });
}

/** Select and scroll to the cell with this id (or 1-based number). */
export function goToCell(
  panel: NotebookPanel,
  cellId: string | null,
  number?: number | null
): boolean {
  const notebook = panel.content;
  let index = cellId
    ? notebook.widgets.findIndex(w => w.model.id === cellId)
    : -1;
  if (index < 0 && number) {
    index = number - 1;
  }
  if (index < 0 || index >= notebook.widgets.length) {
    return false;
  }
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  void notebook.scrollToItem(index, 'center');
  return true;
}
