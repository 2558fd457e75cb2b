/**
 * The extension's settings (schema/plugin.json: poll interval, recording run), shared by the
 * Productionize and Training Jobs plugins. The schema also places the toolbar buttons, the
 * cell toolbar item and the menu entries of the other plugins.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Token } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

export const SETTINGS_PLUGIN_ID = 'jupyter-mlops:plugin';

/** The current values of the extension's settings. */
export interface IMlopsSettings {
  /** How often (ms) Productionize and the Jobs panel ask the server for progress. */
  readonly pollInterval: number;
  /** Whether Productionize runs the notebook to record the equivalence tests' sample. */
  readonly executeRecording: boolean;
  readonly changed: ISignal<IMlopsSettings, void>;
}

export const IMlopsSettings = new Token<IMlopsSettings>(
  'jupyter-mlops:IMlopsSettings',
  'The settings of jupyter-mlops.'
);

class MlopsSettings implements IMlopsSettings {
  pollInterval = 1000;
  executeRecording = true;

  get changed(): ISignal<IMlopsSettings, void> {
    return this._changed;
  }

  update(settings: ISettingRegistry.ISettings): void {
    this.pollInterval = Math.max(
      250,
      settings.get('pollInterval').composite as number
    );
    this.executeRecording = settings.get('executeRecording')
      .composite as boolean;
    this._changed.emit();
  }

  private _changed = new Signal<IMlopsSettings, void>(this);
}

export const settingsPlugin: JupyterFrontEndPlugin<IMlopsSettings> = {
  id: SETTINGS_PLUGIN_ID,
  description: 'Settings of jupyter-mlops, and where its buttons and menus go.',
  autoStart: true,
  provides: IMlopsSettings,
  optional: [ISettingRegistry],
  activate: (
    _: JupyterFrontEnd,
    registry: ISettingRegistry | null
  ): IMlopsSettings => {
    const settings = new MlopsSettings();
    if (registry) {
      registry
        .load(SETTINGS_PLUGIN_ID)
        .then(loaded => {
          settings.update(loaded);
          loaded.changed.connect(() => settings.update(loaded));
        })
        .catch(reason =>
          console.error('jupyter-mlops: could not load its settings', reason)
        );
    }
    return settings;
  }
};
