import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import type {
	ICredentialType,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypes,
	IVersionedNodeType,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

const ROOT = join(__dirname, '..', '..');

interface PackageManifest {
	name: string;
	n8n: { nodes: string[]; credentials: string[] };
}

export const manifest: PackageManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** Loads the class a manifest entry points at, from the TypeScript source beside the dist path. */
function loadClass<T>(distPath: string): T {
	const source = join(ROOT, distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
	const className = basename(source).split('.')[0];
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const exported = require(source)[className];
	if (typeof exported !== 'function') throw new Error(`${distPath} does not export class ${className}`);
	return new exported() as T;
}

/**
 * Stand-ins for the two core nodes templates start and end with, so a workflow JSON exported from
 * n8n runs here unchanged. The harness feeds the Manual Trigger the test's input items.
 */
class ManualTriggerStandIn implements INodeType {
	description = {
		displayName: 'Manual Trigger (harness)',
		name: 'manualTrigger',
		group: ['trigger'],
		version: [1],
		description: 'Emits the items the test passes in',
		defaults: { name: 'Manual Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [],
	} as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [this.getInputData()];
	}
}

class NoOpStandIn implements INodeType {
	description = {
		displayName: 'No Operation (harness)',
		name: 'noOp',
		group: ['organization'],
		version: [1],
		description: 'Passes items through',
		defaults: { name: 'No Operation' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [],
	} as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [this.getInputData()];
	}
}

/** Test-only: waits `ms` milliseconds, then passes items on (a stand-in for slow processing). */
class SleepNode implements INodeType {
	description = {
		displayName: 'Sleep (harness)',
		name: 'sleep',
		group: ['transform'],
		version: [1],
		description: 'Waits, then passes items through',
		defaults: { name: 'Sleep' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Ms', name: 'ms', type: 'number', default: 0 }],
	} as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		await new Promise((resolve) => setTimeout(resolve, this.getNodeParameter('ms', 0) as number));
		return [this.getInputData()];
	}
}

/** Test-only: pauses the execution as n8n's Wait node does (status "waiting" until waitTill). */
class WaitStandIn implements INodeType {
	description = {
		displayName: 'Wait (harness)',
		name: 'wait',
		group: ['organization'],
		version: [1],
		description: 'Puts the execution to wait for an hour',
		defaults: { name: 'Wait' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [],
	} as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		await this.putExecutionToWait(new Date(Date.now() + 3_600_000));
		return [this.getInputData()];
	}
}

export class PackNodeTypes implements INodeTypes {
	readonly nodes = new Map<string, INodeType>();

	readonly credentials = new Map<string, ICredentialType>();

	constructor() {
		for (const path of manifest.n8n.nodes) {
			const node = loadClass<INodeType>(path);
			this.nodes.set(`${manifest.name}.${node.description.name}`, node);
		}
		for (const path of manifest.n8n.credentials) {
			const credential = loadClass<ICredentialType>(path);
			this.credentials.set(credential.name, credential);
		}
		this.nodes.set('n8n-nodes-base.manualTrigger', new ManualTriggerStandIn());
		this.nodes.set('n8n-nodes-base.noOp', new NoOpStandIn());
		this.nodes.set('harness.sleep', new SleepNode());
		this.nodes.set('harness.wait', new WaitStandIn());
	}

	getByName(nodeType: string): INodeType | IVersionedNodeType {
		return this.getByNameAndVersion(nodeType);
	}

	getByNameAndVersion(nodeType: string): INodeType {
		const node = this.nodes.get(nodeType);
		if (!node) throw new Error(`Unrecognized node type: ${nodeType}`);
		return node;
	}

	getKnownTypes(): IDataObject {
		return Object.fromEntries([...this.nodes.keys()].map((type) => [type, { className: type, sourcePath: '' }]));
	}
}
