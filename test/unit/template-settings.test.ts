import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Workflows that run every few seconds or carry batches of leads must not fill n8n's execution list
// (and database) with successful runs holding leads' personal data; their notes must say so.
const HIGH_VOLUME = ['crm-sync.json', 'filter-queue.json'];
const read = (file: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', 'workflows', file), 'utf8'));

test.each(HIGH_VOLUME)('%s does not save successful executions, and a sticky note says why', (file) => {
	const workflow = read(file);
	expect(workflow.settings.saveDataSuccessExecution).toBe('none');
	const notes = workflow.nodes.filter((n: { type: string }) => n.type === 'n8n-nodes-base.stickyNote').map((n: { parameters: { content: string } }) => n.parameters.content);
	expect(notes.some((c: string) => /Successful executions are not saved/.test(c))).toBe(true);
});
