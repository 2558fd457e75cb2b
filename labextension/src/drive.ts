/**
 * A read-only drive for the executed notebooks of runs. The run store lives in the hidden
 * `.mlops` folder, which Jupyter's contents API refuses to open ("404 Not Found"); this drive
 * reads them through `GET runs/{id}/executed` instead, so JupyterLab opens them as notebooks
 * (without a kernel) at paths like `MlopsRun:<run id>/churn.ipynb`.
 */
import { Contents, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from './api';

export const DRIVE_NAME = 'MlopsRun';

/** The path JupyterLab opens for the executed notebook of `runId` (named like its source). */
export function executedPath(runId: string, notebook: string): string {
  const name = notebook.split('/').pop() || 'executed.ipynb';
  return `${DRIVE_NAME}:${runId}/${name}`;
}

function readOnly(): Promise<never> {
  return Promise.reject(
    new Error(
      'An executed notebook of a run is a record: it cannot be changed. Save a copy with File > Save Notebook As… to edit it.'
    )
  );
}

/** `GET runs/{id}/executed`, as a contents model; nothing can be written. */
export class ExecutedRunsDrive implements Contents.IDrive {
  readonly name = DRIVE_NAME;
  readonly serverSettings = ServerConnection.makeSettings();

  get fileChanged(): ISignal<Contents.IDrive, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  async get(localPath: string): Promise<Contents.IModel> {
    const [runId, name] = localPath.split('/');
    const answer = await requestAPI<{ name: string; content: unknown }>(
      `runs/${encodeURIComponent(runId)}/executed`
    );
    const now = new Date().toISOString();
    return {
      name: name || answer.name,
      path: localPath,
      type: 'notebook',
      format: 'json',
      mimetype: 'application/x-ipynb+json',
      writable: false,
      created: now,
      last_modified: now,
      content: answer.content
    };
  }

  getDownloadUrl(): Promise<string> {
    return readOnly();
  }
  newUntitled(): Promise<Contents.IModel> {
    return readOnly();
  }
  delete(): Promise<void> {
    return readOnly();
  }
  rename(): Promise<Contents.IModel> {
    return readOnly();
  }
  save(): Promise<Contents.IModel> {
    return readOnly();
  }
  copy(): Promise<Contents.IModel> {
    return readOnly();
  }
  createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return readOnly();
  }
  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }
  restoreCheckpoint(): Promise<void> {
    return readOnly();
  }
  deleteCheckpoint(): Promise<void> {
    return readOnly();
  }

  private _disposed = false;
  private _fileChanged = new Signal<Contents.IDrive, Contents.IChangedArgs>(
    this
  );
}
