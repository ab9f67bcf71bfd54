// A workflow of one Lead Trigger (website, durable accept, enqueue only, no auth) writing to
// `stream`, on the credential the e2e tests import as "Lead Pipeline Redis". `idBase` is a UUID
// whose last two hex digits the node id and webhook id replace.
export function websiteIntakeWorkflow({ id, name, idBase, path, stream }) {
	return {
		id,
		name,
		nodes: [
			{
				id: `${idBase}b1`,
				name: 'Lead Trigger',
				type: 'n8n-nodes-lead-pipeline.leadTrigger',
				typeVersion: 1,
				position: [0, 0],
				webhookId: `${idBase}b2`,
				parameters: { source: 'website', path, defaultCountry: 'IN', durableAccept: true, stream, enqueueOnly: true, authentication: 'none', options: {} },
				credentials: { leadPipelineRedis: { id: 'LpRedisLocal0001', name: 'Lead Pipeline Redis' } },
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
		active: false,
	};
}
