/**
 * What the root monitor needs from the host before it starts workers: the worker user's ids
 * (created by `pqc install`), directories the worker may write (its cache and socket
 * directories, owned by it), and the path of a worker's entry script beside this build.
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync} from 'node:fs'
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

import {LocalError} from '../src/errors.js'

export interface WorkerIds {
  user: string
  uid: number
  gid: number
}

/** uid and gid of a user from the system database (getent: NSS users count too). */
export function lookupUser(user: string): WorkerIds {
  let line: string
  try {
    line = execFileSync('getent', ['passwd', user], {encoding: 'utf8'}).trim()
  } catch {
    throw new LocalError('PQC_ERR_CONFIG_INVALID', `user '${user}' does not exist`, {hint: 'run `pqc install` (it creates the pqconnect user and group), or pass --user'})
  }
  const f = line.split(':')
  const uid = Number(f[2])
  const gid = Number(f[3])
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new LocalError('PQC_ERR_CONFIG_INVALID', `cannot parse the passwd entry of '${user}'`)
  if (uid === 0) throw new LocalError('PQC_ERR_CONFIG_INVALID', `worker user '${user}' is root: that is no separation`)
  return {user, uid, gid}
}

/** Default directories we own by name and may hand to the worker user even if they exist. */
export const OWNED_DIRS = ['/run/pqconnect', '/run/pqc', '/var/cache/pqconnect']

/**
 * Makes `dir` writable by the worker: creates it owned by the worker (mode `mode`), or accepts it
 * if the worker owns it already, or it is a sticky world-writable directory (/tmp), or it is one
 * of OWNED_DIRS. Runtime directories (mode 0755 asked) of OWNED_DIRS stay root's with group
 * pqconnect, 0775: root keeps writing its pid file there without CAP_DAC_OVERRIDE (the systemd
 * units do not grant it) and the workers add their sockets. Anything else is refused: we never
 * chown a directory we do not own.
 */
export function prepareWorkerDir(dir: string, ids: WorkerIds | undefined, mode: number): void {
  if (ids !== undefined) checkTraversable(dirname(dir), ids)
  if (!existsSync(dir)) {
    mkdirSync(dir, {recursive: true, mode})
    if (OWNED_DIRS.includes(dir) && ids !== undefined && mode === 0o755) {
      chmodSync(dir, 0o775)
      chownSync(dir, 0, ids.gid)
      return
    }
    chmodSync(dir, mode)
    if (ids !== undefined) chownSync(dir, ids.uid, ids.gid)
    return
  }
  if (ids === undefined) return
  const st = statSync(dir)
  if (st.uid === ids.uid) return
  if ((st.mode & 0o1002) === 0o1002) return
  if (OWNED_DIRS.includes(dir)) {
    if (mode === 0o755) {
      // runtime dirs: root keeps them (its pid file), the worker group may add its sockets
      if (st.uid === 0 && st.gid === ids.gid && (st.mode & 0o777) === 0o775) return
      chmodSync(dir, 0o775)
      chownSync(dir, 0, ids.gid)
      return
    }
    chmodSync(dir, mode)
    chownSync(dir, ids.uid, ids.gid)
    return
  }
  throw new LocalError('PQC_ERR_CONFIG_INVALID', `${dir} is not writable by the worker user '${ids.user}'`, {
    hint: `chown ${ids.user}: ${dir}, or choose a directory that does not exist yet`,
  })
}

/** Every existing ancestor of `dir` must let the worker pass (x for others, or for its uid/gid). */
function checkTraversable(dir: string, ids: WorkerIds): void {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(d)) {
      const st = statSync(d)
      const ok = (st.mode & 0o001) !== 0 || (st.uid === ids.uid && (st.mode & 0o100) !== 0) || (st.gid === ids.gid && (st.mode & 0o010) !== 0)
      if (!ok) {
        throw new LocalError('PQC_ERR_CONFIG_INVALID', `the worker user '${ids.user}' cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)})`, {
          hint: `chmod o+x ${d}, or choose paths under /run/pqconnect and /var/cache/pqconnect`,
        })
      }
    }
    if (dirname(d) === d) return
  }
}

/** Removes a stale socket file (from a crash) so the worker, unprivileged, can bind the path again. */
export function prepareSocketPath(path: string, ids: WorkerIds | undefined): void {
  prepareWorkerDir(dirname(path), ids, 0o755)
  rmSync(path, {force: true})
}

/** A worker entry script beside this build: .js when compiled, .ts when run under tsx. */
export function workerEntry(relativeToMonitor: string): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return fileURLToPath(new URL(`${relativeToMonitor}${ext}`, import.meta.url))
}
