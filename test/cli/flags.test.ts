/** The ablate flag table (src/cli/flags.ts): help, parsing and defaults from one place. */
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.js';
import { ABLATE_FLAGS } from '../../src/cli/flags.js';
import { DEFAULT_CONFIG } from '../../src/experiment/plan/config.js';
import { runAblation } from '../../src/experiment/run/runAblation.js';

const ablate = (...args: string[]) => {
  const c = parseCommand(['ablate', ...args]);
  if (c.kind !== 'ablate') throw new Error(`expected an ablate command, got ${c.kind}`);
  return c;
};

describe('ablate flags', () => {
  it('a recipe flag starts from the run default recipe (cosine, 1 warm-up epoch), not the constant DEFAULT_RECIPE', () => {
    const { recipe } = ablate('--weight-decay', '5e-4').config;
    expect(recipe).toEqual({ ...DEFAULT_CONFIG.recipe, weightDecay: 5e-4 });
    expect(recipe?.schedule).toBe('cosine');
    expect(recipe?.warmupEpochs).toBe(1);
    expect(ablate('--optimizer', 'sgd').config.recipe).toMatchObject({ optimizer: 'sgd', schedule: 'cosine', warmupEpochs: 1 });
    expect(ablate('--schedule', 'constant').config.recipe).toMatchObject({ schedule: 'constant', warmupEpochs: 1 });
    expect(ablate().config.recipe).toEqual(DEFAULT_CONFIG.recipe);
  });

  it("--help shows every flag of the table with the run's real defaults, and --lr for either optimizer", () => {
    const help = parseCommand(['ablate', '--help']);
    if (help.kind !== 'help') throw new Error('expected help');
    for (const f of ABLATE_FLAGS) expect(help.text).toContain(`--${f.name}`);
    expect(help.text).toMatch(/--schedule <name> .*\n.*\[cosine\]/);
    expect(help.text).toMatch(/--warmup <epochs> .*\[1\]/);
    expect(help.text).toMatch(/--lr <x> .*adam or sgd.*\[0\.003\]/);
    expect(help.text).not.toMatch(/Adam learning rate/);
  });

  it("--gpu-adapter pins webgpu's adapter for the command; an empty one is refused naming the flag", () => {
    expect(ablate('--gpu-adapter', 'low-power').gpuAdapter).toBe('low-power');
    expect(ablate().gpuAdapter).toBeUndefined();
    expect(() => ablate('--gpu-adapter', ' ')).toThrow(/--gpu-adapter needs a value/);
  });

  it('parses every flag of the table that takes a value, and refuses an unknown one', () => {
    expect(ABLATE_FLAGS.filter((f) => f.arg !== undefined).length).toBeGreaterThan(20);
    expect(() => parseCommand(['ablate', '--warmup-epochs', '2'])).toThrow(/Unknown option '--warmup-epochs'/);
    expect(ablate('--warmup', '0', '--momentum', '0.5').config.recipe).toMatchObject({ warmupEpochs: 0, momentum: 0.5 });
  });

  it('checks a shard once, in plan/validate.ts: the CLI and the API say the same', async () => {
    expect(() => parseCommand(['ablate', '--shard', '5/4'])).toThrow("--shard INDEX must be in 0..3, got '5/4'");
    await expect(runAblation(DEFAULT_CONFIG, { shard: { index: 5, count: 4 } })).rejects.toThrow(
      "--shard INDEX must be in 0..3, got '5/4'",
    );
  });
});
