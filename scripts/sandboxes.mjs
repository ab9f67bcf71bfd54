// Starts the loopback stand-ins (scripts/sandboxes.ts) in a child process and returns their URLs,
// the secrets they check, a reader for what they received, and stop(). The child also exits when
// this process dies (it watches its stdin).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { ROOT } from './n8n-rig.mjs';

export async function startSandboxes(secrets, { timeoutMs = 30_000, leadSquaredPlanLimit } = {}) {
	const child = spawn(process.execPath, ['-r', join(ROOT, 'scripts/ts-register.js'), join(ROOT, 'scripts/sandboxes.ts')], {
		cwd: ROOT,
		env: {
			...process.env,
			SANDBOX_WHATSAPP_TOKEN: secrets.whatsAppToken,
			SANDBOX_WHATSAPP_PHONE_NUMBER_ID: secrets.whatsAppPhoneNumberId,
			SANDBOX_CRM_API_KEY: secrets.crmApiKey,
			SANDBOX_LSQ_ACCESS_KEY: secrets.lsqAccessKey,
			SANDBOX_LSQ_SECRET_KEY: secrets.lsqSecretKey,
			SANDBOX_QR_API_KEY: secrets.qrApiKey,
			SANDBOX_WEBHOOK_SECRET: secrets.webhookSecret,
			...(leadSquaredPlanLimit ? { SANDBOX_LSQ_PLAN_LIMIT: String(leadSquaredPlanLimit) } : {}),
		},
		// Its own process group: Ctrl-C reaches n8n first; the caller stops this after n8n.
		detached: true,
		stdio: ['pipe', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout.on('data', (c) => (output += c));
	child.stderr.on('data', (c) => (output += c));
	const started = Date.now();
	let urls;
	while (!urls) {
		const line = /^SANDBOXES (.+)$/m.exec(output);
		if (line) urls = JSON.parse(line[1]);
		else if (child.exitCode !== null) throw new Error(`the sandboxes exited (${child.exitCode}):\n${output}`);
		else if (Date.now() - started > timeoutMs) {
			child.kill('SIGKILL');
			throw new Error(`the sandboxes did not start in ${timeoutMs} ms:\n${output}`);
		}
		else await new Promise((r) => setTimeout(r, 50));
	}
	const read = async (view) => (await fetch(`${urls.admin}${view}`)).json();
	return {
		urls,
		secrets,
		pid: child.pid,
		read,
		summary: () => read('/summary'),
		/** Switches faults on the proxies in front of the stand-ins: {graph, crm, leadSquared, webhooks}. */
		setFaults: async (faults) => {
			const res = await fetch(`${urls.admin}/faults`, { method: 'POST', body: JSON.stringify(faults) });
			if (!res.ok) throw new Error(`setFaults: ${await res.text()}`);
			return await res.json();
		},
		stop: async (graceMs = 5_000) => {
			if (child.exitCode !== null || child.signalCode !== null) return;
			const exited = new Promise((r) => child.once('exit', r));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
			await exited;
			clearTimeout(timer);
		},
	};
}
