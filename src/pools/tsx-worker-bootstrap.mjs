// Under tsx (tests, development) a worker thread cannot start from a .ts file
// on Node 20, even with --import tsx: this plain module registers tsx in the
// worker, then imports the real entry given as argv[2]. Compiled builds start
// workers from dist/ directly and never use it.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
