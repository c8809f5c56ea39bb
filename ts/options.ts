import type { Backend, BackendChoice } from './backend/types.js';

/** Every public call accepts a backend: a loaded one, or a choice to load (default: auto). */
export interface BackendOption {
  backend?: Backend | BackendChoice;
}
