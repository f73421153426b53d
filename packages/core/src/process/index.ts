export { runProcess } from './run.js';
export type { ProcessExit, RunOptions } from './run.js';
