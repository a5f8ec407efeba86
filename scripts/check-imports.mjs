// Fails (exit 1) on an import cycle in src, type-only imports included (eslint's import-x/no-cycle,
// also in `npm run lint`, sees only the cycles that run), and on an import against the layers of
// src/experiment: each folder imports only the folders before it in LAYERS.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(process.argv[2] ?? 'src');
/** src/experiment's folders, lowest first: a folder imports only from folders listed before it. */
const LAYERS = ['data', 'plan', 'stats', 'store', 'train', 'run'];

const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.ts$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(p);
  }
};
walk(root);

const edges = new Map();
for (const file of files) {
  const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  const to = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), fileName).replace(/\.js$/, '.ts');
    if (fs.existsSync(target)) to.push(target);
  }
  edges.set(file, to);
}

const problems = [];
const rel = (f) => path.relative(process.cwd(), f);
const experiment = path.join(root, 'experiment');
const layerOf = (f) => {
  const r = path.relative(experiment, f);
  if (r.startsWith('..')) return undefined;
  const top = r.split(path.sep)[0];
  return LAYERS.includes(top) ? LAYERS.indexOf(top) : undefined;
};
for (const [from, tos] of edges) {
  const a = layerOf(from);
  if (a === undefined) continue;
  for (const to of tos) {
    const b = layerOf(to);
    if (b !== undefined && b > a)
      problems.push(`${rel(from)} imports ${rel(to)}: ${LAYERS[a]}/ may import only ${LAYERS.slice(0, a).join(', ') || 'no other folder'}`);
  }
}

// Cycles: depth-first search, reporting each cycle once by its member set.
const state = new Map();
const seen = new Set();
const stack = [];
const visit = (f) => {
  state.set(f, 'open');
  stack.push(f);
  for (const t of edges.get(f) ?? []) {
    if (state.get(t) === 'open') {
      const cycle = stack.slice(stack.indexOf(t));
      const key = [...cycle].sort().join('|');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import cycle: ${[...cycle, t].map(rel).join(' -> ')}`);
      }
    } else if (!state.has(t)) visit(t);
  }
  stack.pop();
  state.set(f, 'done');
};
for (const f of files) if (!state.has(f)) visit(f);

for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} problem(s)`);
  process.exit(1);
}
