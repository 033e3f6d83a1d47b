import { Readable } from 'node:stream';
import {
  buildImageConfig,
  buildIndex,
  buildManifest,
  createdTimestamp,
  imageManifest,
  parseSourceDateEpoch,
  serializeConfig,
  serializeJson,
  type ImageConfigInput,
} from './config';
import { sha256Digest } from './digest';
import { MediaType, type Digest, type ImageConfig } from './types';
import { ExportError, UsageError } from '../errors';

const digest = (n: number): Digest => sha256Digest(`layer ${n}`);

const runImageConfig: ImageConfig & { container: string; docker_version: string } = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-05-01T10:00:00.123456789Z',
  container: 'abc123',
  docker_version: '20.10.24',
  config: {
    User: '1000:1000',
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    Cmd: ['bash'],
    Labels: { 'io.buildpacks.stack.id': 'io.buildpacks.stacks.bookworm', 'io.buildpacks.rebasable': 'true' },
    ExposedPorts: { '8080/tcp': {} },
  },
  rootfs: { type: 'layers', diff_ids: [digest(0), digest(1)] },
  history: [
    { created: '2024-05-01T09:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in /' },
    { created: '2024-05-01T09:00:01Z', created_by: '/bin/sh -c #(nop) CMD ["bash"]', empty_layer: true },
    { created: '2024-05-01T09:00:02Z', created_by: '/bin/sh -c useradd cnb', comment: 'user' },
  ],
};

const input: ImageConfigInput = {
  base: runImageConfig,
  layers: [
    { diffId: digest(2), createdBy: 'gobuild-cnb: buildpack layer gobuild-cnb/go:targets' },
    { diffId: digest(3), createdBy: 'gobuild-cnb: application layer /workspace' },
  ],
  env: ['PATH=/cnb/process:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CNB_APP_DIR=/workspace'],
  entrypoint: ['/cnb/process/hello'],
  workingDir: '/workspace',
  labels: { 'io.buildpacks.build.metadata': '{"buildpacks":[]}', 'io.buildpacks.rebasable': 'false' },
};

/** The image ID of `input`; it changes only if the config we write changes (then update it here, knowingly). */
const GOLDEN_IMAGE_ID = 'sha256:07d6adc52d3fa1b6a4a7da44f6ef2bd9894580bed883e3ebd5e2ccd0b89ab855';

describe('buildImageConfig', () => {
  it('keeps the run image config, adds ours, and gives the golden image ID', () => {
    const config = buildImageConfig(input);
    expect(config).toEqual({
      architecture: 'amd64',
      os: 'linux',
      created: '1980-01-01T00:00:01Z',
      docker_version: '20.10.24',
      config: {
        User: '1000:1000',
        Env: input.env,
        Entrypoint: ['/cnb/process/hello'],
        WorkingDir: '/workspace',
        ExposedPorts: { '8080/tcp': {} },
        Labels: {
          'io.buildpacks.stack.id': 'io.buildpacks.stacks.bookworm',
          'io.buildpacks.rebasable': 'false',
          'io.buildpacks.build.metadata': '{"buildpacks":[]}',
        },
      },
      rootfs: { type: 'layers', diff_ids: [digest(0), digest(1), digest(2), digest(3)] },
      history: [
        { created: '1980-01-01T00:00:01Z', created_by: '/bin/sh -c #(nop) ADD file:abc in /' },
        { created: '1980-01-01T00:00:01Z', created_by: '/bin/sh -c useradd cnb', comment: 'user' },
        { created: '1980-01-01T00:00:01Z', created_by: 'gobuild-cnb: buildpack layer gobuild-cnb/go:targets' },
        { created: '1980-01-01T00:00:01Z', created_by: 'gobuild-cnb: application layer /workspace' },
      ],
    });
    expect(serializeConfig(config).digest).toBe(GOLDEN_IMAGE_ID);
    // The input is not modified.
    expect(runImageConfig.config.Cmd).toEqual(['bash']);
  });

  it('sets created (config and history) from SOURCE_DATE_EPOCH', () => {
    const config = buildImageConfig({ ...input, sourceDateEpoch: parseSourceDateEpoch('1700000000') });
    expect(config.created).toBe('2023-11-14T22:13:20Z');
    expect(new Set(config.history!.map((h) => h.created))).toEqual(new Set(['2023-11-14T22:13:20Z']));
    expect(serializeConfig(config).digest).not.toBe(GOLDEN_IMAGE_ID);
  });

  it('refuses a SOURCE_DATE_EPOCH that is not whole seconds', () => {
    for (const bad of ['', 'yesterday', '-5', '1.5']) expect(() => parseSourceDateEpoch(bad)).toThrow(UsageError);
    expect(createdTimestamp(0)).toBe('1970-01-01T00:00:00Z');
  });

  it('builds from scratch with a platform, and gives plain history entries to a base whose history does not match its layers', () => {
    const scratch = buildImageConfig({ ...input, base: null, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, user: '1000:1000' });
    expect(scratch).toMatchObject({ os: 'linux', architecture: 'arm64', variant: 'v8', rootfs: { diff_ids: [digest(2), digest(3)] } });
    expect(scratch.config.User).toBe('1000:1000');
    const odd = buildImageConfig({ ...input, base: { ...runImageConfig, history: [] } });
    expect(odd.history!.slice(0, 2)).toEqual([{ created: '1980-01-01T00:00:01Z' }, { created: '1980-01-01T00:00:01Z' }]);
  });
});

describe('serializeJson', () => {
  it('writes keys sorted at every level and no whitespace, whatever the insertion order', () => {
    const a = serializeJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: undefined } });
    const b = serializeJson({ a: { d: [3, { x: 2, y: 1 }] }, b: 1 });
    expect(a.bytes.toString()).toBe('{"a":{"d":[3,{"x":2,"y":1}]},"b":1}');
    expect(b.digest).toBe(a.digest);
    expect(a.size).toBe(a.bytes.length);
  });
});

describe('manifests and indexes', () => {
  const config = serializeConfig(buildImageConfig(input));
  const layer = { mediaType: MediaType.OciLayerGzip, digest: digest(9), size: 123 };

  it('builds OCI and Docker manifests with the matching media types', () => {
    const configDesc = { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size };
    expect(buildManifest(configDesc, [layer], 'oci')).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: configDesc,
      layers: [layer],
    });
    expect(buildManifest(configDesc, [layer], 'docker')).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { ...configDesc, mediaType: MediaType.DockerConfig },
      layers: [{ ...layer, mediaType: MediaType.DockerLayerGzip }],
    });
  });

  it('indexes per-platform manifests and refuses a manifest without a platform or a platform twice', () => {
    const blob = { descriptor: layer, open: () => Readable.from([]) };
    const amd = imageManifest({ config, layers: [blob], platform: { os: 'linux', architecture: 'amd64' } }, 'oci').descriptor;
    const arm = imageManifest({ config, layers: [blob], platform: { os: 'linux', architecture: 'arm64' } }, 'oci').descriptor;
    expect(buildIndex([amd, arm])).toEqual({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [amd, arm] });
    expect(buildIndex([amd, arm], 'docker').mediaType).toBe(MediaType.DockerManifestList);
    expect(() => buildIndex([amd, amd])).toThrow(ExportError);
    expect(() => buildIndex([{ ...amd, platform: undefined }])).toThrow(/has no platform/);
  });
});
