/** The CLI's way out on a second Ctrl-C (its own module: nothing heavy to load, testable in a child). */

/**
 * Ends the process now, whatever it is waiting on: process.exit waits for worker threads to stop,
 * and a worker blocked in a read (a FIFO, a stalled network file system) never does. With our
 * handler gone, SIGINT's default action ends every thread; the shell sees 130 (128 + SIGINT).
 */
export function hardInterrupt(): void {
  process.removeAllListeners('SIGINT');
  process.kill(process.pid, 'SIGINT');
}
