import { pino } from 'pino';
import { MemoryTransport, NodeRegistry, RegistryFeed, topicSpecs, type RegistryNode } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { freshStateDir } from './helpers.js';

/** A registry and its feed on an in-process log (journal in a fresh STATE_DIR), seeded with `nodes`: what the registry routes need. */
export async function startTestFeed(nodes: RegistryNode[] = []): Promise<{ registry: NodeRegistry; feed: RegistryFeed }> {
  const kinds = defaultKinds();
  const transport = new MemoryTransport();
  await transport.ensureTopics(topicSpecs(kinds));
  const registry = new NodeRegistry([], [], kinds);
  const feed = new RegistryFeed({
    registry,
    transport,
    producer: await transport.producer(),
    logger: pino({ level: 'silent' }),
    seed: () => new NodeRegistry(nodes, [], kinds),
    stateDir: freshStateDir(),
  });
  await feed.start();
  return { registry, feed };
}
