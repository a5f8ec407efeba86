import { firstValueFrom, map, type Observable } from 'rxjs';

/**
 * The class count K of a source: the `numClasses` of its first item (every sample carries it),
 * for sizing a model's output layer from the data rather than by hand. Resolves once the first
 * item arrives and unsubscribes then (a folder is listed, one file is named; nothing is decoded
 * unless the observable decodes); rejects with the source's error, or when it emits nothing.
 *
 * It subscribes once, which is one epoch of a source: give it a source of its own, not the one
 * you train on, so the training epochs still start at 0.
 *
 * @example
 * const numClasses = await numClassesOf(imageFolder('Images/'));
 * const model = createModel('simple-cnn', { inputSize: 64, numClasses });
 */
export function numClassesOf(source: Observable<{ readonly numClasses: number }>): Promise<number> {
  return firstValueFrom(source.pipe(map((item) => item.numClasses)));
}
