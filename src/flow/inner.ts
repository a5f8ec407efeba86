import { Subject, takeUntil, type Observable, type Observer, type Subscriber, type Subscription } from 'rxjs';

/**
 * Subscribes `observer` to `source` on behalf of `subscriber` (an operator's own Observable), so
 * that the source stops the moment `subscriber` is unsubscribed, even during a synchronous
 * firehose: the teardown an operator returns is only registered after `source.subscribe`
 * returns, too late for a synchronous source feeding `take(3)`.
 */
export function subscribeInner<T>(source: Observable<T>, subscriber: Subscriber<unknown>, observer: Partial<Observer<T>>): Subscription {
  const stop = new Subject<void>();
  subscriber.add(() => stop.next());
  return source.pipe(takeUntil(stop)).subscribe(observer);
}
