/**
 * What the rest of JupyterLab hears about jobs: a notification when a run or sweep ends (with
 * a link to its result), and a status-bar item counting the running jobs.
 */
import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IRun } from './api';
import { el } from './dom';
import { IEnded } from './jobs';
import { shortId, shownNumber } from './runcard';
import { metricNames, ranked } from './sweeps';

/** One line about a run's metrics ("accuracy 0.84"), or ''. */
function metricsLine(run: IRun): string {
  return Object.entries(run.metrics)
    .slice(0, 3)
    .map(([name, value]) => `${name} ${shownNumber(value)}`)
    .join(', ');
}

/** A notification for a run or sweep that ended, with buttons to its result. */
export function notifyEnded(
  ended: IEnded,
  trans: TranslationBundle,
  showJobs: () => void,
  openExecuted: (run: IRun) => void
): void {
  const run = ended.runs[0];
  const name = run.notebook.split('/').pop() ?? run.notebook;
  const show = {
    label: trans.__('Show in Training Jobs'),
    callback: showJobs,
    displayType: 'link' as const
  };
  if (ended.kind === 'sweep') {
    const metrics = metricNames(ended.runs);
    const best = metrics.length ? ranked(ended.runs, metrics[0])[0] : null;
    const failed = ended.runs.filter(r => r.status === 'failed').length;
    const message =
      trans.__(
        'Sweep %1 of %2 ended: %3 runs, %4 failed.',
        shortId(ended.id),
        name,
        ended.runs.length,
        failed
      ) +
      (best
        ? ' ' +
          trans.__(
            'Best %1: %2 (%3).',
            metrics[0],
            shownNumber(best.metrics[metrics[0]]),
            JSON.stringify(best.parameters)
          )
        : '');
    (failed ? Notification.warning : Notification.success)(message, {
      autoClose: 8000,
      actions: [show]
    });
    return;
  }
  const actions = [show];
  if (run.executed_path) {
    actions.unshift({
      label: trans.__('Open executed notebook'),
      callback: () => openExecuted(run),
      displayType: 'link' as const
    });
  }
  if (run.status === 'succeeded') {
    const metrics = metricsLine(run);
    Notification.success(
      trans.__('Training job %1 of %2 succeeded.', shortId(run.id), name) +
        (metrics ? ' ' + metrics : ''),
      { autoClose: 8000, actions }
    );
  } else if (run.status === 'failed') {
    Notification.error(
      trans.__(
        'Training job %1 of %2 failed: %3',
        shortId(run.id),
        name,
        run.error?.message ?? ''
      ),
      { autoClose: false, actions }
    );
  } else {
    Notification.info(
      trans.__('Training job %1 of %2 was cancelled.', shortId(run.id), name),
      { autoClose: 5000, actions }
    );
  }
}

/** The status-bar item: "2 jobs running" while any runs, hidden otherwise; opens the panel. */
export class JobsStatus extends Widget {
  constructor(
    private trans: TranslationBundle,
    onClick: () => void
  ) {
    super({ node: el('div', 'jp-mlops-JobsStatus') });
    this.node.title = trans.__('Training jobs: click to show them');
    this.node.onclick = onClick;
    this.paint(0);
  }

  /** Show `active` running jobs. */
  set active(active: number) {
    this.paint(active);
  }

  private paint(active: number): void {
    this.node.textContent = active
      ? this.trans._n('%1 job running', '%1 jobs running', active)
      : '';
    this.node.classList.toggle('jp-mlops-mod-idle', !active);
  }
}
