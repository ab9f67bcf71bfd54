import { redisVersionOf, redisVersionProblem } from '../../nodes/shared/queue';

// Issue 8 §3: the credential test fails below Redis 6.2 (no XAUTOCLAIM) and says why.
describe('Redis version check', () => {
	test('reads redis_version from INFO server', () => {
		expect(redisVersionOf('# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n')).toBe('7.0.15');
		expect(redisVersionOf('# Server\r\nredis_mode:standalone\r\n')).toBeUndefined();
	});

	test.each(['6.2.0', '6.2.14', '7.0.15', '7.4.1', '8.0.0', '10.1.0'])('%s is recent enough', (version) => {
		expect(redisVersionProblem(version)).toBeUndefined();
	});

	test.each(['6.0.20', '5.0.14', '6.1.9', '4.0.0'])('%s is refused, naming XAUTOCLAIM and 6.2', (version) => {
		expect(redisVersionProblem(version)).toMatch(new RegExp(`Redis ${version.replace(/\./g, '\\.')} is older than 6\\.2.*XAUTOCLAIM`));
	});

	test('a missing or unreadable version is refused with the reason', () => {
		expect(redisVersionProblem(undefined)).toMatch(/did not report its version/);
		expect(redisVersionProblem('banana')).toMatch(/unreadable version "banana"/);
	});
});
