// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against a real n8n
// editor: sign in through the form, open a workflow, tell which canvas nodes n8n could not render.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { ROOT } from '../../../scripts/n8n-rig.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// No GPU, no sandbox (root in a container), and nothing that phones home: the only network
// Chromium may use here is the loopback n8n.
const CHROMIUM_ARGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

/** Installs Debian's chromium when it is missing (scripts/install-chromium.sh is idempotent). */
export function ensureChromium() {
	execFileSync('bash', [join(ROOT, 'scripts/install-chromium.sh')], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CHROMIUM_PATH: CHROMIUM } });
}

export async function launchChromium() {
	return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Signs in through n8n's /signin form, as a person would. */
export async function signIn(page, baseUrl, { email, password }) {
	await page.goto(`${baseUrl}/signin`);
	await page.locator('#emailOrLdapLoginId').fill(email);
	await page.locator('#password').fill(password);
	await page.locator('[data-test-id="form-submit-button"]').click();
	await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 30_000 });
}

/**
 * Opens /workflow/<id> and waits until every node of the workflow JSON (sticky notes aside) is on
 * the canvas and every node icon image has finished loading (or failed), so a screenshot shows
 * the real thing.
 */
export async function openWorkflowCanvas(page, baseUrl, workflow, timeoutMs = 60_000) {
	await page.goto(`${baseUrl}/workflow/${workflow.id}`);
	await page.locator('[data-test-id="canvas"]').waitFor({ timeout: timeoutMs });
	// Sticky notes are drawn by the canvas too, but not as nodes: only nodes can be "unknown".
	for (const node of workflow.nodes.filter((n) => n.type !== 'n8n-nodes-base.stickyNote')) {
		await page.locator(`[data-test-id="canvas-node"][data-node-name=${JSON.stringify(node.name)}]`).waitFor({ timeout: timeoutMs });
	}
	await page.waitForFunction(() => [...document.querySelectorAll('[data-test-id="canvas-node"] img')].every((img) => img.complete), undefined, { timeout: timeoutMs });
	// The canvas fits the view after the nodes mount; let that transition finish before a screenshot.
	await page.waitForTimeout(500);
}

/**
 * Canvas nodes n8n 2.41 could not render as a real node, with why. n8n marks a node whose type it
 * does not know with a `node-not-installed` status ("install this node") and draws a "?" icon
 * placeholder instead of the node's icon; an icon file that failed to load shows as a broken image.
 * Checked against a workflow with a made-up node type (test/e2e/editor.e2e.mjs).
 */
export async function unrenderedNodes(page) {
	return await page.evaluate(() =>
		[...document.querySelectorAll('[data-test-id="canvas-node"]')]
			.map((node) => {
				const reasons = [];
				if (node.querySelector('[data-test-id="node-not-installed"]')) reasons.push('node-not-installed');
				for (const placeholder of node.querySelectorAll('[class*="nodeIconPlaceholder"]')) {
					if (placeholder.textContent.trim() === '?') reasons.push('question-mark icon');
				}
				for (const img of node.querySelectorAll('img')) {
					if (img.complete && img.naturalWidth === 0) reasons.push(`broken icon ${img.getAttribute('src')}`);
				}
				return { name: node.dataset.nodeName, type: node.dataset.nodeType, reasons };
			})
			.filter((node) => node.reasons.length > 0),
	);
}

/** Node names with n8n's issue marker (missing credential, invalid parameter): reported, not failed. */
export async function nodesWithIssues(page) {
	return await page.evaluate(() =>
		[...document.querySelectorAll('[data-test-id="canvas-node"]')].filter((node) => node.querySelector('[data-test-id="node-issues"]')).map((node) => node.dataset.nodeName),
	);
}
