/**
 * Why work was redone, in words (issue: "explained cache behaviour"): compares the cache
 * layers' metadata before and after the build, and the previous image's binary layer
 * metadata with this one's. Pure: the caller reads the TOML files and labels.
 */
import type { CacheVolumeStatus } from './cache-volume';
import type { TomlTable } from '../cnb/toml';
import { Labels } from '../cnb/spec';

export interface CacheFacts {
  volume: CacheVolumeStatus;
  gocacheBefore?: TomlTable;
  gocacheAfter?: TomlTable;
  modcacheBefore?: TomlTable;
  modcacheAfter?: TomlTable;
  /** [metadata] of the `targets` layer in the previous image with this tag, and now. */
  targetsBefore?: TomlTable;
  targetsAfter?: TomlTable;
  /**
   * The image label holds build flags redacted (no secret values): the flags of this build are
   * compared in the same form, so a secret in them does not read as "changed" every time.
   */
  redact?: (text: string) => string;
}

export interface CacheReport {
  status: CacheVolumeStatus;
  /** Each reason work was redone; empty when everything was reused. */
  reasons: string[];
}

/** [metadata] of a buildpack layer as the previous image's lifecycle label recorded it. */
export function previousLayerMetadata(previous: { config: { Labels?: Record<string, string> | null } } | null, buildpackId: string, layer: string): TomlTable | undefined {
  const label = previous?.config.Labels?.[Labels.lifecycleMetadata];
  if (!label) return undefined;
  try {
    const meta = JSON.parse(label) as { buildpacks?: Array<{ key?: string; layers?: Record<string, { data?: TomlTable }> }> };
    return meta.buildpacks?.find((b) => b.key === buildpackId)?.layers?.[layer]?.data;
  } catch {
    return undefined;
  }
}

/** diffId of every layer the previous image's lifecycle label names, by our layer name. */
export function previousLayerShas(previous: { config: { Labels?: Record<string, string> | null } } | null): Map<string, string> {
  const shas = new Map<string, string>();
  const label = previous?.config.Labels?.[Labels.lifecycleMetadata];
  if (!label) return shas;
  try {
    const meta = JSON.parse(label) as {
      app?: Array<{ sha?: string }>;
      sbom?: { sha?: string };
      config?: { sha?: string };
      launcher?: { sha?: string };
      'process-types'?: { sha?: string };
      buildpacks?: Array<{ key?: string; layers?: Record<string, { sha?: string }> }>;
    };
    for (const bp of meta.buildpacks ?? []) {
      for (const [name, layer] of Object.entries(bp.layers ?? {})) if (layer.sha) shas.set(`${bp.key}:${name}`, layer.sha);
    }
    const single: Array<[string, string | undefined]> = [
      ['app', meta.app?.[0]?.sha],
      ['sbom', meta.sbom?.sha],
      ['config', meta.config?.sha],
      ['launcher', meta.launcher?.sha],
      ['process-types', meta['process-types']?.sha],
    ];
    for (const [name, sha] of single) if (sha) shas.set(name, sha);
  } catch {
    // An unreadable label means nothing is known to be reusable.
  }
  return shas;
}

const str = (v: unknown): string => (Array.isArray(v) ? v.join(' ') : v === undefined ? '' : String(v));

export function explainCache(facts: CacheFacts): CacheReport {
  const reasons: string[] = [];
  if (facts.volume === 'new') reasons.push('cache volume is new: everything is compiled and fetched');
  if (facts.volume === 'cleared') reasons.push('cache volume was cleared (--clear-cache): everything is compiled and fetched');
  const before = facts.gocacheBefore;
  const after = facts.gocacheAfter;
  if (facts.volume === 'existing' && !before && after) reasons.push('Go build cache was empty: everything is compiled');
  if (before && after && str(before['go-version']) !== str(after['go-version'])) {
    reasons.push(`Go version changed ${str(before['go-version'])} -> ${str(after['go-version'])}: build cache cleared`);
  }
  if (before && after && `${str(before.goos)}/${str(before.goarch)}` !== `${str(after.goos)}/${str(after.goarch)}`) {
    reasons.push(`target changed ${str(before.goos)}/${str(before.goarch)} -> ${str(after.goos)}/${str(after.goarch)}`);
  }
  const sumBefore = str(facts.modcacheBefore?.['sum-sha256']);
  const sumAfter = str(facts.modcacheAfter?.['sum-sha256']);
  if (facts.modcacheBefore && facts.modcacheAfter && sumBefore !== sumAfter) {
    reasons.push(`${str(facts.modcacheAfter['sum-file']) || 'go.sum'} changed: modules were fetched`);
  }
  const redact = facts.redact ?? ((text: string) => text);
  const flagsBefore = redact(str(facts.targetsBefore?.['build-flags']));
  const flagsAfter = redact(str(facts.targetsAfter?.['build-flags']));
  if (facts.targetsBefore && facts.targetsAfter && flagsBefore !== flagsAfter) {
    reasons.push(`build flags changed (${flagsBefore || 'none'} -> ${flagsAfter || 'none'}): packages compiled with them were rebuilt`);
  } else if (facts.targetsBefore && facts.targetsAfter && str(facts.targetsBefore['build-flags-sha256']) !== str(facts.targetsAfter['build-flags-sha256'])) {
    // Written the same, expanded differently: a variable the flags reference has a new value.
    reasons.push(`build flags changed (the value of a variable they reference): packages compiled with them were rebuilt`);
  }
  const targetsBefore = str(facts.targetsBefore?.targets);
  const targetsAfter = str(facts.targetsAfter?.targets);
  if (facts.targetsBefore && facts.targetsAfter && targetsBefore !== targetsAfter) {
    reasons.push(`targets changed (${targetsBefore} -> ${targetsAfter})`);
  }
  return { status: facts.volume, reasons };
}
