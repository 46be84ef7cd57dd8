// The benchmarks' child processes, seen from the parent: a child it starts ends with it, a service
// child says where it serves in the first line it prints, and a child's CPU is read from /proc.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const children = new Set<ChildProcess>();
const running = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
process.on('exit', () => {
  for (const c of children) if (running(c)) c.kill('SIGKILL');
});

/** Keeps `proc` among the children SIGKILLed if this process exits while they run; returns it. */
export function track<T extends ChildProcess>(proc: T): T {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** Ends a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!running(proc)) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Ends every tracked child still running (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopAllChildren(graceMs = 10_000): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, graceMs)));
}

/**
 * Starts `node ...nodeArgs script ...args` as a tracked service child and resolves with the JSON
 * object of the first line it prints, which it prints once it serves. Its stdin is a pipe that
 * stays open while this process lives: the service ends when it closes.
 */
export async function startServiceChild<T>(
  nodeArgs: string[],
  script: string,
  args: string[],
  opts: { cwd?: string } = {},
): Promise<{ proc: ChildProcess } & T> {
  const proc = track(
    spawn(process.execPath, [...nodeArgs, script, ...args], {
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const line = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${script} ${args[0] ?? ''} exited with ${code}`)));
    createInterface({ input: proc.stdout! }).once('line', resolve);
  });
  return { proc, ...(JSON.parse(line) as T) };
}

/** CPU time a process has used so far, ms (utime + stime from /proc, at 100 ticks a second). */
export function procCpuMs(proc: ChildProcess | undefined): number {
  try {
    const fields = readFileSync(`/proc/${proc?.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}
