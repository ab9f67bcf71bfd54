// The templates in workflows/ as a local run imports them. The files stay importable unchanged
// (their webhook URLs are https://hooks.example.com/lead-pipeline/<name> placeholders with the SSRF
// guard on); a local run points those URLs at the webhook stand-in, or at the real endpoints named
// by LEAD_PIPELINE_<NAME>_WEBHOOK_URL, and lets the nodes reach loopback stand-ins.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from './n8n-rig.mjs';

export const WORKFLOW_DIR = join(ROOT, 'workflows');
const PLACEHOLDER = /^https:\/\/hooks\.example\.com\/lead-pipeline\/([a-z-]+)$/;

export function templateFiles() {
	return readdirSync(WORKFLOW_DIR)
		.filter((f) => f.endsWith('.json'))
		.sort()
		.map((f) => join(WORKFLOW_DIR, f));
}

/** Loopback, private and link-local hosts: the nodes' SSRF guard refuses them unless allowed. */
export function isInternalUrl(url) {
	const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
	return /^(localhost|127\.|10\.|192\.168\.|169\.254\.|172\.(1[6-9]|2\d|3[01])\.|::1$|f[cd]|fe80)/i.test(host);
}

/** `https://hooks.example.com/lead-pipeline/assignment` → LEAD_PIPELINE_ASSIGNMENT_WEBHOOK_URL. */
export const webhookEnvName = (name) => `LEAD_PIPELINE_${name.toUpperCase().replace(/-/g, '_')}_WEBHOOK_URL`;

/**
 * Returns the workflow with its placeholder webhook URLs replaced: by the env variable, else by
 * `<webhookBase>/<name>` (the stand-in receiver). WhatsApp Send may reach an internal Graph base URL.
 */
export function configureWorkflow(workflow, { webhookBase, whatsAppBaseUrl, env = process.env }) {
	const copy = structuredClone(workflow);
	for (const node of copy.nodes) {
		const p = node.parameters ?? {};
		if (node.type === 'n8n-nodes-lead-pipeline.webhookDeliver' && typeof p.url === 'string') {
			const match = PLACEHOLDER.exec(p.url);
			if (!match) continue;
			const url = env[webhookEnvName(match[1])] ?? (webhookBase ? `${webhookBase}/${match[1]}` : undefined);
			if (!url) continue;
			p.url = url;
			p.options = { ...(p.options ?? {}), allowInternal: isInternalUrl(url) };
		}
		if (node.type === 'n8n-nodes-lead-pipeline.whatsAppSend' && p.operation === 'send' && whatsAppBaseUrl && isInternalUrl(whatsAppBaseUrl)) {
			p.options = { ...(p.options ?? {}), allowInternal: true };
		}
	}
	return copy;
}

/** Writes the configured copies into `dir`; returns [{ file, workflow }] (file = the copy). */
export function writeConfiguredTemplates(dir, options) {
	mkdirSync(dir, { recursive: true });
	return templateFiles().map((source) => {
		const workflow = configureWorkflow(JSON.parse(readFileSync(source, 'utf8')), options);
		const file = join(dir, source.split('/').pop());
		writeFileSync(file, JSON.stringify(workflow, null, '\t'));
		return { file, workflow };
	});
}
