import type { IDataObject } from 'n8n-workflow';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { outputOf, runWorkflow, type WorkflowJson } from '../../scripts/engine-harness/run-workflow';

// With "On Error: Continue (using error output)", n8n replaces an errored item's JSON with
// `{ error }` and puts back the input item it was paired with. The filter-queue template writes the
// error output to a dead-letter stream: the lead must be in that item, or the DLQ entry is useless.
const prefix = uniquePrefix('error-output');
const redis = testRedis();
afterAll(async () => {
	await deletePrefix(redis, prefix);
	await closeSharedRedis();
	redis.disconnect();
});

function workflow(): WorkflowJson {
	return {
		nodes: [
			{ id: 'e0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'e0000000-0000-4000-8000-000000000002',
				name: 'Dedupe',
				type: 'n8n-nodes-lead-pipeline.dedupe',
				typeVersion: 1,
				position: [200, 0],
				parameters: { namespace: `${prefix}ns` },
				credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } },
				onError: 'continueErrorOutput',
			},
			{ id: 'e0000000-0000-4000-8000-000000000003', name: 'New', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [400, -100], parameters: {} },
			{ id: 'e0000000-0000-4000-8000-000000000004', name: 'Duplicate', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [400, 0], parameters: {} },
			{ id: 'e0000000-0000-4000-8000-000000000005', name: 'Errors', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [400, 100], parameters: {} },
		],
		connections: {
			Start: { main: [[{ node: 'Dedupe', type: 'main', index: 0 }]] },
			Dedupe: {
				main: [
					[{ node: 'New', type: 'main', index: 0 }],
					[{ node: 'Duplicate', type: 'main', index: 0 }],
					[{ node: 'Errors', type: 'main', index: 0 }],
				],
			},
		},
	};
}

test('an item Dedupe cannot handle reaches the error output with the consumed entry and its lead', async () => {
	const entry: IDataObject = { id: '1-0', stream: 'filterQueue', deliveryCount: 1, message: { source: 'WEBSITE', leadData: { name: 'No Trace', phone: '+919845098450' } } };
	const run = await runWorkflow(workflow(), { input: [entry], credentials: { leadPipelineRedis: redisCredential() }, mode: 'trigger' });
	const [failed] = outputOf(run, 'Errors');
	expect(failed).toMatchObject({ id: '1-0', message: { leadData: { name: 'No Trace' } }, error: expect.stringMatching(/no traceId/) });
});
