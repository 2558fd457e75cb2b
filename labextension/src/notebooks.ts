/**
 * Finding the notebook a command is about, and taking the user to one of its cells.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { errorBody, requestAPI } from './api';

/**
 * The notebook a command acts on: the open one at `args.path` (toolbar buttons pass their
 * own notebook's path), else the current notebook.
 */
export function notebookFor(
  tracker: INotebookTracker,
  args: ReadonlyPartialJSONObject
): NotebookPanel | null {
  const path = typeof args.path === 'string' ? args.path : null;
  if (path) {
    return tracker.find(panel => panel.context.path === path) ?? null;
  }
  return tracker.currentWidget;
}

/** Save the notebook if it has unsaved edits (the server reads the file); its path. */
export async function saved(panel: NotebookPanel): Promise<string> {
  await panel.context.ready;
  if (panel.context.model.dirty && !panel.context.model.readOnly) {
    await panel.context.save();
  }
  return panel.context.path;
}

/**
 * Activate the notebook, select the cell with this id (else this 1-based number), scroll it
 * into view and put the cursor on `line` (1-based) of its source. False if there is no such
 * cell.
 */
export async function goToCell(
  app: JupyterFrontEnd,
  panel: NotebookPanel,
  cellId: string | null | undefined,
  number?: number | null,
  line?: number | null
): Promise<boolean> {
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
  app.shell.activateById(panel.id);
  notebook.mode = 'command';
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  const cell = notebook.widgets[index];
  await notebook.scrollToCell(cell, 'center');
  if (line && line > 0) {
    await cell.ready;
    const editor = cell.editor;
    if (editor) {
      const last = editor.lineCount - 1;
      editor.setCursorPosition({ line: Math.min(line - 1, last), column: 0 });
    }
  }
  notebook.node.focus();
  return true;
}

/**
 * Save the notebook, then GET `endpoint?path=<notebook>`: the answer, or null once the error
 * is shown (titled `title`) with the notebook moved to the cell it names.
 */
export async function askAboutNotebook<T>(
  app: JupyterFrontEnd,
  panel: NotebookPanel,
  endpoint: string,
  title: string
): Promise<{ path: string; answer: T } | null> {
  try {
    const path = await saved(panel);
    return { path, answer: await requestAPI<T>(endpoint, {}, { path }) };
  } catch (reason) {
    const body = errorBody(reason);
    if (body.cell) {
      await goToCell(app, panel, body.cell.id, body.cell.number);
    }
    await showErrorMessage(title, body.message);
    return null;
  }
}
