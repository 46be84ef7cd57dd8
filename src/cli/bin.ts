import { main } from './main.js';

// Long-running commands (emulator) resolve only when they are done; exiting here also ends the
// keep-alive sockets and timers that would otherwise hold the process open.
process.exit(await main(process.argv));
