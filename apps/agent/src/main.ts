// podnetd's entry (dist/bin/podnetd runs this file on Node).
import { buildCli } from './cli.js';

await buildCli().parseAsync(process.argv);
