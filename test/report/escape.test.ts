import { describe, expect, it } from 'vitest';
import type { ResultsFile } from '../../src/experiment/store/results.js';
import { meanStd } from '../../src/experiment/stats/meanSd.js';
import { chartRows, metricSpec, specToSvg } from '../../src/report/charts.js';
import { escapeHtml, scriptJson, scriptSource } from '../../src/report/escape.js';
import { renderReportHtml } from '../../src/report/html.js';
import { runRecord } from '../helpers.js';

const EVIL = '</script><script>window.__pwned=1</script><!-- & \u2028\u2029 "\'';

function fixture(): ResultsFile {
  const epochs = [
    { epoch: 1, loss: 2, accuracy: 0.3, valLoss: 2.1, valAccuracy: 0.25, seconds: 1, trainSeconds: 0.9, imagesPerSecond: 100 },
    { epoch: 2, loss: 1.5, accuracy: 0.5, valLoss: 1.7, valAccuracy: 0.45, seconds: 1, trainSeconds: 0.9, imagesPerSecond: 100 },
  ];
  const run = (seed: number, shift: number) =>
    runRecord('a', seed, {
      pipeline: { train: EVIL, trainSteps: [], validation: 'v', validationSteps: [] },
      epochs: epochs.map((e) => ({ ...e, valAccuracy: e.valAccuracy + shift })),
      seconds: 2,
      finishedAt: 'now',
    });
  const runs = [run(1, 0), run(2, 0.1)];
  return {
    format: 'mixstream-ablation/1',
    updatedAt: 'now',
    complete: true,
    configHash: 'h',
    config: {
      epochs: 2,
      seeds: [1, 2],
      model: 'simple-cnn',
      modelOptions: {},
      size: 8,
      batchSize: 4,
      learningRate: 0.01,
      validationSplit: 0.2,
      builtinData: false,
    },
    data: { kind: 'image-folder', location: `/data/${EVIL}`, classes: [EVIL, 'dog'], trainCount: 10, validationCount: 2, fingerprint: 'f' },
    backend: { name: 'cpu', tfBackend: 'cpu', reason: 'asked for', skipped: [] },
    arms: [{ name: 'a', summary: EVIL, pipeline: EVIL }],
    runs,
    summary: [
      {
        arm: 'a',
        summary: EVIL,
        seeds: [1, 2],
        finalValAccuracy: meanStd([0.45, 0.55]),
        finalValLoss: meanStd([1.7, 1.7]),
        finalAccuracy: meanStd([0.5, 0.5]),
        finalLoss: meanStd([1.5, 1.5]),
        perEpoch: [],
      },
    ],
  };
}

describe('report escaping', () => {
  it('escapes text and attributes', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('embeds JSON that cannot close its script tag and parses back to the same value', () => {
    const value = { s: EVIL, n: [1, 2] };
    const text = scriptJson(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
    expect(scriptSource('a="</script>";b="<!--"')).toBe('a="<\\/script>";b="<\\!--"');
  });

  it('renders hostile class names, paths and pipelines inert', () => {
    const results = fixture();
    const spec = metricSpec(chartRows(results), 'valAccuracy', ['a']);
    const html = renderReportHtml({
      results,
      charts: [{ id: 'val-accuracy', spec }],
      samples: [
        {
          arm: 'a',
          pipeline: EVIL,
          png: Buffer.from('x'),
          tiles: [
            [
              [0, 0.6],
              [1, 0.4],
            ],
          ],
          columns: 1,
          tileSize: 8,
        },
      ],
      libraries: ['/* </script> */'],
    });
    // The only script tags are ours: the JSON block, one library, the embed script.
    expect(html.match(/<script/g)).toHaveLength(3);
    expect(html).not.toContain('window.__pwned=1</script>');
    expect(html).not.toContain('<!-- &');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;window.__pwned=1');
    expect(html).toContain('data-mean="0.5"');
    expect(html).toContain('50.0% ± 7.1%');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;!-- &amp; &#8232;&#8233; &quot;&#39;');
    expect(html).not.toMatch(/[\u2028\u2029]/);
  });

  it('lists skipped files with their reasons, names escaped and control characters shown, and no section when none', () => {
    const results = { ...fixture(), skipped: [{ path: `/data/${EVIL}\n\u001b[31m.jpg`, reason: 'declares an image of 26000x26000' }] };
    const html = renderReportHtml({ results, charts: [], samples: [], libraries: [] });
    expect(html).toContain('Skipped files (1)');
    expect(html).toContain('declares an image of 26000x26000');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;window.__pwned=1');
    expect(html).toContain('\\n\\e[31m.jpg');
    expect(html).not.toContain('\u001b');
    expect(renderReportHtml({ results: fixture(), charts: [], samples: [], libraries: [] })).not.toContain('Skipped files');
  });

  it('renders the charts to SVG in Node, a band and a line per arm', async () => {
    const svg = await specToSvg(metricSpec(chartRows(fixture()), 'valAccuracy', ['a']));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Validation accuracy');
  });
});
