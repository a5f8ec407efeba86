import { existsSync } from 'node:fs';

/**
 * Whether a system package a test needs (not an npm one: Debian's chromium, a Slurm cluster) is
 * here. Absent: the test says what it needs and is skipped, visibly; with MIXSTREAM_REQUIRE_SYSTEM=1
 * (set by .ci/run, which installs them) its absence is a failure, as MIXSTREAM_REQUIRE_NATIVE does
 * for the native addon.
 */
export function systemPackage(name: string, file: string, install = `apt-get install ${name}`): boolean {
  if (existsSync(file)) return true;
  const need = `needs the system package '${name}' (${file}); install it with \`${install}\``;
  if (process.env.MIXSTREAM_REQUIRE_SYSTEM === '1') throw new Error(`MIXSTREAM_REQUIRE_SYSTEM=1 and this test ${need}`);
  console.warn(`SKIPPED (part of) a test: it ${need}; .ci/run installs it and sets MIXSTREAM_REQUIRE_SYSTEM=1`);
  return false;
}
