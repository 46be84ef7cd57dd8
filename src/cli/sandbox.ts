/**
 * The one door into `src/sandbox/` (the API emulator, the specimen renderer, the local S3 server,
 * the throwaway Redis and the demo). Only `demo`, `emulator` and `samples` go through it, and only
 * when they run: no other command loads any of it.
 *
 * The sandbox's own packages (s3rver, @napi-rs/canvas, the CJK font) are development
 * dependencies, so a production install (`npm ci --omit=dev`, `npm prune --omit=dev`, the Docker
 * image) leaves them out, and the image leaves the sandbox's code out too. Its commands then stop
 * with one short message saying what to install, not a module-resolution stack.
 */

/** Packages every sandbox command needs; the font has a fallback of its own (fonts.ts). */
const SANDBOX_PACKAGES = ['s3rver', '@napi-rs/canvas'] as const;

/** The sandbox is not part of this install. */
export class SandboxMissingError extends Error {
  override readonly name = 'SandboxMissingError';
}

function resolvable(specifier: string): boolean {
  try {
    import.meta.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

function missingError(command: string, missing: string): SandboxMissingError {
  return new SandboxMissingError(
    `\`${command}\` is part of the sandbox, which this production install leaves out (${missing} not installed).\n` +
      'Install the development dependencies in a checkout of the project (`npm ci`, without --omit=dev) to use it.',
  );
}

/** The sandbox's command entry points, or {@link SandboxMissingError} when this install has none. */
export async function loadSandbox(
  command: 'demo' | 'emulator' | 'samples',
): Promise<typeof import('../sandbox/commands.js')> {
  const missing = SANDBOX_PACKAGES.filter((p) => !resolvable(p));
  if (missing.length > 0) throw missingError(command, missing.join(', '));
  try {
    return await import('../sandbox/commands.js');
  } catch (e) {
    // Only the sandbox itself being absent (the Docker image removes it) is this case; a module
    // missing inside it is a fault to show as it is.
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('sandbox/commands.'))
      throw missingError(command, 'its code');
    throw e;
  }
}
