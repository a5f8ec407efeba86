/**
 * The names each package subpath exports (package.json's `exports`), values and types alike, read
 * by the TypeScript checker from the sources the subpath is built from.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export function exportedNames(repo: string): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
    exports: Record<string, { readonly types: string }>;
  };
  const entries = Object.entries(pkg.exports).map(([subpath, target]) => ({
    subpath,
    file: path.join(repo, target.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts')),
  }));
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(repo, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json: unreadable');
  const program = ts.createProgram(
    entries.map((e) => e.file),
    config.options,
  );
  const checker = program.getTypeChecker();
  const names: Record<string, string[]> = {};
  for (const { subpath, file } of entries) {
    const source = program.getSourceFile(file);
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) throw new Error(`${subpath}: no module at ${file}`);
    names[subpath] = checker
      .getExportsOfModule(symbol)
      .map((s) => s.name)
      .sort();
  }
  return names;
}
