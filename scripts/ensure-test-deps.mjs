// Runs before `npm test`: the tests use real components from Debian's packages (the CNCF
// Distribution registry, Chromium for the review page). As root, installs what is missing; otherwise says exactly what to install.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needed = [
  { binary: '/usr/bin/docker-registry', pkg: 'docker-registry' },
  { binary: '/usr/bin/chromium', pkg: 'chromium' },
  // The registry tests make a TLS certificate and an htpasswd file with these.
  { binary: '/usr/bin/openssl', pkg: 'openssl' },
  { binary: '/usr/bin/perl', pkg: 'perl' },
];
const missing = needed.filter(({ binary }) => !existsSync(binary)).map(({ pkg }) => pkg);

if (missing.length > 0) {
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.log(`Installing test dependencies: ${missing.join(', ')}`);
    execFileSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${command}`], { stdio: 'inherit' });
  } else {
    console.warn(`\nSome tests need Debian packages that are not installed: ${missing.join(', ')}.`);
    console.warn(`Install them with:  sudo sh -c '${command}'`);
    console.warn(
      'Without docker-registry or chromium the tests that need them are skipped (and fail under CI=true); without openssl or perl the registry tests fail.\n',
    );
  }
}
