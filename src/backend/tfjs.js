/**
 * TensorFlow.js for mixstream's own modules, which import it as `import tf from '#tfjs'` (the
 * package's "imports" map: this file at run time, @tensorflow/tfjs's types for TypeScript).
 *
 * Loaded with require, because an ESM import of tfjs's CommonJS build first has Node lex all of
 * its code for named exports: 0.45 s to load instead of 0.21 s here, in every process (the CLI,
 * each --jobs worker), plus the lexer's own compiling. The module is the same one an application's
 * `import * as tf from '@tensorflow/tfjs'` gets (Node's CommonJS cache), so tensors, kernels and
 * backends are shared.
 */
import { createRequire } from 'node:module';

export default createRequire(import.meta.url)('@tensorflow/tfjs');
