// Types for report.js, so TypeScript tests can use the benchmark's summaries and verdicts.
export type Scenario = 'cold' | 'one-line' | 'no-change';
export interface Sample {
  ms: number;
  bytesSent: number | null;
  imageId: string | null;
  sameImageId?: boolean;
  detail?: { timings?: Record<string, number> | null } | null;
}
export type Samples = Record<string, Partial<Record<Scenario, Record<string, Sample[]>>>>;
export interface Row {
  app: string;
  scenario: Scenario;
  runs: number;
  gobuild: number | null;
  docker: number | null;
  floor: number | null;
  vsDocker: number | null;
  overFloor: number | null;
  bytesSent: number | null;
  phases: Record<string, number | null>;
  sameImageId: boolean | null;
}
export interface Target {
  target: string;
  measured: string;
  result: 'met' | 'NOT met' | 'unknown';
}
export const SCENARIOS: Scenario[];
export const GENERATED_MARKER: string;
export function summarize(samples: Samples): Row[];
export function judgeTargets(rows: Row[], memory: { peakRss: number | null; layerMb: number } | null): Target[];
export function writeDocs(file: string, intro: string, generated: string): void;
export function seconds(ms: number | null | undefined): string;
export function mb(bytes: number | null | undefined): string;
