import { getContext, setContext } from 'svelte';
import type { NodeClient } from './node-client.js';

const KEY = Symbol('hearthnet-node-client');

export const provideNodeClient = (client: NodeClient): NodeClient => setContext(KEY, client);
export const useNodeClient = (): NodeClient => getContext<NodeClient>(KEY);
