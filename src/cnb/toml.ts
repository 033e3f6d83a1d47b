/** The only place that parses TOML. Errors name the file, so a user knows which one is wrong. */
import TOML from '@iarna/toml';

export type TomlTable = Record<string, unknown>;

export class TomlParseError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`${file}: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`);
  }
}

export function parseToml(text: string, file: string): TomlTable {
  try {
    return TOML.parse(text) as TomlTable;
  } catch (err) {
    throw new TomlParseError(file, err);
  }
}

export function stringifyToml(value: TomlTable): string {
  return TOML.stringify(value as TOML.JsonMap);
}
