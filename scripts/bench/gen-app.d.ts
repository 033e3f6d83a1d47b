// Types for gen-app.js, so TypeScript tests can use the benchmark's generators.
export const EDIT_MARKER: string;
export function generateMidApp(appDir: string, options?: { packages?: number }): { packages: number; editFile: string };
export function generateEmbedApp(appDir: string, bytes: number): void;
export function editOneLine(file: string, token: string, marker?: string): number;
export function offlineGoEnv(proxyUrls: string[], modCache: string): NodeJS.ProcessEnv;
