/**
 * The "Run as Training Job" dialog's form, built from the notebook's parameters cell.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IParameter } from './api';
import { el } from './dom';

/** What the Run dialog hands back: the values the user changed, as the server takes them. */
export interface IRunChoice {
  parameters: Record<string, string | boolean>;
  sweep: boolean;
}

/** A parameter's default as the form shows it (string defaults without their quotes). */
function shownDefault(p: IParameter): string {
  if (p.type === 'str') {
    const quoted = /^(['"])(.*)\1$/s.exec(p.default.trim());
    return quoted ? quoted[2] : p.default;
  }
  return p.default;
}

/**
 * The Run dialog's form, built from the parameters cell: one input per parameter prefilled
 * with its default (number, checkbox or text by the default's type). "Sweep" turns every
 * input into a text field that takes a comma list; the job then runs every combination.
 */
export class RunForm extends Widget implements Dialog.IBodyWidget<IRunChoice> {
  constructor(
    private parameters: IParameter[],
    private trans: TranslationBundle,
    previous: IRunChoice | null = null,
    error: string | null = null
  ) {
    super({ node: document.createElement('form') });
    this.addClass('jp-mlops-RunForm');
    for (const p of parameters) {
      const value = previous?.parameters[p.name];
      this.values.set(
        p.name,
        value === undefined
          ? shownDefault(p)
          : typeof value === 'boolean'
            ? value
              ? 'True'
              : 'False'
            : value
      );
    }
    this.sweep = previous?.sweep ?? false;
    if (error) {
      this.node.appendChild(el('div', 'jp-mlops-formError', error));
    }
    if (!parameters.length) {
      this.node.appendChild(
        el(
          'p',
          'jp-mlops-muted',
          trans.__(
            'This notebook has no cell tagged "parameters": the job runs it with its own values.'
          )
        )
      );
    }
    this.fields = el('div', 'jp-mlops-fields');
    this.node.appendChild(this.fields);
    if (parameters.length) {
      const toggle = el('label', 'jp-mlops-sweepToggle');
      const box = el('input');
      box.type = 'checkbox';
      box.name = 'jp-mlops-sweep';
      box.checked = this.sweep;
      box.onchange = () => {
        this.collect();
        this.sweep = box.checked;
        this.render();
      };
      toggle.append(box, el('span', '', trans.__('Sweep')));
      this.node.appendChild(toggle);
      this.node.appendChild(
        el(
          'p',
          'jp-mlops-muted jp-mlops-hint',
          trans.__(
            'A comma list (for example 0.1,1,10) makes a sweep: one job per combination of values.'
          )
        )
      );
    }
    // Enter submits the dialog, not this form
    this.node.addEventListener('submit', event => event.preventDefault());
    this.render();
  }

  getValue(): IRunChoice {
    this.collect();
    const parameters: Record<string, string | boolean> = {};
    for (const p of this.parameters) {
      const value = this.values.get(p.name)!;
      if (value === shownDefault(p)) {
        continue; // only what the user changed: the notebook keeps its own defaults
      }
      parameters[p.name] =
        p.type === 'bool' && !this.sweep ? value === 'True' : value;
    }
    return { parameters, sweep: this.sweep };
  }

  /** Read the inputs into `values`. */
  private collect(): void {
    for (const input of this.fields.querySelectorAll<HTMLInputElement>(
      'input[data-parameter]'
    )) {
      const name = input.dataset.parameter!;
      this.values.set(
        name,
        input.type === 'checkbox'
          ? input.checked
            ? 'True'
            : 'False'
          : input.value
      );
    }
  }

  /** (Re)build the inputs for the current mode. */
  private render(): void {
    const trans = this.trans;
    this.fields.replaceChildren();
    for (const p of this.parameters) {
      const value = this.values.get(p.name)!;
      const label = el('label', 'jp-mlops-field');
      const name = el('span', 'jp-mlops-fieldName', p.name);
      const kind = el(
        'span',
        'jp-mlops-fieldType',
        p.type ?? trans.__('Python literal')
      );
      const input = el('input', 'jp-mod-styled jp-mlops-input');
      input.name = p.name;
      input.dataset.parameter = p.name;
      input.title = trans.__('Default: %1', p.default);
      if (p.type === 'bool' && !this.sweep) {
        input.type = 'checkbox';
        input.checked = value === 'True';
        input.classList.remove('jp-mod-styled');
      } else {
        // Text, numbers included: a number input drops the comma of `0.1,1` (a sweep)
        input.type = 'text';
        if (p.type === 'int' || p.type === 'float') {
          input.inputMode = 'decimal';
          input.title = trans.__(
            'Default: %1. A comma list (for example 0.1,1) makes a sweep.',
            p.default
          );
        }
        input.value = value;
        input.placeholder = this.sweep
          ? p.type === 'bool'
            ? 'True,False'
            : trans.__('%1 or a comma list', shownDefault(p))
          : shownDefault(p);
      }
      label.append(name, kind, input);
      this.fields.appendChild(label);
    }
  }

  private values = new Map<string, string>();
  private sweep: boolean;
  private fields: HTMLElement;
}
