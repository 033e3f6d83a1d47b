/** One RegistryClient per registry for the length of an export (tokens and connections shared). */
import { RegistryClient } from './client';

export class RegistryClients {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(private readonly insecureRegistries: readonly string[]) {}

  get(registry: string): RegistryClient {
    let client = this.clients.get(registry);
    if (!client) {
      client = new RegistryClient({ registry, insecureRegistries: this.insecureRegistries });
      this.clients.set(registry, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
