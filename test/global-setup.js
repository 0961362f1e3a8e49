// Builds dist/cli.js once before the tests, so that tests spawning the CLI run the current code.
const { execFileSync } = require('node:child_process');

module.exports = async () => {
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
};
