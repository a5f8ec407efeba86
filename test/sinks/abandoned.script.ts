// Run by abandoned.test.ts in its own process with --expose-gc: an iterator dropped without
// return() must unsubscribe the pipeline once it is garbage-collected.
import { Observable } from 'rxjs';
import { toAsyncIterable } from '../../src/sinks/toAsyncIterable.js';

let tornDown = false;
const source = new Observable<number>((subscriber) => {
  subscriber.next(1);
  return () => {
    tornDown = true;
  };
});
await (async () => {
  const it = toAsyncIterable(source)[Symbol.asyncIterator]();
  await it.next();
})();
for (let i = 0; i < 20 && !tornDown; i++) {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 10));
}
console.log(JSON.stringify({ tornDown }));
