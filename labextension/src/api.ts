/**
 * Calls to the jupyter-mlops server extension (routes under /mlops/api/), behind the
 * server's own authentication (ServerConnection adds the token and XSRF header).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** An error answered by the server: message, and the notebook cell when there is one. */
export class MlopsApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: IErrorBody
  ) {
    super(message);
  }
}

export interface ICellRef {
  number: number;
  id: string;
}

export interface IErrorBody {
  error?: string;
  message?: string;
  path?: string | null;
  cell?: ICellRef | null;
  other_cell?: ICellRef | null;
  line?: number | null;
  status?: number;
}

export interface ISuggestion {
  index: number;
  number: number;
  cell_id: string;
  role: string;
  current: string | null;
  reason: string;
}

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
  outcome: string;
  message: string;
}

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
  warnings: string[];
  left_out: string[];
  cached: boolean;
  ok: boolean;
}

export interface ITask<T> {
  id: string;
  kind: string;
  status: 'running' | 'done' | 'failed';
  progress: string[];
  result: T | null;
  error: IErrorBody | null;
}

export interface IRun {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  notebook: string;
  parameters: Record<string, unknown>;
  metrics: Record<string, number>;
  started: number | null;
  ended: number | null;
  duration: number | null;
  sweep_id: string | null;
  error?: { message?: string; cell_number?: number } | null;
  progress: { done: number; total: number | null; cell: string | null } | null;
  executed_path: string | null;
}

/** Call ``/mlops/api/<endpoint>``; JSON in and out; MlopsApiError on a non-2xx answer. */
export async function requestAPI<T>(
  endpoint: string,
  init: RequestInit = {},
  query: Record<string, string> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const search = new URLSearchParams(query).toString();
  const url =
    URLExt.join(settings.baseUrl, 'mlops', 'api', endpoint) +
    (search ? `?${search}` : '');
  const response = await ServerConnection.makeRequest(url, init, settings);
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

export function postJSON<T>(endpoint: string, payload: unknown): Promise<T> {
  return requestAPI<T>(endpoint, {
    method: 'POST',
    body: JSON.stringify(payload)
  });
}
