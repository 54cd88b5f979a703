/** Polls `condition` until it holds; on timeout the error names what was waited for. */
export async function until(what: string, condition: () => boolean, timeoutMs: number, stepMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
