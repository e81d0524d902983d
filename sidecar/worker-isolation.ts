// What keeps one worker away from another's data when the sidecar runs as root (as it does in every
// container, with only the capabilities this needs: see docker-runtime.ts): its own uid/gid, a private
// 0700 writable directory as HOME and TMPDIR, a code directory only its group can open and nobody but root
// can write (root:<its gid>, 0750), shared scratch directories locked to 0711, and at the end every process
// left under its uid killed. Not root (node-manager's CONTAINER_NON_ROOT, or a developer's machine): workers
// run as the sidecar's user, each still with its own directory, and the container is never shared.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Logger } from "../common/logger.js";
import { WorkerUids } from "./worker-uids.js";

/** Who a worker runs as and where it may write. */
export interface WorkerIdentity {
  /** Absent when the sidecar is not root: the worker runs as the sidecar's own user. */
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** Its private writable directory (HOME and TMPDIR); named after the allocated uid either way. */
  readonly home: string;
}

export interface WorkerIsolationOptions {
  readonly workDir: string;
  readonly uidBase: number;
  readonly logger: Logger;
  /** Defaults to whether the sidecar runs as root. */
  readonly asRoot?: boolean;
}

/** Parent and scratch directories: anyone may pass through, nobody but root may list or create entries. */
const TRAVERSE_ONLY = 0o711;
const PRIVATE = 0o700;
/**
 * A worker's code directory: its group reads and enters it, nobody else; not even the worker may write
 * there (an injected code directory is on the host's disk, outside the container's bounded tmpfs), nor
 * chmod it back open. Function images bake /fn this way (the root filesystem is read-only).
 */
export const CODE_DIR_MODE = 0o750;

export class WorkerIsolation {
  readonly asRoot: boolean;
  readonly #uids: WorkerUids;
  readonly #o: WorkerIsolationOptions;

  constructor(options: WorkerIsolationOptions) {
    this.#o = options;
    this.asRoot = options.asRoot ?? process.getuid?.() === 0;
    this.#uids = new WorkerUids(options.uidBase);
  }

  /**
   * Once at start: the work directory exists (root's, traverse-only) and the shared world-writable
   * directories are made traverse-only, so a worker can write only in its own directory.
   */
  prepare(lockedDirs: readonly string[]): void {
    fs.mkdirSync(this.#o.workDir, { recursive: true });
    if (!this.asRoot) {
      this.#o.logger.info({ uid: process.getuid?.() }, "the sidecar is not root (CONTAINER_NON_ROOT, or a developer's machine): workers run as its own user, each with its own directory");
      return;
    }
    fs.chmodSync(this.#o.workDir, TRAVERSE_ONLY);
    for (const dir of lockedDirs) {
      try {
        fs.chmodSync(dir, TRAVERSE_ONLY);
      } catch (err) {
        // A read-only directory (/var/tmp on the read-only root) has nothing writable to lock.
        if ((err as NodeJS.ErrnoException).code === "EROFS") continue;
        // Best effort: a missing /dev/shm leaves nothing writable to lock either.
        this.#o.logger.warn({ dir, err: (err as Error).message }, "could not lock a shared directory");
      }
    }
  }

  /** The configured function's workers: the base uid, its directory created if missing. */
  functionIdentity(): WorkerIdentity {
    return this.#identity(this.#uids.functionUid);
  }

  /** A template worker: a uid never used before in this container, with a brand-new directory. */
  templateIdentity(): WorkerIdentity {
    return this.#identity(this.#uids.nextTemplateUid());
  }

  /**
   * Makes codeDir (the directory itself, not its files) openable only by the worker's group, writable by
   * nobody but root. Already so (a function image's /fn, on the read-only root): left alone.
   */
  giveCodeDir(codeDir: string, to: WorkerIdentity): void {
    if (!this.asRoot || to.uid === undefined) return;
    const owner = process.getuid?.() ?? 0;
    const gid = to.gid ?? to.uid;
    try {
      const st = fs.statSync(codeDir);
      if (st.uid === owner && st.gid === gid && (st.mode & 0o7777) === CODE_DIR_MODE) return;
      fs.chownSync(codeDir, owner, gid);
      fs.chmodSync(codeDir, CODE_DIR_MODE);
    } catch (err) {
      this.#o.logger.warn({ codeDir, uid: to.uid, err: (err as Error).message }, "could not give the code directory to the worker's group; other uids may read it");
    }
  }

  /** After the worker ended: whatever still runs under its uid is killed and its directory removed. */
  release(identity: WorkerIdentity): void {
    if (this.asRoot && identity.uid !== undefined && identity.uid !== process.getuid?.()) {
      const killed = killProcessesOfUid(identity.uid);
      if (killed > 0) this.#o.logger.info({ uid: identity.uid, killed }, "killed processes left under an ended worker's uid");
    }
    try {
      fs.rmSync(identity.home, { recursive: true, force: true });
    } catch (err) {
      this.#o.logger.warn({ dir: identity.home, err: (err as Error).message }, "could not remove an ended worker's directory");
    }
  }

  #identity(uid: number): WorkerIdentity {
    const home = path.join(this.#o.workDir, String(uid));
    fs.mkdirSync(home, { recursive: true, mode: PRIVATE });
    if (!this.asRoot) return { uid: undefined, gid: undefined, home };
    fs.chownSync(home, uid, uid);
    fs.chmodSync(home, PRIVATE);
    return { uid, gid: uid, home };
  }
}

const REAL_UID = /^Uid:\s+(\d+)/m;

/**
 * SIGKILL to every process whose real uid is uid: a worker's children that left its process group
 * (setsid, double fork) are found this way. Returns how many were signalled.
 */
export function killProcessesOfUid(uid: number): number {
  let killed = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return 0; // no /proc: nothing more can be found than the process group already killed
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${entry}/status`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const m = REAL_UID.exec(status);
    if (!m || Number(m[1]) !== uid) continue;
    try {
      process.kill(Number(entry), "SIGKILL");
      killed++;
    } catch {
      // exited meanwhile
    }
  }
  return killed;
}
