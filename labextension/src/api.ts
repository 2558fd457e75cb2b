/**
 * Calls to the jupyter-mlops server extension (routes under `/mlops/api/`), behind the
 * server's own authentication: `ServerConnection` adds the token and the XSRF header.
 * The types mirror the JSON the server answers (`to_dict()` of the Python classes).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** A cell as the server names it: number (1-based, as JupyterLab counts) and id. */
export interface ICellRef {
  number: number;
  id: string;
}

/** `MlopsError.to_dict()`: the message, and the cell(s) when the error is in one. */
export interface IErrorBody {
  error?: string;
  message?: string;
  path?: string | null;
  cell?: ICellRef | null;
  other_cell?: ICellRef | null;
  line?: number | null;
  status?: number;
  /** An action that fixes the error: `no-execute` (no recording run), `force` (overwrite). */
  fix?: 'no-execute' | 'force' | null;
}

/** An error answered by the server, with its JSON body. */
export class MlopsApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: IErrorBody
  ) {
    super(message);
  }
}

/** `GET suggest`: one proposed role (`Suggestion.to_dict()`). */
export interface ISuggestion {
  index: number;
  number: number;
  cell_id: string;
  role: string;
  current: string | null;
  reason: string;
}

/** `GET parameters`: one name of the parameters cell; `default` is Python source. */
export interface IParameter {
  name: string;
  default: string;
  type: 'int' | 'float' | 'str' | 'bool' | null;
}

export interface ILintFinding {
  path: string;
  line: number;
  message_id: string;
  symbol: string;
  message: string;
  cell_number: number | null;
  cell_id: string | null;
  cell_line: number | null;
}

export interface ITestCase {
  name: string;
  outcome: 'passed' | 'failed' | 'error' | 'skipped';
  message: string;
}

/** `ProductionizeResult.to_dict()` plus `out_dir` and `notebook` relative to the root. */
export interface IProductionizeResult {
  notebook: string;
  out_dir: string;
  package: string;
  files: string[];
  lint: { score: number; fail_under: number; findings: ILintFinding[] } | null;
  tests: {
    passed: number;
    failed: number;
    errors: number;
    skipped: number;
    cases: ITestCase[];
  } | null;
  environment: string;
  warnings: IWarning[];
  left_out: string[];
  /** What the generated tests do not show to behave like the notebook, and why. */
  not_proven: string[];
  proven: boolean;
  cached: boolean;
  recorded: boolean;
  ok: boolean;
}

/** A productionize warning, with the cell (and line) it is about when there is one. */
export interface IWarning {
  text: string;
  message: string;
  cell: { number: number; id: string } | null;
  line: number | null;
}

/** `GET tasks/{id}`. */
export interface ITask<T> {
  id: string;
  kind: string;
  status: 'running' | 'done' | 'failed';
  progress: string[];
  result: T | null;
  error: IErrorBody | null;
}

export type RunStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** `GET runs`: one run of the store, with live progress while it runs here. */
export interface IRun {
  id: string;
  status: RunStatus;
  notebook: string;
  parameters: Record<string, unknown>;
  metrics: Record<string, number>;
  created: number;
  started: number | null;
  ended: number | null;
  duration: number | null;
  sweep_id: string | null;
  error?: {
    message?: string;
    cell_number?: number | null;
    cell_id?: string | null;
  } | null;
  progress: { done: number; total: number | null; cell: string | null } | null;
  executed_path: string | null;
}

/** `GET models`: one registered version, its lineage and its last validation. */
export interface IModelVersion {
  version: number;
  stage: 'none' | 'staging' | 'production' | 'archived';
  created: number;
  package: string | null;
  parameters: Record<string, unknown>;
  metrics: Record<string, number>;
  lint_score: number | null;
  tests: { passed?: number; failed?: number; errors?: number } | null;
  lineage: {
    run: string;
    notebook: string | null;
    notebook_sha256: string | null;
    inputs: { path: string; sha256: string | null }[];
    commit: string | null;
    dirty: boolean | null;
    python: string | null;
  };
  validation: {
    passed: boolean;
    production: number | null;
    at: number;
    actor: string;
    metrics: {
      metric: string;
      production: number | null;
      candidate: number | null;
      change: number | null;
      tolerance: number | null;
      ok: boolean | null;
    }[];
    problems: { column: string; check: string; detail: string }[];
    notes: string[];
  } | null;
  /** The ONNX parity report of the version's model.onnx (`jupyter mlops convert`). */
  parity: IParity | null;
}

/** What `convert --to onnx` measured: each gated figure, sizes, one-record latency. */
export interface IParity {
  passed: boolean;
  /** false when model.onnx changed since its parity was measured */
  current: boolean;
  at: number | null;
  scope: string;
  checks: {
    check: string;
    data: string;
    value: number | null;
    bound: 'min' | 'max';
    tolerance: number;
    ok: boolean;
    sklearn?: number | null;
    onnx?: number | null;
  }[];
  quantization: { applied: boolean; reason?: string; operators?: string[] };
  latency_ms: { sklearn: number; onnx: number };
  bytes: { sklearn: number; onnx: number; onnx_unquantized: number };
}

/** One event of a model's audit log. */
export interface IModelEvent {
  seq: number;
  at: number;
  version: number | null;
  action: string;
  stage: string | null;
  actor: string;
  reason: string | null;
  passed: boolean | null;
}

/** `GET models`: a registered model, versions and history newest first. */
export interface IModel {
  name: string;
  versions: IModelVersion[];
  history: IModelEvent[];
}

/** Call `/mlops/api/<endpoint>`: JSON in and out; `MlopsApiError` on a non-2xx answer. */
export async function requestAPI<T>(
  endpoint: string,
  init: RequestInit = {},
  query: Record<string, string> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const search = new URLSearchParams(query).toString();
  const url =
    URLExt.join(settings.baseUrl, 'mlops/api', endpoint) +
    (search ? `?${search}` : '');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let body: any = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { message: text };
  }
  if (!response.ok) {
    throw new MlopsApiError(
      body.message || response.statusText || `HTTP ${response.status}`,
      response.status,
      body
    );
  }
  return body as T;
}

/** POST a JSON body. */
export function postJSON<T>(endpoint: string, payload: unknown): Promise<T> {
  return requestAPI<T>(endpoint, {
    method: 'POST',
    body: JSON.stringify(payload)
  });
}

/** The error body of anything thrown by the calls above. */
export function errorBody(reason: unknown): IErrorBody & { message: string } {
  if (reason instanceof MlopsApiError) {
    return { ...reason.body, message: reason.body.message || reason.message };
  }
  return {
    message: reason instanceof Error ? reason.message : String(reason)
  };
}
