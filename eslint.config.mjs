import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
	...configWithoutCloudSupport,
	{
		// The pack needs ioredis, mongodb, axios, zod and libphonenumber-js at run time; that keeps
		// it off n8n Cloud's verified list, which configWithoutCloudSupport already accepts.
		rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' },
	},
	{
		// The shared core has no n8n runtime imports by design (it is reused by every node and by
		// plain scripts): it throws its own typed errors, and each node face wraps them in
		// NodeOperationError / NodeApiError.
		files: ['nodes/shared/**/*.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
];
