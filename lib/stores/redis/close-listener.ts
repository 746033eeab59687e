/** The events and limits of an emitter that the store listens to for its close. */
export interface ClosingEmitter {
  on?(event: string, listener: () => void): unknown;
  off?(event: string, listener: () => void): unknown;
  getMaxListeners?(): number;
  setMaxListeners?(n: number): unknown;
}

/**
 * Calls `listener` on each `event` of `emitter` (the event that tells its user closed it), until the
 * returned function is called. Each store adds one listener and raises the limit by one, so many
 * stores over one client do not set off Node's leak warning, while the user's own listeners keep the
 * limit they had.
 */
export function listenForClose(emitter: ClosingEmitter, event: string, listener: () => void): () => void {
  if (typeof emitter.on !== 'function') return () => {};
  changeMaxListeners(emitter, 1);
  emitter.on(event, listener);
  let listening = true;
  return () => {
    if (!listening) return;
    listening = false;
    emitter.off?.(event, listener);
    changeMaxListeners(emitter, -1);
  };
}

function changeMaxListeners(emitter: ClosingEmitter, by: number): void {
  const max = emitter.getMaxListeners?.();
  if (typeof max === 'number' && max > 0 && Number.isFinite(max)) emitter.setMaxListeners?.(max + by);
}
