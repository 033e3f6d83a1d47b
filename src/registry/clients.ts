/** One RegistryClient per registry for the length of an export (tokens and connections shared). */
import { RegistryClient } from './client';

export class RegistryClients {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(
    private readonly insecureRegistries: readonly string[],
    /** Extra CA certificates (PEM) every client trusts. */
    private readonly extraCaPem?: string,
  ) {}

  get(registry: string): RegistryClient {
    let client = this.clients.get(registry);
    if (!client) {
      client = new RegistryClient({ registry, insecureRegistries: this.insecureRegistries, extraCaPem: this.extraCaPem });
      this.clients.set(registry, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
