/**
 * jupyter-mlops in JupyterLab, one plugin per concern: settings, cell roles, Productionize,
 * training jobs, models, Kubeflow pipeline export.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { jobsPlugin } from './jobs';
import { modelsPlugin } from './models';
import { pipelinePlugin } from './pipeline';
import { productionizePlugin } from './productionize';
import { rolesPlugin } from './rolesplugin';
import { settingsPlugin } from './settings';

export { IMlopsSettings } from './settings';

const plugins: JupyterFrontEndPlugin<any>[] = [
  settingsPlugin,
  rolesPlugin,
  productionizePlugin,
  jobsPlugin,
  modelsPlugin,
  pipelinePlugin
];

export default plugins;
