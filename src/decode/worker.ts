/** Worker-thread entry: decodes what the pool sends and transfers the pixels back. */
import { parentPort } from 'node:worker_threads';
import { decodeImage, type Scratch } from './decodeImage.js';
import type { DecodeRequest, DecodeResponse } from './pool.js';

const scratch: Scratch = { buffer: Buffer.allocUnsafe(1 << 20) };

parentPort?.on('message', (request: DecodeRequest) => {
  void decodeImage(request.input, request.origin, request.height, request.width, scratch, request.maxPixels).then((result) => {
    const response: DecodeResponse = { id: request.id, result };
    parentPort?.postMessage(response, result._tag === 'Right' ? [result.right.buffer as ArrayBuffer] : []);
  });
});
