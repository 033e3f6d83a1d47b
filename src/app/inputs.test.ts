import { buildInputEntries, BUNDLED_BUILDPACK_DIR } from './inputs';
import { packEntries } from './input-tar';
import { readTarEntries } from '../image/read-tar';
import { testdir } from '../../test/helpers/testdir';
import type { BuildpackDescriptor } from '../cnb/files';

const buildpack: BuildpackDescriptor = { api: '0.10', id: 'gobuild-cnb/go', version: '9.9.9', sbomFormats: [], targets: [] };

describe('what goes into the build container', () => {
  it('puts the app under /workspace owned by the build user, without .git or project.toml excludes', () => {
    const app = testdir({ 'main.go': 'package main\n', '.git/HEAD': 'ref\n', 'notes.md': 'x\n', 'sub/a.go': 'package sub\n' });
    try {
      const entries = buildInputEntries(
        { appDir: app.path, project: { include: [], exclude: ['*.md'], buildEnv: [] }, env: [], buildpackDir: BUNDLED_BUILDPACK_DIR },
        buildpack,
        { uid: 1001, gid: 1002 },
      );
      const workspace = entries.filter((e) => e.path === 'workspace' || e.path.startsWith('workspace/'));
      expect(workspace.map((e) => e.path).sort()).toEqual(['workspace', 'workspace/main.go', 'workspace/sub', 'workspace/sub/a.go']);
      expect(workspace.every((e) => e.owner.uid === 1001 && e.owner.gid === 1002)).toBe(true);
    } finally {
      app.cleanup();
    }
  });

  it('writes --env values as /platform/env files only the build user can read, and an executable buildpack', async () => {
    const app = testdir({ 'main.go': 'package main\n' });
    try {
      const entries = buildInputEntries(
        { appDir: app.path, project: { include: [], exclude: [], buildEnv: [] }, env: [{ name: 'TOKEN', value: 'secret' }], buildpackDir: BUNDLED_BUILDPACK_DIR },
        buildpack,
        { uid: 1000, gid: 1000 },
      );
      const tar = await readTarEntries(packEntries(entries));
      const token = tar.find((e) => e.header.name === 'platform/env/TOKEN');
      expect(token?.header).toMatchObject({ mode: 0o600, uid: 1000, gid: 1000 });
      expect(token?.body?.toString()).toBe('secret');
      const detect = tar.find((e) => e.header.name === 'cnb/buildpacks/gobuild-cnb_go/9.9.9/bin/detect');
      expect(detect?.header).toMatchObject({ mode: 0o755, uid: 0 });
      // The cache volume is mounted at the buildpack's layers dir: the build user must own it.
      expect(tar.find((e) => e.header.name === 'layers/gobuild-cnb_go')?.header).toMatchObject({ uid: 1000, type: 'directory' });
    } finally {
      app.cleanup();
    }
  });
});
