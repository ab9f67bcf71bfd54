import { randomUUID } from 'node:crypto';

import { ExecutionLifecycleHooks, ExternalSecretsProxy, WorkflowExecute } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	IConnections,
	IDataObject,
	INode,
	INodeExecutionData,
	IRun,
	IRunExecutionData,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { Workflow } from 'n8n-workflow';

import { TestCredentialsHelper } from './credentials-helper';
import { PackNodeTypes } from './node-types';

export interface WorkflowJson {
	name?: string;
	nodes: INode[];
	connections: IConnections;
	settings?: IWorkflowBase['settings'];
}

export interface RunOptions {
	/** Decrypted credential data by credential type name, e.g. { leadPipelineRedis: {...} }. */
	credentials?: Record<string, object>;
	/** Items the start node receives. */
	input?: IDataObject[];
	/** Name of the node to start from; default the workflow's Manual Trigger or first node. */
	startNode?: string;
	mode?: WorkflowExecuteMode;
}

let nodeTypes: PackNodeTypes | undefined;
export function packNodeTypes(): PackNodeTypes {
	nodeTypes ??= new PackNodeTypes();
	return nodeTypes;
}

function unsupported(what: string) {
	return () => {
		throw new Error(`${what} is not available in the engine harness`);
	};
}

function additionalData(
	hooks: ExecutionLifecycleHooks,
	credentials: Record<string, ICredentialDataDecryptedObject>,
): IWorkflowExecuteAdditionalData {
	const base = 'http://127.0.0.1:5678';
	return {
		hooks,
		credentialsHelper: new TestCredentialsHelper(packNodeTypes(), credentials),
		executeWorkflow: unsupported('executeWorkflow'),
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		startRunnerTask: unsupported('Code node task runners'),
		logAiEvent: () => undefined,
		currentNodeExecutionIndex: 0,
		restApiUrl: `${base}/rest`,
		instanceBaseUrl: `${base}/`,
		formBaseUrl: `${base}/form`,
		formWaitingBaseUrl: `${base}/form-waiting`,
		formTestBaseUrl: `${base}/form-test`,
		webhookBaseUrl: `${base}/webhook`,
		webhookWaitingBaseUrl: `${base}/webhook-waiting`,
		webhookTestBaseUrl: `${base}/webhook-test`,
		mcpBaseUrl: `${base}/mcp`,
		mcpTestBaseUrl: `${base}/mcp-test`,
		variables: {},
		externalSecretsProxy: new ExternalSecretsProxy(),
	} as IWorkflowExecuteAdditionalData;
}

export function buildWorkflow(json: WorkflowJson): Workflow {
	return new Workflow({
		id: randomUUID(),
		name: json.name ?? 'test',
		nodes: json.nodes,
		connections: json.connections,
		nodeTypes: packNodeTypes(),
		settings: json.settings ?? { executionOrder: 'v1' },
		active: false,
	});
}

/** Runs a workflow JSON through n8n-core's WorkflowExecute, the engine n8n itself runs. */
export async function runWorkflow(json: WorkflowJson, options: RunOptions = {}): Promise<IRun> {
	const mode = options.mode ?? 'manual';
	const workflow = buildWorkflow(json);
	const start =
		(options.startNode && workflow.getNode(options.startNode)) ||
		json.nodes.find((n) => n.type === 'n8n-nodes-base.manualTrigger') ||
		workflow.getStartNode();
	if (!start) throw new Error('The workflow has no start node');

	const workflowData = { id: workflow.id, name: workflow.name, nodes: json.nodes, connections: json.connections, active: false } as unknown as IWorkflowBase;
	const hooks = new ExecutionLifecycleHooks(mode, randomUUID(), workflowData);
	const finished = new Promise<IRun>((resolve) => hooks.addHandler('workflowExecuteAfter', (run) => resolve(run)));
	const input: INodeExecutionData[] = (options.input ?? [{}]).map((json) => ({ json }));
	const runExecutionData = {
		startData: {},
		resultData: { runData: {} },
		executionData: {
			contextData: {},
			metadata: {},
			waitingExecution: {},
			waitingExecutionSource: null,
			nodeExecutionStack: [{ node: start, data: { main: [input] }, source: null }],
		},
	} as unknown as IRunExecutionData;

	const execute = new WorkflowExecute(additionalData(hooks, (options.credentials ?? {}) as Record<string, ICredentialDataDecryptedObject>), mode, runExecutionData);
	await execute.processRunExecutionData(workflow);
	return await finished;
}

/** JSON of the items a node put on one output in its first run. */
export function outputOf(run: IRun, nodeName: string, outputIndex = 0): IDataObject[] {
	const task = run.data.resultData.runData[nodeName]?.[0];
	if (!task) throw new Error(`Node "${nodeName}" did not run${describeError(run)}`);
	if (task.error) throw new Error(`Node "${nodeName}" failed: ${task.error.message}`);
	return (task.data?.main?.[outputIndex] ?? []).map((item) => item.json);
}

export function errorOf(run: IRun): string | undefined {
	return run.data.resultData.error?.message;
}

function describeError(run: IRun): string {
	const message = errorOf(run);
	return message ? ` (workflow error: ${message})` : '';
}
