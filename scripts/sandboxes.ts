// The loopback stand-ins of sandbox/ (WhatsApp Graph API, LeadSquared, in-house CRM, webhook
// receiver, QR session service) as one process, for `npm start` and the full-pipeline e2e test.
// Run by scripts/sandboxes.mjs as `node -r ./scripts/ts-register.js scripts/sandboxes.ts`.
// Secrets come from the environment (the parent generates them and writes the credentials);
// it prints one line `SANDBOXES {json}` with the URLs once everything listens, and answers
// read-only questions on an admin port (what each stand-in received), so the start command's
// sample table and the e2e test count from the same place.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { FaultProxy, type Faults } from '../sandbox/faultProxy';
import { startGraphSandbox } from '../sandbox/graphApi';
import { InhouseCrmSandbox } from '../sandbox/inhouseCrm';
import { LeadSquaredSandbox } from '../sandbox/leadsquared';
import { startQrSandbox } from '../sandbox/qrSession';
import { WebhookReceiver } from '../sandbox/webhookReceiver';

const env = (name: string): string => {
	const value = process.env[name];
	if (!value) throw new Error(`${name} is not set (scripts/sandboxes.mjs sets it)`);
	return value;
};

/** The approved templates the Graph stand-in knows (the filter-queue template sends lead_qualification). */
const TEMPLATES = [{ name: 'lead_qualification', language: 'en', bodyParams: 1 }];

