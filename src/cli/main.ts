/** Entry point: commander wiring lands here; the only place that prints errors and exits. */
export async function main(argv: string[]): Promise<void> {
  void argv;
  process.stdout.write('gobuild-cnb: not implemented yet\n');
}
