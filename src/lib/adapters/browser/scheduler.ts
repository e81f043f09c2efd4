/** The platform's timers behind the node's Scheduler port, so tests can drive time instead. */
export const browserScheduler = {
  setInterval: (fn: () => void, ms: number) => globalThis.setInterval(fn, ms),
  clearInterval: (handle: unknown) => globalThis.clearInterval(handle as number),
  setTimeout: (fn: () => void, ms: number) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => globalThis.clearTimeout(handle as number)
};
