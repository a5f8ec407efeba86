// Run by abandoned.test.ts in its own process with --expose-gc: an iterator dropped without
// return() must unsubscribe the pipeline once it is garbage-collected, and a source waiting for
// credit must then end (closing what it opened).
import { Observable } from 'rxjs';
import { toAsyncIterable } from '../../src/sinks/toAsyncIterable.js';
import { pullSource } from '../../src/sources/pullSource.js';
import { batch } from '../../src/operators/batch.js';

let tornDown = false;
let generatorClosed = false;
const plain = new Observable<number>((subscriber) => {
  subscriber.next(1);
  return () => {
    tornDown = true;
  };
});
const pulled = pullSource(function* (epoch) {
  try {
    for (let index = 0; ; index++)
      yield { image: new Uint8Array(3), height: 1, width: 1, channels: 3, label: 0, numClasses: 1, origin: 'x', epoch, index };
  } finally {
    generatorClosed = true;
  }
}).pipe(batch(2));
await (async () => {
  await toAsyncIterable(plain)[Symbol.asyncIterator]().next();
  await toAsyncIterable(pulled)[Symbol.asyncIterator]().next();
})();
for (let i = 0; i < 20 && !(tornDown && generatorClosed); i++) {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 10));
}
console.log(JSON.stringify({ tornDown, generatorClosed }));
