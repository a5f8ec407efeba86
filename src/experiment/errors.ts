/** A problem with what the user asked for (a flag, a path, a name): shown as one line, never a stack. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
