// Puts the pipeline into an n8n user folder: the credentials the templates reference and every
// template, configured for this run (scripts/pipeline-templates.mjs), imported and published.
// Shared by the start command and the e2e tests, so both run the same setup.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { pipelineCredentials } from './local-credentials.mjs';
import { isInternalUrl, writeConfiguredTemplates } from './pipeline-templates.mjs';

/** Credentials that point at a stand-in are refreshed every run (new ports, same secrets). */
const SANDBOX_FIELDS = { whatsApp: 'baseUrl', crm: 'baseUrl', leadSquared: 'host', qrSession: 'baseUrl' };

/** Decrypted credentials of the user folder, by id ({} for a fresh folder). */
function existingCredentials(n8n) {
	const file = join(n8n.userFolder, 'credentials.existing.json');
	try {
		n8n.cli(['export:credentials', '--all', '--decrypted', `--output=${file}`]);
		return Object.fromEntries(JSON.parse(readFileSync(file, 'utf8')).map((c) => [c.id, c]));
	} catch {
		return {};
	} finally {
		rmSync(file, { force: true });
	}
}

/**
 * Imports the credentials (keeping ones the user edited in the editor, unless the environment
 * names new values) and the configured templates; publishes every workflow. Returns the
 * credentials as imported or kept, the new ones, and the workflows.
 */
export function installPipeline(n8n, { redisUrl, database, sandbox, env = process.env, fresh = false, transform = (w) => w }) {
	const wanted = pipelineCredentials(redisUrl, sandbox, env, database);
	const existing = fresh ? {} : existingCredentials(n8n);
	const fromEnv = {
		redis: env.REDIS_URL !== undefined,
		whatsApp: env.WHATSAPP_APP_SECRET !== undefined || env.WHATSAPP_ACCESS_TOKEN !== undefined,
		dashboardLogin: env.LEAD_PIPELINE_DASHBOARD_PASSWORD !== undefined,
		crm: env.CRM_BASE_URL !== undefined,
		leadSquared: env.LEADSQUARED_HOST !== undefined,
		qrSession: env.QR_BASE_URL !== undefined,
		webhookSigning: env.WEBHOOK_SIGNING_SECRET !== undefined,
		formSecret: env.LEAD_PIPELINE_FORM_SECRET !== undefined,
		agentKey: env.LEAD_PIPELINE_AGENT_KEY !== undefined,
	};
	const credentials = {};
	const imported = [];
	for (const [key, credential] of Object.entries(wanted)) {
		const old = existing[credential.id];
		const stillOnSandbox = SANDBOX_FIELDS[key] && old?.data?.[SANDBOX_FIELDS[key]] && isInternalUrl(String(old.data[SANDBOX_FIELDS[key]]));
		if (!old || fromEnv[key] || stillOnSandbox) {
			// A stand-in-backed credential keeps the secrets the user sees (e.g. the verify token) when it has them.
			const data = stillOnSandbox && key === 'whatsApp' && !fromEnv[key] ? { ...credential.data, appSecret: old.data.appSecret, verifyToken: old.data.verifyToken } : credential.data;
			credentials[key] = { ...credential, data };
			imported.push(key);
		} else credentials[key] = { ...credential, data: old.data };
	}
	const toImport = imported.map((key) => credentials[key]);
	if (toImport.length) n8n.importCredentials(toImport);

	const dir = join(n8n.userFolder, 'templates');
	rmSync(dir, { recursive: true, force: true });
	const workflows = writeConfiguredTemplates(dir, {
		webhookBase: sandbox?.urls.webhooks,
		whatsAppBaseUrl: credentials.whatsApp.data.baseUrl,
		env,
	}).map(({ file, workflow }) => {
		// A test may adjust a copy (never the files in workflows/).
		const adjusted = transform(workflow);
		writeFileSync(file, JSON.stringify(adjusted, null, '\t'));
		return { file, workflow: adjusted };
	});
	// One CLI start for all of them (each n8n CLI call boots n8n for seconds).
	n8n.cli(['import:workflow', '--separate', `--input=${dir}`]);
	for (const { workflow } of workflows) n8n.publishWorkflow(workflow.id);
	return { credentials, imported, workflows: workflows.map((w) => w.workflow) };
}
