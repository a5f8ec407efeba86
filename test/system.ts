import { existsSync } from 'node:fs';

/**
 * What a test needs from the system and does not have: said and skipped, visibly; with
 * MIXSTREAM_REQUIRE_SYSTEM=1 (set by .ci/run, which installs and allows what tests need) a failure,
 * as MIXSTREAM_REQUIRE_NATIVE does for the native addon.
 */
function lacking(need: string): false {
  if (process.env.MIXSTREAM_REQUIRE_SYSTEM === '1') throw new Error(`MIXSTREAM_REQUIRE_SYSTEM=1 and this test ${need}`);
  console.warn(`SKIPPED (part of) a test: it ${need}; .ci/run provides it and sets MIXSTREAM_REQUIRE_SYSTEM=1`);
  return false;
}

/**
 * Whether a system package a test needs (not an npm one: Debian's chromium, a Slurm cluster) is
 * here; absent, see `lacking`.
 */
export function systemPackage(name: string, file: string, install = `apt-get install ${name}`): boolean {
  if (existsSync(file)) return true;
  return lacking(`needs the system package '${name}' (${file}); install it with \`${install}\``);
}

/**
 * Whether the system allows what a test does (a kernel feature such as PID namespaces, which needs
 * root): `allowed` is the result of trying it; refused, see `lacking`.
 */
export function systemAllows(what: string, allowed: boolean, how: string): boolean {
  if (allowed) return true;
  return lacking(`needs ${what}, which this system refused (${how})`);
}
