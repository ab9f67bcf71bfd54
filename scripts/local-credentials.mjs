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
