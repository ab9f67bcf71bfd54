import { randomUUID } from 'node:crypto';

import { ExecutionLifecycleHooks, ExternalSecretsProxy, TriggerContext, WorkflowExecute } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	IConnections,
	IDataObject,
	INode,
	INodeExecutionData,
	IRun,
	IRunExecutionData,
	ITriggerResponse,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { Workflow } from 'n8n-workflow';

type IDeferredPromise<T> = { resolve: (value: T) => void; reject: (error: Error) => void; promise: Promise<T> };

import { TestCredentialsHelper } from './credentials-helper';
import { PackNodeTypes } from './node-types';

export interface WorkflowJson {
	/** Fixed id, for tests of state kept per workflow across calls; otherwise a fresh one per run. */
	id?: string;
	name?: string;
	nodes: INode[];
	connections: IConnections;
	settings?: IWorkflowBase['settings'];
}

/** Decrypted credential data by credential type name, e.g. { leadPipelineRedis: {...} }. */
export type TestCredentials = Record<string, object>;

export interface RunOptions {
	credentials?: TestCredentials;
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

export function additionalData(hooks: ExecutionLifecycleHooks | undefined, credentials: TestCredentials): IWorkflowExecuteAdditionalData {
	const base = 'http://127.0.0.1:5678';
	return {
		hooks,
		credentialsHelper: new TestCredentialsHelper(packNodeTypes(), credentials as Record<string, ICredentialDataDecryptedObject>),
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
		id: json.id ?? randomUUID(),
		name: json.name ?? 'test',
		nodes: structuredClone(json.nodes),
		connections: json.connections,
		nodeTypes: packNodeTypes(),
		settings: json.settings ?? { executionOrder: 'v1' },
		active: false,
	});
}

/** Runs the workflow from `start`, which receives `input`, through n8n-core's WorkflowExecute. */
export async function execute(
	workflow: Workflow,
	start: INode,
	input: INodeExecutionData[][],
	mode: WorkflowExecuteMode,
	credentials: TestCredentials,
): Promise<IRun> {
	const workflowData = { id: workflow.id, name: workflow.name, nodes: Object.values(workflow.nodes), connections: workflow.connectionsBySourceNode, active: false } as unknown as IWorkflowBase;
	const hooks = new ExecutionLifecycleHooks(mode, randomUUID(), workflowData);
	const finished = new Promise<IRun>((resolve) => hooks.addHandler('workflowExecuteAfter', (run) => resolve(run)));
	const runExecutionData = {
		startData: {},
		resultData: { runData: {} },
		executionData: {
			contextData: {},
			metadata: {},
			waitingExecution: {},
			waitingExecutionSource: null,
			nodeExecutionStack: [{ node: start, data: { main: input }, source: null }],
		},
	} as unknown as IRunExecutionData;
	await new WorkflowExecute(additionalData(hooks, credentials), mode, runExecutionData).processRunExecutionData(workflow);
	return await finished;
}

/** Runs a workflow JSON through n8n-core's WorkflowExecute, the engine n8n itself runs. */
export async function runWorkflow(json: WorkflowJson, options: RunOptions = {}): Promise<IRun> {
	const workflow = buildWorkflow(json);
	const start =
		(options.startNode && workflow.getNode(options.startNode)) ||
		json.nodes.find((n) => n.type === 'n8n-nodes-base.manualTrigger') ||
		workflow.getStartNode();
	if (!start) throw new Error('The workflow has no start node');
	const input = (options.input ?? [{}]).map((json) => ({ json }));
	return await execute(workflow, workflow.getNode(start.name)!, [input], options.mode ?? 'manual', options.credentials ?? {});
}

export interface ActiveTrigger {
	response: ITriggerResponse;
	/** Every execution the trigger started, in the order they finished. */
	runs: IRun[];
	/** What the trigger reported through this.emitError (n8n marks the workflow as failing). */
	errors: Error[];
	/** Every line the trigger logged through this.logger, as "level: message {meta}". */
	logs: string[];
	/** Resolves when at least n executions have finished. */
	waitForRuns(n: number, timeoutMs?: number): Promise<void>;
	close(): Promise<void>;
}

function findTrigger(workflow: Workflow, name?: string): INode {
	const node = name
		? workflow.getNode(name)
		: Object.values(workflow.nodes).find((n) => packNodeTypes().getByNameAndVersion(n.type).trigger);
	if (!node) throw new Error('The workflow has no trigger node');
	return node;
}

/**
 * Activates a trigger node the way n8n's active-workflow manager does (mode "trigger"): each emit
 * runs the rest of the workflow through the engine and settles the node's done promise with the run.
 */
export async function activateTrigger(
	json: WorkflowJson,
	options: { credentials?: TestCredentials; triggerNode?: string } = {},
): Promise<ActiveTrigger> {
	const credentials = options.credentials ?? {};
	const workflow = buildWorkflow(json);
	const node = findTrigger(workflow, options.triggerNode);
	const runs: IRun[] = [];
	const waiters: Array<() => void> = [];
	const emit = (data: INodeExecutionData[][], _response?: unknown, done?: IDeferredPromise<IRun>) => {
		execute(workflow, node, data, 'trigger', credentials).then(
			(run) => {
				runs.push(run);
				done?.resolve(run);
				waiters.splice(0).forEach((wake) => wake());
			},
			(error: Error) => done?.reject(error),
		);
	};
	const errors: Error[] = [];
	const emitError = (error: Error) => {
		errors.push(error);
	};
	const context = new TriggerContext(workflow, node, additionalData(undefined, credentials), 'trigger', 'activate', emit, emitError, emitError);
	const logs: string[] = [];
	// n8n's context reads its logger lazily from the DI container; an own property set first wins.
	const record = (level: string) => (message: string, meta?: object) => logs.push(`${level}: ${message}${meta === undefined ? '' : ` ${JSON.stringify(meta)}`}`);
	const logger = { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug'), scoped: () => logger };
	Object.defineProperty(context, 'logger', { value: logger });
	const response = (await packNodeTypes().getByNameAndVersion(node.type).trigger!.call(context)) ?? {};
	return {
		response,
		runs,
		errors,
		logs,
		async waitForRuns(n, timeoutMs = 30_000) {
			const deadline = Date.now() + timeoutMs;
			while (runs.length < n) {
				if (Date.now() > deadline) throw new Error(`only ${runs.length} of ${n} executions finished in ${timeoutMs} ms`);
				await new Promise<void>((wake) => {
					waiters.push(wake);
					setTimeout(wake, 100);
				});
			}
		},
		close: async () => await response.closeFunction?.(),
	};
}

/**
 * The editor's "Listen" (whole workflow) or "Execute step" (`stepOnly`: the trigger alone), run the
 * way n8n runs it: WorkflowExecute in mode "manual" starts at the trigger node, n8n-core calls
 * trigger(), swaps in its own emit, calls manualTriggerFunction, takes the FIRST emitted data as the
 * trigger's output, calls closeFunction right after that step (before the nodes behind it run), and
 * resolves a done promise only when the whole execution has ended.
 */
export async function runTriggerManually(
	json: WorkflowJson,
	options: { credentials?: TestCredentials; triggerNode?: string; stepOnly?: boolean } = {},
): Promise<IRun> {
	const workflow = buildWorkflow(options.stepOnly ? { ...json, connections: {} } : json);
	const node = findTrigger(workflow, options.triggerNode);
	return await execute(workflow, node, [[{ json: {} }]], 'manual', options.credentials ?? {});
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
