// The credentials the templates reference, for a local n8n: Redis from a URL, WhatsApp from the
// environment (or fresh random values, never printed, when none are given).
import { randomBytes } from 'node:crypto';

export function redisCredential(redisUrl, database) {
	const u = new URL(redisUrl);
	return {
		id: 'LpRedisLocal0001',
		name: 'Lead Pipeline Redis',
		type: 'leadPipelineRedis',
		data: {
			connectionType: 'hostPort',
			host: u.hostname,
			port: Number(u.port || 6379),
			username: decodeURIComponent(u.username),
			password: decodeURIComponent(u.password),
			database: database ?? Number(u.pathname.slice(1) || 0),
			tls: u.protocol === 'rediss:',
		},
	};
}

// The id changed with the credential type rename (whatsAppCloudApi → leadPipelineWhatsAppApi): a user
// folder from before keeps its old credential under the old id, and this one is imported beside it.
export function whatsAppCredential(env = process.env) {
	return {
		id: 'LpWhatsAppLocal2',
		name: 'Lead Pipeline WhatsApp Cloud API',
		type: 'leadPipelineWhatsAppApi',
		data: {
			accessToken: env.WHATSAPP_ACCESS_TOKEN ?? randomBytes(24).toString('hex'),
			phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID ?? '100000000000001',
			appSecret: env.WHATSAPP_APP_SECRET ?? randomBytes(24).toString('hex'),
			verifyToken: env.WHATSAPP_VERIFY_TOKEN ?? randomBytes(16).toString('hex'),
			graphApiVersion: env.WHATSAPP_GRAPH_VERSION ?? 'v21.0',
			baseUrl: env.WHATSAPP_BASE_URL ?? 'https://graph.facebook.com',
		},
	};
}

/**
 * The dashboard's login (n8n's HTTP Basic Auth credential, so a browser asks for it and sends it
 * with the page's form posts too). The password comes from the environment or is generated once.
 */
export function dashboardLoginCredential(env = process.env) {
	return {
		id: 'LpDashAuthLocal1',
		name: 'Lead Pipeline Dashboard Login',
		type: 'httpBasicAuth',
		data: {
			user: env.LEAD_PIPELINE_DASHBOARD_USER ?? 'leadops',
			password: env.LEAD_PIPELINE_DASHBOARD_PASSWORD ?? randomBytes(12).toString('base64url'),
		},
	};
}

/**
 * Secrets for the loopback stand-ins (scripts/sandboxes.mjs), generated once per run of the start
 * command or test, and the credentials that point the templates at them.
 */
export function sandboxSecrets() {
	return {
		whatsAppToken: `EAAG${randomBytes(24).toString('hex')}`,
		whatsAppPhoneNumberId: '106540352242922',
		crmApiKey: `ihk_${randomBytes(20).toString('hex')}`,
		lsqAccessKey: `u$r${randomBytes(16).toString('hex')}`,
		lsqSecretKey: randomBytes(20).toString('hex'),
		qrApiKey: `qr_${randomBytes(16).toString('hex')}`,
		webhookSecret: `whsec_${randomBytes(32).toString('base64')}`,
	};
}

/** In-house CRM: real values from CRM_BASE_URL / CRM_API_KEY, else the stand-in. */
export function crmCredential(sandbox, env = process.env) {
	const real = env.CRM_BASE_URL !== undefined;
	return {
		id: 'LpCrmApiLocal001',
		name: 'Lead Pipeline In-House CRM API',
		type: 'leadPipelineCrmApi',
		data: real
			? { baseUrl: env.CRM_BASE_URL, apiKey: env.CRM_API_KEY ?? '', allowInternal: env.CRM_ALLOW_PRIVATE_HOST === 'true' }
			: { baseUrl: sandbox.urls.crm, apiKey: sandbox.secrets.crmApiKey, allowInternal: true },
	};
}

