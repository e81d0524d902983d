// Which uid each worker runs as. Pure: the configured function's workers share the base uid, and every
// template worker gets a uid no worker of this container had before, so a function forked from it can
// never open what an earlier tenant left behind (its files, its directory, its leftover processes).

export class WorkerUids {
  #nextTemplateUid: number;

  constructor(readonly base: number) {
    if (!Number.isSafeInteger(base) || base < 1) throw new RangeError(`the worker uid base must be a positive integer, got ${base}`);
    this.#nextTemplateUid = base + 1;
  }

  /** The container's configured function. */
  get functionUid(): number {
    return this.base;
  }

  /** A fresh uid for the next template; never handed out twice. */
  nextTemplateUid(): number {
    return this.#nextTemplateUid++;
  }
}
