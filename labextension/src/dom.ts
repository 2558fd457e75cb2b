/**
 * Small DOM helpers for the panels (plain DOM widgets styled with JupyterLab's classes).
 */

/** A new element with a class name and text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/** A link-looking button that runs `action`. */
export function linkButton(
  text: string,
  action: () => void,
  className = ''
): HTMLButtonElement {
  const button = el('button', `jp-mlops-link ${className}`.trim(), text);
  button.type = 'button';
  button.onclick = action;
  return button;
}

/** A small JupyterLab-styled button that runs `action`. */
export function smallButton(
  text: string,
  action: () => void,
  className = ''
): HTMLButtonElement {
  const button = el(
    'button',
    `jp-Button jp-mod-styled jp-mod-small jp-mlops-button ${className}`.trim(),
    text
  );
  button.type = 'button';
  button.onclick = action;
  return button;
}

/** A titled section appended to `parent`; returns the section. */
export function section(
  parent: HTMLElement,
  title: string,
  className = ''
): HTMLElement {
  const box = el('section', `jp-mlops-section ${className}`.trim());
  box.appendChild(el('h3', 'jp-mlops-sectionTitle', title));
  parent.appendChild(box);
  return box;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise(resolve => setTimeout(resolve, ms));
