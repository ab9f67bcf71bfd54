import type { INodeProperties } from 'n8n-workflow';
import { withMetricsOptions } from '../common/metricsOptions';

const forSources = (...source: string[]) => ({ show: { source } });

export const leadTriggerProperties: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'source',
		type: 'options',
		options: [
			{ name: 'Auto-Detect', value: 'auto', description: 'Meta payloads by their "object", bots by botId/answers, else a form' },
			{ name: 'Instagram', value: 'instagram', description: 'Instagram messaging webhook (Meta signature)' },
			{ name: 'Website Form', value: 'website', description: 'JSON or urlencoded enquiry form, or a bulk import' },
			{ name: 'WhatsApp Bot', value: 'whatsappBot', description: 'A bot platform posting the generic bot JSON' },
			{ name: 'WhatsApp Cloud API', value: 'whatsapp', description: 'WhatsApp Business webhook (Meta signature)' },
		],
		default: 'website',
	},
	{
		displayName:
			'In the Meta app dashboard (WhatsApp → Configuration, or Instagram → Webhooks) set the Callback URL to this node\'s Production URL (/webhook/&lt;Path&gt;, shown under Webhook URLs) and the Verify Token to the one in the credential, then subscribe to "messages". WhatsApp and Instagram may share one URL: each payload is read by its own "object".',
		name: 'metaNotice',
		type: 'notice',
		default: '',
		displayOptions: forSources('whatsapp', 'instagram', 'auto'),
	},
	{
		displayName: 'Path',
		name: 'path',
		type: 'string',
		default: 'leads',
		required: true,
		description: 'The webhook path: POST /webhook/&lt;path&gt; (and GET for the Meta handshake and import status)',
	},
	{
		displayName: 'Default Country',
		name: 'defaultCountry',
		type: 'string',
		default: 'IN',
		description: 'Two-letter country used to read phone numbers written without a country code',
	},
	{
		displayName: 'Durable Accept',
		name: 'durableAccept',
		type: 'boolean',
		default: true,
		description:
			'Whether to store each lead in a Redis stream before answering 2xx; if Redis is down the caller gets 503 and retries. Also stops replayed messages from becoming second leads.',
	},
	{
		displayName: 'Stream',
		name: 'stream',
		type: 'string',
		default: 'filterQueue',
		description: 'Stream the leads are stored in as { source, leadData, traceId }',
		displayOptions: { show: { durableAccept: [true] } },
	},
	{
		displayName: 'Enqueue Only',
		name: 'enqueueOnly',
		type: 'boolean',
		default: false,
		description:
			'Whether to only store the lead and answer, starting no workflow execution (a Redis Stream Consumer takes leads in batches)',
		displayOptions: { show: { durableAccept: [true] } },
	},
	{
		displayName:
			'Enqueue Only starts no execution: the Executions list stays empty by design. Leads are in the stream above for a Redis Stream Consumer workflow to take in batches. Test URL calls still show their items here.',
		name: 'enqueueOnlyNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { durableAccept: [true], enqueueOnly: [true] } },
	},
	{
		displayName: 'Authentication',
		name: 'authentication',
		type: 'options',
		options: [
			{ name: 'None', value: 'none' },
			{ name: 'Shared Secret Header', value: 'sharedSecret' },
			{ name: 'HMAC-SHA256 of the Body', value: 'hmac' },
		],
		default: 'none',
		description:
			'How form and bot posts prove they come from you (secret in a Lead Pipeline Form Secret API credential). HMAC: hex HMAC-SHA256 of the raw body, or — when X-Lead-Timestamp or Idempotency-Key is sent — of timestamp + "\\n" + Idempotency-Key + "\\n" + raw body. Needed for bulk import.',
		displayOptions: forSources('website', 'whatsappBot', 'auto'),
	},
	{
		displayName: 'Form Fields',
		name: 'formFields',
		type: 'collection',
		placeholder: 'Map a Field',
		default: {},
		description: 'Which form field holds what (dotted paths allowed); utm_* fields are read as they are',
		displayOptions: forSources('website', 'auto'),
		options: [
			{ displayName: 'Destination Field', name: 'destination', type: 'string', default: 'destination' },
			// A field name, not an address: the email placeholder rule does not apply.
			// eslint-disable-next-line n8n-nodes-base/node-param-placeholder-missing-email
			{ displayName: 'Email Field', name: 'email', type: 'string', default: 'email' },
			{ displayName: 'Message Field', name: 'message', type: 'string', default: 'message' },
			{ displayName: 'Name Field', name: 'name', type: 'string', default: 'name' },
			{ displayName: 'Phone Field', name: 'phone', type: 'string', default: 'phone' },
		],
	},
	{
		displayName: 'Honeypot Field',
		name: 'honeypotField',
		type: 'string',
		default: '',
		placeholder: 'website',
		description: 'A hidden form field people leave empty; a submission that fills it is answered 202 but kept in the Rejected Stream, not queued',
		displayOptions: forSources('website', 'auto'),
	},
	{
		displayName: 'Bot Fields',
		name: 'botFields',
		type: 'collection',
		placeholder: 'Map a Field',
		default: {},
		displayOptions: forSources('whatsappBot', 'auto'),
		options: [
			{ displayName: 'Answers Field', name: 'answers', type: 'string', default: 'answers' },
			{ displayName: 'Bot ID Field', name: 'botId', type: 'string', default: 'botId' },
			{ displayName: 'Destination Field', name: 'destination', type: 'string', default: 'destination' },
			// A field name, not an address: the email placeholder rule does not apply.
			// eslint-disable-next-line n8n-nodes-base/node-param-placeholder-missing-email
			{ displayName: 'Email Field', name: 'email', type: 'string', default: 'email' },
			{ displayName: 'Message ID Field', name: 'messageId', type: 'string', default: 'messageId' },
			{ displayName: 'Name Field', name: 'name', type: 'string', default: 'name' },
			{ displayName: 'Phone Field', name: 'phone', type: 'string', default: 'phone' },
		],
	},
	{
		displayName: 'Emit Events',
		name: 'emitEvents',
		type: 'boolean',
		default: false,
		description: 'Whether to put WhatsApp delivery statuses and other non-lead events on the Events output',
		displayOptions: forSources('whatsapp', 'instagram', 'auto'),
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: withMetricsOptions([
			{
				displayName: 'Import Batch Size',
				name: 'importBatchSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 1000 },
				default: 50,
				description: 'Leads of a bulk import written per round trip',
			},
			{
				displayName: 'Import Max Rows',
				name: 'importMaxRows',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 10000,
				description: 'Most leads one bulk import request may hold; a larger one is answered 413 with this limit',
			},
			{
				displayName: 'Include Raw Payload',
				name: 'includeRaw',
				type: 'boolean',
				default: true,
				description: 'Whether each lead keeps what was received in raw (capped by Raw Max Size and Raw Max Depth); off keeps personal data you do not map out of the stream',
			},
			{
				displayName: 'Max Requests In Flight',
				name: 'maxRequestsInFlight',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 200,
				description:
					'Most requests this n8n process handles at once on this trigger (0 = no cap). Over it a request is answered 503 with Retry-After and nothing is stored: the sender should retry after that many seconds with the same Idempotency-Key.',
			},
			{
				displayName: 'Max Stream Length',
				name: 'maxLen',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Trim the stream to about this many entries (0 = never)',
			},
			{
				displayName: 'Raw Max Depth',
				name: 'rawMaxDepth',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 64 },
				default: 10,
				description: 'Objects nested deeper than this in raw are replaced by a "[cut: …]" marker',
			},
			{
				displayName: 'Raw Max Size (Bytes)',
				name: 'rawMaxBytes',
				type: 'number',
				typeOptions: { minValue: 256 },
				default: 16384,
				description: 'A raw payload larger than this (as JSON) is replaced by { truncated, reason, bytes }; the lead fields are read from the full payload first',
			},
			{
				displayName: 'Rejected Stream',
				name: 'rejectedStream',
				type: 'string',
				default: 'DLQLeadIntake',
				description: 'Where WhatsApp/Instagram messages that cannot become a lead, and honeypot hits, are kept',
			},
			{
				displayName: 'Rejected Stream Cap',
				name: 'rejectedStreamCap',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 100000,
				description:
					'Most entries the rejected stream may hold (0 = no cap). Nothing is ever trimmed from it: at the cap a new rejection is answered 503 so the sender retries, and a warning is logged from 90% of the cap.',
			},
			{
				displayName: 'Shed at Event Loop Delay (Ms)',
				name: 'shedAtEventLoopDelayMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1000,
				description:
					'While n8n\'s event loop runs further behind than this (p99 over the last second; 0 = never), requests are answered 503 with Retry-After and nothing is stored, so callers get a quick "retry later" instead of waiting on an overloaded n8n. The sender should retry with backoff and the same Idempotency-Key.',
			},
			{
				displayName: 'Replay Window (Seconds)',
				name: 'replayWindowSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 86400,
				description: 'How long a message ID (wamid, Instagram mid, Idempotency-Key) is remembered to drop replays',
			},
			{
				displayName: 'Require Timestamp',
				name: 'requireTimestamp',
				type: 'boolean',
				default: false,
				description:
					'Whether form/bot posts must carry the signed timestamp header (default X-Lead-Timestamp, Unix seconds). With HMAC the signature is over timestamp + "\\n" + Idempotency-Key + "\\n" + raw body, so a captured post cannot be replayed after the window.',
			},
			{
				displayName: 'Success Status',
				name: 'successStatus',
				type: 'options',
				options: [
					{ name: '202 Accepted', value: 202 },
					{ name: '200 OK', value: 200 },
				],
				default: 202,
				description: 'Status a form or bot gets for an accepted lead (body: { traceId })',
			},
			{
				displayName: 'Test Runs Write To',
				name: 'testRunsWriteTo',
				type: 'options',
				options: [
					{ name: 'Test Streams', value: 'testStream', description: 'The stream and rejected stream names with ":test" appended' },
					{ name: 'Nothing', value: 'nothing', description: 'Only show the items in the editor' },
				],
				default: 'testStream',
				description: 'Where a call to the test URL (/webhook-test/…, while the editor listens) stores its leads; it never writes the production streams',
			},
			{
				displayName: 'Timestamp Tolerance (Seconds)',
				name: 'timestampToleranceSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 300,
				description: 'How far the timestamp header may be from this server\'s clock (either way) before a post is refused',
			},
		]),
	},
];