/** LeadSquared: LEADSQUARED_HOST / LEADSQUARED_ACCESS_KEY / LEADSQUARED_SECRET_KEY, else the stand-in. */
export function leadSquaredCredential(sandbox, env = process.env) {
	const real = env.LEADSQUARED_HOST !== undefined;
	return {
		id: 'LpLeadSquaredLo1',
		name: 'Lead Pipeline LeadSquared API',
		type: 'leadPipelineLeadSquaredApi',
		data: real
			? { host: env.LEADSQUARED_HOST, accessKey: env.LEADSQUARED_ACCESS_KEY ?? '', secretKey: env.LEADSQUARED_SECRET_KEY ?? '', allowInternal: false }
			: { host: sandbox.urls.leadSquared, accessKey: sandbox.secrets.lsqAccessKey, secretKey: sandbox.secrets.lsqSecretKey, allowInternal: true },
	};
}

/** QR session service: QR_BASE_URL / QR_API_KEY / QR_SESSION_ID, else the stand-in. */
export function qrSessionCredential(sandbox, env = process.env) {
	const real = env.QR_BASE_URL !== undefined;
	return {
		id: 'LpQrSessionLoc01',
		name: 'Lead Pipeline QR Session API',
		type: 'leadPipelineQrSessionApi',
		data: real
			? { baseUrl: env.QR_BASE_URL, apiKey: env.QR_API_KEY ?? '', sessionId: env.QR_SESSION_ID ?? 'default', allowInternal: env.QR_ALLOW_INTERNAL === 'true' }
			: { baseUrl: sandbox.urls.qr, apiKey: sandbox.secrets.qrApiKey, sessionId: 'default', allowInternal: true },
	};
}

/** Webhook signing: WEBHOOK_SIGNING_SECRET (whsec_…), else the stand-in receiver's secret. */
export function webhookSigningCredential(sandbox, env = process.env) {
	return {
		id: 'LpWebhookSignLo1',
		name: 'Lead Pipeline Webhook Signing',
		type: 'leadPipelineWebhookSigningApi',
		data: { secret: env.WEBHOOK_SIGNING_SECRET ?? sandbox.secrets.webhookSecret, previousSecrets: '', authHeaderName: '', authHeaderValue: '' },
	};
}

/** HMAC secret for bots and bulk import (LEAD_PIPELINE_FORM_SECRET, else generated). */
export function formSecretCredential(env = process.env) {
	return {
		id: 'LpFormSecretLoc1',
		name: 'Lead Pipeline Form Secret',
		type: 'leadPipelineFormSecretApi',
		data: { secret: env.LEAD_PIPELINE_FORM_SECRET ?? randomBytes(24).toString('hex'), headerName: 'X-Lead-Signature', timestampHeaderName: 'X-Lead-Timestamp' },
	};
}

/** The key agents and bots send to the qualification webhook (n8n's Header Auth credential). */
export function agentKeyCredential(env = process.env) {
	return {
		id: 'LpAgentKeyLocal1',
		name: 'Lead Pipeline Agent API Key',
		type: 'httpHeaderAuth',
		data: { name: 'X-Api-Key', value: env.LEAD_PIPELINE_AGENT_KEY ?? randomBytes(18).toString('base64url') },
	};
}

/**
 * Every credential the templates reference. `sandbox` = { urls, secrets } of scripts/sandboxes.mjs.
 * WhatsApp points at the Graph stand-in unless WHATSAPP_ACCESS_TOKEN / WHATSAPP_BASE_URL are given.
 */
export function pipelineCredentials(redisUrl, sandbox, env = process.env, database) {
	const whatsAppEnv = env.WHATSAPP_ACCESS_TOKEN !== undefined || env.WHATSAPP_BASE_URL !== undefined
		? env
		: { ...env, WHATSAPP_ACCESS_TOKEN: sandbox.secrets.whatsAppToken, WHATSAPP_PHONE_NUMBER_ID: sandbox.secrets.whatsAppPhoneNumberId, WHATSAPP_BASE_URL: sandbox.urls.graph };
	return {
		redis: redisCredential(redisUrl, database),
		whatsApp: whatsAppCredential(whatsAppEnv),
		dashboardLogin: dashboardLoginCredential(env),
		crm: crmCredential(sandbox, env),
		leadSquared: leadSquaredCredential(sandbox, env),
		qrSession: qrSessionCredential(sandbox, env),
		webhookSigning: webhookSigningCredential(sandbox, env),
		formSecret: formSecretCredential(env),
		agentKey: agentKeyCredential(env),
	};
}
