// Prints the totals as one plain line ("tests: N passed, N failed, N skipped") so CI logs can
// be read the same way whatever runner produced them.
class SummaryReporter {
	onRunComplete(_contexts, results) {
		const { numPassedTests, numFailedTests, numPendingTests, numTodoTests, numFailedTestSuites } = results;
		const failed = numFailedTests + (numFailedTests === 0 ? numFailedTestSuites : 0);
		process.stdout.write(
			`\ntests: ${numPassedTests} passed, ${failed} failed, ${numPendingTests + numTodoTests} skipped\n`,
		);
	}
}
module.exports = SummaryReporter;
