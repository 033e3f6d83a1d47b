/** The output half of options.ts: --output values and -t names, refused before any engine call. */
import { parseOutput, validateTag } from './options';
import { ExitCode } from '../errors';

describe('parseOutput', () => {
  it('reads docker, registry, oci:<dir>, oci-archive:<file> and oci-archive:- (stdout, not resolved)', () => {
    expect(parseOutput('oci-archive:-', false, '/w')).toEqual({ kind: 'oci-archive', path: '-' });
    expect(parseOutput('oci-archive:./-x', false, '/w')).toEqual({ kind: 'oci-archive', path: '/w/-x' });
    expect(parseOutput('oci:sub/dir', false, '/w')).toEqual({ kind: 'oci', path: '/w/sub/dir' });
  });

  it.each([
    ['oci:-', /oci:- names stdout/],
    ['oci-archive:a\nb.tar', /holds a newline or another control character/],
    ['oci:out\r', /control character/],
    ['oci-archive:', /is not one of/],
  ])('refuses %j with exit 2 and a hint', (output, message) => {
    let error: unknown;
    try {
      parseOutput(output, false, '/w');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: ExitCode.Usage, message: expect.stringMatching(message), hint: expect.stringMatching(/\S/) });
  });
});

describe('validateTag', () => {
  it.each(['my-app', 'my-app:1.0', 'team/app:Latest_1', '127.0.0.1:5000/x', 'localhost:65535/a/b', 'ghcr.io/org/app', 'a__b'])('accepts %j', (tag) => {
    expect(validateTag(tag)).toBe(tag);
  });

  it.each([
    ['127.0.0.1:99999/x', /port 99999 is not between 1 and 65535/],
    ['127.0.0.1:0/x', /port 0 is not between/],
    ['My-App', /lowercase/],
    ['a//b', /not a valid repository path component/],
    ['', /it is empty/],
    [':tag', /not a valid repository path component/],
    [`${'a'.repeat(256)}`, /longer than 255/],
    ['my app', /not a valid repository path component/],
    ['my-app\n', /not a valid repository path component/],
    ['my-app:1\nx', /tag/],
    ['my-app@sha256:' + '0'.repeat(64), /a digest/],
    ['my-app:-x', /tag "-x"/],
  ])('refuses %j with exit 2, the reason and the grammar in the hint', (tag, reason) => {
    let error: unknown;
    try {
      validateTag(tag);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({
      code: ExitCode.Usage,
      message: expect.stringMatching(reason),
      hint: expect.stringContaining('[registry[:port]/]path[:tag]'),
    });
    // The name is quoted: a newline in it never starts a new line of output.
    expect((error as Error).message).toContain(`-t ${JSON.stringify(tag)}`);
  });
});