async function main(): Promise<void> {
	const graph = await startGraphSandbox({ token: env('SANDBOX_WHATSAPP_TOKEN'), phoneNumberId: env('SANDBOX_WHATSAPP_PHONE_NUMBER_ID'), version: 'v21.0', templates: TEMPLATES });
	// Generous limits: the stand-ins must not be the bottleneck of a local run (the CRM Sync node's
	// own rate limit is what a real CRM plan sets). SANDBOX_LSQ_PLAN_LIMIT: LeadSquared calls per 5 s.
	const crm = await InhouseCrmSandbox.start({ apiKey: env('SANDBOX_CRM_API_KEY'), rateLimit: 2_000, windowMs: 1_000 });
	const leadSquared = await LeadSquaredSandbox.start({ accessKey: env('SANDBOX_LSQ_ACCESS_KEY'), secretKey: env('SANDBOX_LSQ_SECRET_KEY'), rateLimit: Number(process.env.SANDBOX_LSQ_PLAN_LIMIT ?? 25), windowMs: 5_000 });
	const qr = await startQrSandbox({ apiKey: env('SANDBOX_QR_API_KEY'), sessionId: 'default' });
	const receiver = await new WebhookReceiver(env('SANDBOX_WEBHOOK_SECRET')).start();
	// Every HTTP stand-in is reached through a fault proxy, pass-through until a run switches a
	// fault on (POST /faults on the admin port): late and lost replies, 5xx, throttled first tries.
	const proxies: Record<string, FaultProxy> = {
		graph: await new FaultProxy(graph.url).start(),
		crm: await new FaultProxy(crm.url).start(),
		leadSquared: await new FaultProxy(leadSquared.host).start(),
		webhooks: await new FaultProxy(receiver.url).start(),
	};

	const header = (h: http.IncomingHttpHeaders, name: string) => {
		const v = h[name];
		return Array.isArray(v) ? v[0] : v;
	};
	const views: Record<string, () => unknown> = {
		'/summary': () => ({
			crm: { leads: crm.leads.length, opportunities: crm.opportunities.length, followUps: crm.followUps.length, requests: crm.requests.length },
			leadSquared: { leads: leadSquared.leads.length, opportunities: leadSquared.opportunities.length, throttled: leadSquared.limiter.rejected },
			whatsApp: { requests: graph.requests.length, accepted: graph.requests.filter((r) => r.answer === 'ok').length },
			qr: { messages: qr.requests.filter((r) => r.method === 'POST').length },
			webhooks: Object.fromEntries(
				[...new Set(receiver.received.map((r) => r.path))].map((path) => {
					const to = receiver.to(path);
					return [path, { received: to.length, verified: to.filter((r) => r.verified.ok).length, uniqueIds: new Set(to.map((r) => header(r.headers, 'webhook-id'))).size }];
				}),
			),
		}),
		'/crm/leads': () => crm.leads.map((l) => ({ id: l.id, email: l.email })),
		'/crm/opportunities': () => crm.opportunities.map((o) => ({ id: o.id, leadId: o.leadId, traceId: o.traceId, opportunityId: o.opportunityId, stage: o.stage, receivedAt: o.receivedAt })),
		'/leadsquared/opportunities': () => leadSquared.opportunities.map((o) => ({ id: o.OpportunityId, leadId: o.RelatedProspectId, fields: o.Fields })),
		'/crm/followups': () => crm.followUps.map((f) => ({ id: f.id, opportunityId: f.opportunityId, dueAt: f.dueAt })),
		'/webhooks': () =>
			receiver.received.map((r) => {
				let body: unknown;
				try {
					body = JSON.parse(r.body.toString('utf8'));
				} catch {
					body = undefined;
				}
				return { path: r.path, webhookId: header(r.headers, 'webhook-id'), event: header(r.headers, 'x-webhook-event'), verified: r.verified.ok, answered: r.answered, body };
			}),
		'/whatsapp': () =>
			graph.requests.map((r) => {
				const body = r.body as { to?: string; type?: string; template?: { name?: string } } | undefined;
				return { to: body?.to, type: body?.type, template: body?.template?.name, answer: r.answer };
			}),
		'/whatsapp/accepted': () => graph.requests.filter((r) => r.answer === 'ok').length,
		'/faults': () => Object.fromEntries(Object.entries(proxies).map(([name, p]) => [name, { faults: p.faults, counts: p.counts }])),
	};
	/** POST /faults {graph?: Faults, crm?: …, leadSquared?: …, webhooks?: …}: replaces those proxies' faults. */
	const setFaults = (body: string) => {
		const wanted = JSON.parse(body || '{}') as Record<string, Faults>;
		for (const [name, faults] of Object.entries(wanted)) {
			if (!Object.hasOwn(proxies, name)) throw new Error(`no fault proxy "${name}" (have: ${Object.keys(proxies).join(', ')})`);
			proxies[name].set(faults);
		}
	};
	const admin = http.createServer((req, res) => {
		const path = (req.url ?? '/').split('?')[0];
		if (req.method === 'POST' && path === '/faults') {
			let body = '';
			req.on('data', (c: Buffer) => (body += c.toString('utf8')));
			req.on('end', () => {
				try {
					setFaults(body);
					res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(views['/faults']()));
				} catch (error) {
					res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (error as Error).message }));
				}
			});
			return;
		}
		const known = Object.hasOwn(views, path);
		res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
		res.end(JSON.stringify(known ? views[path]() : { error: 'unknown view', views: Object.keys(views) }));
	});
	await new Promise<void>((resolve) => admin.listen(Number(process.env.SANDBOX_ADMIN_PORT ?? 0), '127.0.0.1', resolve));

	const ready = {
		admin: `http://127.0.0.1:${(admin.address() as AddressInfo).port}`,
		graph: proxies.graph.url,
		crm: proxies.crm.url,
		leadSquared: proxies.leadSquared.url,
		qr: qr.url,
		webhooks: proxies.webhooks.url,
	};
	process.stdout.write(`SANDBOXES ${JSON.stringify(ready)}\n`);

	let closing = false;
	const close = async () => {
		if (closing) return;
		closing = true;
		admin.closeAllConnections();
		await Promise.allSettled([...Object.values(proxies).map(async (p) => await p.close()), graph.close(), crm.close(), leadSquared.close(), qr.close(), receiver.stop(), new Promise((r) => admin.close(r))]);
		process.exit(0);
	};
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void close());
	// The parent holds our stdin: when it dies (even by SIGKILL) this process goes too.
	process.stdin.on('end', () => void close());
	process.stdin.resume();
}

main().catch((error: unknown) => {
	process.stderr.write(`[sandboxes] ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
