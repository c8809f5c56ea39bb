import type { Backend, BackendChoice } from './backend/types.js';

/** Every public call accepts a backend: a loaded one, or a choice to load (default: auto). */
export interface BackendOption {
  /** Default: `$QUIRE_BACKEND` when set, else `auto` (native when its binary loads, else wasm). */
  backend?: Backend | BackendChoice;
}
