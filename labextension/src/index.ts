/**
 * jupyter-mlops in JupyterLab, one plugin per concern: settings, cell roles, Productionize,
 * training jobs, models.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { jobsPlugin } from './jobs';
import { modelsPlugin } from './models';
import { productionizePlugin } from './productionize';
import { rolesPlugin } from './rolesplugin';
import { settingsPlugin } from './settings';

export { IMlopsSettings } from './settings';

const plugins: JupyterFrontEndPlugin<any>[] = [
  settingsPlugin,
  rolesPlugin,
  productionizePlugin,
  jobsPlugin,
  modelsPlugin
];

export default plugins;
