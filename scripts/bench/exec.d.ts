// Types for exec.js, so TypeScript tests can use the benchmark's helpers.
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}
export function run(cmd: string, args: string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult>;
export function runOrThrow(cmd: string, args: string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult>;
export function stopRunning(): void;
export function median(values: Array<number | null | undefined>): number | null;
export function parseTimeVMaxRss(stderr: string): number | null;
export function parseJsonResult(stdout: string): Record<string, unknown> | null;
export function layerBytesSent(result: unknown): number | null;
