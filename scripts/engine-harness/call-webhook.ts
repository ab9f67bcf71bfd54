import { WebhookContext } from 'n8n-core';
import type { INode, IRun, IWebhookData, IWebhookDescription, WorkflowExecuteMode } from 'n8n-workflow';

import { additionalData, buildWorkflow, execute, packNodeTypes, type TestCredentials, type WorkflowJson } from './run-workflow';

export interface WebhookRequestSpec {
	method: 'GET' | 'POST';
	headers?: Record<string, string>;
	query?: Record<string, string>;
	/** Raw body bytes as sent on the wire. */
	body?: string | Buffer;
}

export interface WebhookResult {
	status: number;
	headers: Record<string, string>;
	text: string;
	json?: unknown;
	/** The execution the webhook started, if any. */
	run?: IRun;
	/** Every line the node logged through this.logger while answering, as "level: message {meta}". */
	logs: string[];
}

/** Stands in for n8n's logger on the node's context so a test can read what the node logged. */
function capturingLogger(lines: string[]) {
	const record = (level: string) => (message: string, meta?: object) =>
		lines.push(`${level}: ${message}${meta === undefined ? '' : ` ${JSON.stringify(meta)}`}`);
	const logger = { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug'), scoped: () => logger };
	return logger;
}

/** The parts of an express response a webhook node writes to. */
class CapturedResponse {
	statusCode = 200;

	headers: Record<string, string> = {};

	body: string | undefined;

	status(code: number) {
		this.statusCode = code;
		return this;
	}

	setHeader(name: string, value: string) {
		this.headers[name.toLowerCase()] = value;
		return this;
	}

	json(value: unknown) {
		this.headers['content-type'] ??= 'application/json';
		return this.send(JSON.stringify(value));
	}

	send(value?: unknown) {
		this.body = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
		return this;
	}

	end() {
		this.body ??= '';
		return this;
	}
}

/**
 * Calls a webhook node the way n8n's webhook server does: the node's webhook() with the request and
 * response, then — if it returned workflowData — the rest of the workflow through the engine.
 */
export async function callWebhook(
	json: WorkflowJson,
	request: WebhookRequestSpec,
	options: {
		credentials?: TestCredentials;
		webhookNode?: string;
		/** "webhook" (production URL, default) or "manual" (the editor's /webhook-test/ URL while it listens). */
		mode?: WorkflowExecuteMode;
	} = {},
): Promise<WebhookResult> {
	const credentials = options.credentials ?? {};
	const mode = options.mode ?? 'webhook';
	const workflow = buildWorkflow(json);
	const node: INode | undefined = options.webhookNode
		? workflow.getNode(options.webhookNode) ?? undefined
		: Object.values(workflow.nodes).find((n) => packNodeTypes().getByNameAndVersion(n.type).webhook);
	if (!node) throw new Error('The workflow has no webhook node');
	const nodeType = packNodeTypes().getByNameAndVersion(node.type);
	const description = (nodeType.description.webhooks ?? []).find((w: IWebhookDescription) => w.httpMethod === request.method);
	if (!description) return { status: 404, headers: {}, text: `no ${request.method} webhook`, logs: [] };

	const raw = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
	const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
	const response = new CapturedResponse();
	const data = additionalData(undefined, credentials);
	data.httpRequest = { method: request.method, headers, query: request.query ?? {}, params: {}, rawBody: raw, body: undefined } as never;
	data.httpResponse = response as never;
	const webhookData = {
		httpMethod: request.method,
		node: node.name,
		path: 'harness',
		webhookDescription: description,
		workflowId: workflow.id,
		workflowExecuteAdditionalData: data,
		isTest: mode === 'manual',
	} as IWebhookData;
	const context = new WebhookContext(workflow, node, data, mode, webhookData, [], null);
	const logs: string[] = [];
	// n8n's context reads its logger lazily from the DI container; an own property set first wins.
	Object.defineProperty(context, 'logger', { value: capturingLogger(logs) });

	let result;
	try {
		result = await nodeType.webhook!.call(context);
	} catch (error) {
		// What n8n itself answers when a webhook() throws.
		return { status: 500, headers: {}, text: (error as Error).message, logs };
	}
	const run = result.workflowData ? await execute(workflow, node, result.workflowData, mode, credentials) : undefined;
	if (response.body === undefined) {
		response.json(result.webhookResponse ?? { message: 'Webhook call received' });
	}
	const text = response.body ?? '';
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	return { status: response.statusCode, headers: response.headers, text, json: parsed, run, logs };
}
