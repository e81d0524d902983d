// Installing exact-pinned npm dependencies on the host, for images that are then built without network.
// Shared by node-manager (function images) and zygote-builder (zygote images) so both install the same way.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export class DependencyInstallError extends Error {}

/** Writes a package.json holding only these dependencies (the staging dir of a zygote, or a partial install). */
export function writeDependenciesPackageJson(dir: string, name: string, dependencies: Readonly<Record<string, string>>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version: "0.0.0", private: true, dependencies: { ...dependencies } }, null, 2));
}

/** `npm install` in dir (which holds a package.json); killed after timeoutMs. */
export function npmInstall(dir: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // --ignore-scripts: a deploy must never run a package's code on the host.
    const child = spawn("npm", ["install", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new DependencyInstallError(`npm could not run: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new DependencyInstallError(`npm install failed (${signal ?? `exit ${code}`}): ${stderr.replace(/\s+/g, " ").trim().slice(-1000)}`));
    });
  });
}

/**
 * Makes a tree readable by anyone: dirs 0755, files 0644 (0755 when executable by someone). Containers run
 * the function as a non-root uid, and COPY keeps the host's modes, so a umask of 077 would lock it out.
 * Symlinks (node_modules/.bin) are left alone: their target's mode is what counts.
 */
export function makeWorldReadable(root: string): void {
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      fs.chmodSync(p, 0o755);
      for (const entry of fs.readdirSync(p)) walk(path.join(p, entry));
    } else {
      fs.chmodSync(p, st.mode & 0o111 ? 0o755 : 0o644);
    }
  };
  walk(root);
}
