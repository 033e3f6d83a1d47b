import { explainCache } from './cache-report';
import { Redactor } from '../ui/redact';

describe('explainCache with secrets in the build flags', () => {
  const secrets = Redactor.forBuildEnv([{ name: 'MY_SECRET', value: 'hunter2-long' }]);
  const facts = {
    volume: 'existing' as const,
    // The previous image's label holds the flags redacted; this build's are as the buildpack wrote them.
    targetsBefore: { 'build-flags': ['-ldflags=-X main.v=[redacted:MY_SECRET]'], targets: ['.'] },
    targetsAfter: { 'build-flags': ['-ldflags=-X main.v=hunter2-long'], targets: ['.'] },
  };

  it('compares both in redacted form: an unchanged secret is no change', () => {
    expect(explainCache({ ...facts, redact: (t) => secrets.redact(t) }).reasons).toEqual([]);
  });

  it('a changed flag is still named, without the secret', () => {
    const report = explainCache({ ...facts, targetsAfter: { 'build-flags': ['-ldflags=-X main.v=hunter2-long -s'], targets: ['.'] }, redact: (t) => secrets.redact(t) });
    expect(report.reasons).toEqual(['build flags changed (-ldflags=-X main.v=[redacted:MY_SECRET] -> -ldflags=-X main.v=[redacted:MY_SECRET] -s): packages compiled with them were rebuilt']);
  });

  it('names a change of a referenced variable by the hash of the expanded flags, the buildpack writes the flags as written', () => {
    const asWritten = { 'build-flags': ['-ldflags=-X main.v=$MY_SECRET'], targets: ['.'] };
    const before = { ...asWritten, 'build-flags-sha256': 'aaaa' };
    expect(explainCache({ volume: 'existing', targetsBefore: before, targetsAfter: { ...asWritten, 'build-flags-sha256': 'aaaa' } }).reasons).toEqual([]);
    expect(explainCache({ volume: 'existing', targetsBefore: before, targetsAfter: { ...asWritten, 'build-flags-sha256': 'bbbb' } }).reasons).toEqual([
      'build flags changed (the value of a variable they reference): packages compiled with them were rebuilt',
    ]);
  });
});
