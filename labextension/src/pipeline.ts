/**
 * Export Kubeflow Pipeline: compile the notebook's package into a KFP v2 pipeline YAML beside
 * the notebook (`POST pipeline`, then the task), open the YAML; an error in a cell takes the
 * notebook to that cell. Palette, notebook toolbar and Run menu (schema/pipeline.json).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IToolbarWidgetRegistry,
  Notification,
  ToolbarButton,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { fileUploadIcon } from '@jupyterlab/ui-components';

import { ITask, errorBody, postJSON, requestAPI } from './api';
import { sleep } from './dom';
import { goToCell, notebookFor, saved } from './notebooks';
import { IMlopsSettings } from './settings';

export const EXPORT_PIPELINE = 'jupyter-mlops:export-kubeflow-pipeline';

/** `CompiledPipeline.to_dict()`, paths relative to the server root. */
export interface IPipelineResult {
  notebook: string;
  package: string;
  package_dir: string;
  yaml: string;
  steps: string[];
  cells: Record<string, [string, number]>;
  parameters: Record<string, unknown>;
  sweep: Record<string, unknown>[];
  production: string | null;
  base_image: string;
}

/** POST pipeline and follow its task: the result, or the task's error thrown. */
async function compiled(
  path: string,
  pollInterval: number,
  onProgress: (message: string) => void
): Promise<IPipelineResult> {
  const started = await postJSON<{ task: string }>('pipeline', { path });
  for (;;) {
    await sleep(pollInterval);
    const task = await requestAPI<ITask<IPipelineResult>>(
      `tasks/${started.task}`
    );
    if (task.progress.length) {
      onProgress(task.progress[task.progress.length - 1]);
    }
    if (task.status === 'done' && task.result) {
      return task.result;
    }
    if (task.status === 'failed') {
      throw Object.assign(new Error(task.error?.message ?? 'failed'), {
        body: task.error ?? {}
      });
    }
  }
}

export const pipelinePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:pipeline',
  description:
    'Export Kubeflow Pipeline: the notebook as a KFP v2 pipeline YAML beside it.',
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
    const busy = new Set<NotebookPanel>();

    const fail = async (notebook: NotebookPanel, reason: unknown) => {
      const body = {
        ...errorBody(reason),
        ...((reason as { body?: object }).body ?? {})
      } as ReturnType<typeof errorBody>;
      if (body.cell) {
        await goToCell(
          app,
          notebook,
          body.cell.id,
          body.cell.number,
          body.line
        );
      }
      await showErrorMessage(
        trans.__('Export Kubeflow Pipeline failed'),
        body.message
      );
    };

    app.commands.addCommand(EXPORT_PIPELINE, {
      label: args =>
        args.toolbar
          ? trans.__('Kubeflow')
          : trans.__('Export Kubeflow Pipeline'),
      caption: trans.__(
        'Compile the notebook into a Kubeflow Pipelines (v2) YAML beside it'
      ),
      icon: fileUploadIcon,
      isEnabled: args => !!notebookFor(tracker, args),
      execute: async args => {
        const notebook = notebookFor(tracker, args);
        if (!notebook || busy.has(notebook)) {
          return;
        }
        busy.add(notebook);
        const note = Notification.emit(
          trans.__('Compiling the Kubeflow pipeline…'),
          'in-progress',
          { autoClose: false }
        );
        try {
          const path = await saved(notebook);
          const result = await compiled(path, settings.pollInterval, message =>
            Notification.update({ id: note, message })
          );
          Notification.update({
            id: note,
            type: 'success',
            autoClose: 5000,
            message: trans.__(
              'Wrote %1: %2 steps (%3)',
              result.yaml,
              result.steps.length,
              result.steps.join(' → ')
            )
          });
          void docManager.openOrReveal(result.yaml);
        } catch (reason) {
          Notification.dismiss(note);
          await fail(notebook, reason);
        } finally {
          busy.delete(notebook);
        }
      }
    });

    if (palette) {
      palette.addItem({
        command: EXPORT_PIPELINE,
        category: trans.__('MLOps')
      });
    }
    if (toolbarRegistry) {
      toolbarRegistry.addFactory<NotebookPanel>(
        'Notebook',
        'mlops-pipeline',
        panel =>
          new ToolbarButton({
            icon: fileUploadIcon,
            label: trans.__('Kubeflow'),
            tooltip: trans.__(
              'Export Kubeflow Pipeline: a KFP v2 YAML beside the notebook'
            ),
            className: 'jp-mlops-pipelineButton',
            onClick: () =>
              void app.commands.execute(EXPORT_PIPELINE, {
                path: panel.context.path
              })
          })
      );
    }
  }
};
