/**
 * The extension's own icon (the Training Jobs panel and "Run as Training Job"); the others
 * come from JupyterLab's icon set.
 */
import { LabIcon } from '@jupyterlab/ui-components';

import jobsSvg from '../style/icons/jobs.svg';

export const jobsIcon = new LabIcon({
  name: 'jupyter-mlops:jobs',
  svgstr: jobsSvg
});
