/** Every flag of `build` is in its --help with an example that uses it (the project's rule for docs). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

describe('gobuild-cnb build --help', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  });

  it('shows an example for every flag', () => {
    const help = execFileSync(process.execPath, ['--', MAIN, 'build', '--help'], { encoding: 'utf8' });
    const [options, examples] = help.split('\nExamples:\n');
    const flags = [...options.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]).filter((f) => f !== '--help' && f !== '--version');
    expect(flags.length).toBeGreaterThan(20);
    const exampleLines = examples.split('\n').filter((l) => l.trim().startsWith('gobuild-cnb ') || l.includes(' gobuild-cnb '));
    const missing = flags.filter((flag) => !exampleLines.some((l) => new RegExp(`(^|\\s)${flag}(\\s|=|$)`).test(l)));
    // -t and -e are used in their short forms.
    const shortForms: Record<string, string> = { '--tag': '-t', '--env': '--env' };
    expect(missing.filter((flag) => !exampleLines.some((l) => l.includes(` ${shortForms[flag] ?? flag} `)))).toEqual([]);
  });
});
