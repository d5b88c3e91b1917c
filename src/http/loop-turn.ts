// Which turn of the event loop this thread is in: a number that grows once per
// loop iteration in which someone asked for it. The exchange uses it to tell
// why uWS closed a connection with a request still unanswered.
//
// uWS reads a socket once per loop iteration (one recv per readiness event, in
// libuv's poll phase), parses every request in what it read, and, on the
// second request while the first is unanswered, closes the connection at once:
// the first request's onAborted runs within the same read, so in the same turn
// as its handler. A client's own close (FIN or reset) is seen only by a later
// recv, so in a later turn: measured with uWS 20.30 for FIN after the
// request in one write, FIN 5 ms later, and a reset (a reset that arrives with
// the request makes uWS drop both before any handler runs). setImmediate
// callbacks run in the check phase, after every poll callback of the turn.
// (libuv polls a second time within one phase only when 1024 sockets were ready
// at once; a client's close could then fall in its request's turn.)

let turn = 0;
let advancing = false;

const advance = (): void => {
  turn++;
  advancing = false;
};

/** The current turn; the next call in a later loop iteration returns a larger one. */
export function loopTurn(): number {
  if (!advancing) {
    advancing = true;
    setImmediate(advance);
  }
  return turn;
}
