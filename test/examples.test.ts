import { describe, expect, it } from 'vitest';
import { main } from '../examples/train.js';

describe('examples/train.ts', () => {
  it('trains a small CNN with fitDataset for 2 epochs on a generated image folder', async () => {
    const history = await main({ size: 24, epochs: 2 });
    expect(history.history.loss).toHaveLength(2);
    expect(history.history.val_acc ?? history.history.val_accuracy).toHaveLength(2);
    for (const v of history.history.loss ?? []) expect(Number.isFinite(v as number)).toBe(true);
  });
});
