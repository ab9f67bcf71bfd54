import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

export const streamProperty: INodeProperties = {
	displayName: 'Stream',
	name: 'stream',
	type: 'string',
	default: 'filterQueue',
	required: true,
	description: 'Key of the stream',
	displayOptions: { show: { operation: ['add', 'acknowledge', 'info'] } },
};

export const groupProperty: INodeProperties = {
	displayName: 'Consumer Group',
	name: 'group',
	type: 'string',
	default: 'newOpportunityProcessor',
	required: true,
	displayOptions: { show: { operation: ['acknowledge', 'info'] } },
};

export const dlqStreamProperty: INodeProperties = {
	displayName: 'Dead-Letter Stream',
	name: 'dlqStream',
	type: 'string',
	default: 'DLQFilterQueueNewOpportunityProcessor',
	description: 'Key of the dead-letter stream (DLQ + stream + group, as the consumer names it)',
	displayOptions: { show: { operation: ['addDeadLetter', 'listDeadLetters', 'replayDeadLetters'] } },
};

/** An editor run ("Execute step", or a workflow run by hand): it must not change production state. */
export const isTestRun = (ctx: IExecuteFunctions) => ctx.getMode() === 'manual';

export const testRunNotice: INodeProperties = {
	displayName:
		'In editor test runs (Execute step, or running the workflow by hand) this node changes no production stream: Add writes to "<stream>:test" (see Options), Add Dead Letter to "<dead-letter stream>:test", Acknowledge and Replay Dead Letters only report what they would do unless Apply in Test Runs is on. Output items carry testRun: true.',
	name: 'testRunNotice',
	type: 'notice',
	default: '',
	displayOptions: { show: { operation: ['add', 'addDeadLetter', 'acknowledge', 'replayDeadLetters'] } },
};

export const applyInTestRunsProperty: INodeProperties = {
	displayName: 'Apply in Test Runs',
	name: 'applyInTestRuns',
	type: 'boolean',
	default: false,
	description:
		'Whether an editor test run really acknowledges / replays (changing the production group or dead-letter stream). Off: it only reports what it would do. Active workflows always apply.',
	displayOptions: { show: { operation: ['acknowledge', 'replayDeadLetters'] } },
};

/** A required text parameter, trimmed; empty is a clear error on that item. */
export function requiredText(ctx: IExecuteFunctions, name: string, label: string, itemIndex: number): string {
	const value = String(ctx.getNodeParameter(name, itemIndex) ?? '').trim();
	if (!value) throw new NodeOperationError(ctx.getNode(), `${label} is empty`, { itemIndex });
	return value;
}

/** Comma/space/newline separated ids, or an array from an expression. */
export function idList(value: unknown): string[] {
	const parts = Array.isArray(value) ? value.map(String) : String(value ?? '').split(/[\s,]+/);
	return parts.map((id) => id.trim()).filter(Boolean);
}

/**
 * Runs `each` for every input item and pairs the JSON objects it returns with that item, so an
 * operation only says what one item produces.
 */
export async function perItem(
	items: INodeExecutionData[],
	each: (itemIndex: number) => Promise<IDataObject[]>,
): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		for (const json of await each(itemIndex)) out.push({ json, pairedItem: { item: itemIndex } });
	}
	return out;
}
