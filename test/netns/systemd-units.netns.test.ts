/**
 * The units' sandbox against the real code (root tier, issue 5): each unit's ExecStart runs in a
 * namespace of our own as systemd would start it, as far as that can be done without systemd:
 * root limited to the unit's CapabilityBoundingSet, NoNewPrivileges (setpriv), a fresh /run with
 * the RuntimeDirectory= directories made root-owned 0755 (as systemd makes them on every start).
 * Then: workers run as pqconnect with CapEff 0; SIGTERM stops it with exit status 0, TUN, nft
 * table and pid file gone; ExecStopPost (pqc cleanup) succeeds under the same limits.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, test} from 'node:test'
import {promisify} from 'node:util'

import {PQC_BIN_PATH, UNIT_FILES} from '../../oclif/host-install.js'
import {PQC_BIN} from '../helpers/e2e-pqc.js'
import {NetnsLab} from '../helpers/netns.js'
import {parseUnit, readUnit} from '../helpers/systemd-unit.js'

const run = promisify(execFile)
/** capabilities(7) numbers of the names our units may use. */
const CAP_BITS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21,
}

let lab: NetnsLab
let tmp = ''
before(async () => {
  lab = new NetnsLab()
  tmp = mkdtempSync(join(tmpdir(), 'h6-units-'))
  chmodSync(tmp, 0o755)
  // The units expect what `pqc install` makes: the user, /etc/pqconnect/resolver.json, the key dir.
  await run(process.execPath, [PQC_BIN, 'install', '--no-systemd'], {timeout: 60_000})
})
after(() => {
  lab.cleanup()
  if (tmp !== '') rmSync(tmp, {recursive: true, force: true})
})

/** The shell that plays systemd for one start and stop; prints key=value lines. */
const SCRIPT = String.raw`
set -u
mount -t tmpfs -o mode=0755 tmpfs /run
for d in $RUNTIME_DIRS; do mkdir -m 0755 "/run/$d"; done
if [ -n "$KEYS" ]; then mount --bind "$KEYS" /etc/pqconnect/keys; fi
setpriv --bounding-set "$BOUNDING" --inh-caps -all $NNP -- $START > "$LOG" 2>&1 &
pid=$!
ready=0
for i in $(seq 1 150); do
  kill -0 $pid 2>/dev/null || break
  workers=$(for c in $(pgrep -P $pid); do grep -q worker /proc/$c/cmdline 2>/dev/null && awk '/^Uid:/{print $2}' /proc/$c/status; done | grep -vc '^0$')
  if ip link show "$TUN" >/dev/null 2>&1 && [ "$workers" -ge "$WORKERS" ] && ss -Hlun | grep -q ":$PORT "; then ready=1; break; fi
  sleep 0.2
done
echo "ready=$ready"
sleep 0.5
echo "monitor=$(grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' /proc/$pid/status 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
for c in $(pgrep -P $pid); do
  if grep -q worker /proc/$c/cmdline 2>/dev/null; then
    echo "worker=$(grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' /proc/$c/status | awk '{print $2}' | tr '\n' ' ')"
  fi
done
kill -TERM $pid 2>/dev/null
wait $pid
echo "exit=$?"
ip link show "$TUN" >/dev/null 2>&1 && echo "tun=present" || echo "tun=gone"
nft list tables 2>/dev/null | grep -q 'inet pqconnect' && echo "nft=present" || echo "nft=gone"
[ -e "$PIDFILE" ] && echo "pidfile=present" || echo "pidfile=gone"
setpriv --bounding-set "$BOUNDING" --inh-caps -all $NNP -- $STOPPOST > "$LOG.cleanup" 2>&1
echo "cleanup=$?"
`

interface Outcome {ready: string; monitor: string; workers: string[]; exit: string; tun: string; nft: string; pidfile: string; cleanup: string}

function parseOutcome(out: string): Outcome {
  const kv = out.split('\n').map((l) => /^(\w+)=(.*)$/.exec(l)).filter((m) => m !== null)
  const get = (k: string): string => kv.find((m) => m[1] === k)?.[2] ?? ''
  return {ready: get('ready'), monitor: get('monitor'), workers: kv.filter((m) => m[1] === 'worker').map((m) => m[2]!),
    exit: get('exit'), tun: get('tun'), nft: get('nft'), pidfile: get('pidfile'), cleanup: get('cleanup')}
}

/** An Exec line with the installed binary replaced by this checkout's CLI under node. */
const execLine = (line: string): string => line.replace(PQC_BIN_PATH, `${process.execPath} ${PQC_BIN}`)

for (const {name, side} of UNIT_FILES) {
  test(`${name}: starts and stops cleanly inside its capability bounding set and NoNewPrivileges`, async () => {
    const u = parseUnit(readUnit(name))
    const caps = u.get('CapabilityBoundingSet')![0]!.split(' ')
    const mask = caps.reduce((m, c) => {
      assert.ok(c in CAP_BITS, `unknown capability ${c}`)
      return m | (1n << BigInt(CAP_BITS[c]!))
    }, 0n)
    const start = execLine(u.get('ExecStart')![0]!)
    const pidFile = side === 'client' ? '/run/pqconnect/client.pid' : '/run/pqconnect/server.pid'
    let keys = ''
    if (side === 'server') {
      keys = join(tmp, 'keys')
      await run(process.execPath, [PQC_BIN, 'server', 'keygen', '--keydir', keys, '--config-dir', join(tmp, 'config')], {timeout: 120_000})
    }
    const ns = lab.addNamespace(`h6u${side.slice(0, 3)}`)
    const log = join(tmp, `${side}.log`)
    const env = {
      RUNTIME_DIRS: u.get('RuntimeDirectory')![0]!, KEYS: keys, LOG: log, TUN: side === 'client' ? 'pqccli0' : 'pqcserv0',
      PORT: side === 'client' ? '53' : '624', WORKERS: side === 'client' ? '2' : '1', PIDFILE: pidFile,
      BOUNDING: ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(','),
      NNP: u.get('NoNewPrivileges')![0] === 'yes' ? '--no-new-privs' : '',
      START: start, STOPPOST: execLine(u.get('ExecStopPost')![0]!),
    }
    const r = await run('ip', ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private', 'bash', '-c', SCRIPT],
      {env: {...process.env, ...env}, timeout: 90_000, encoding: 'utf8'}).catch((e: {stdout?: string; stderr?: string}) => ({stdout: e.stdout ?? '', stderr: e.stderr ?? ''}))
    const o = parseOutcome(r.stdout)
    const logs = (): string => `\n${r.stdout}${r.stderr}\n--- ${start}\n${readFileSync(log, 'utf8').slice(-3000)}`
    console.log(`${name}: monitor [Uid CapEff CapBnd NoNewPrivs] ${o.monitor}; workers ${o.workers.join('; ')}`)
    assert.equal(o.ready, '1', `not ready (TUN, port, workers as pqconnect)${logs()}`)
    const [muid, , mbnd, mnnp] = o.monitor.split(' ')
    assert.equal(muid, '0')
    assert.equal(BigInt(`0x${mbnd}`), mask, 'the monitor runs with exactly the unit\'s bounding set')
    assert.equal(mnnp, '1')
    const pqcUid = (await run('id', ['-u', 'pqconnect'], {encoding: 'utf8'})).stdout.trim()
    for (const w of o.workers) {
      const [uid, eff, , nnp] = w.split(' ')
      assert.deepEqual([uid, BigInt(`0x${eff}`), nnp], [pqcUid, 0n, '1'], `worker [Uid CapEff CapBnd NoNewPrivs] ${w}`)
    }
    assert.equal(o.exit, '0', `SIGTERM: exit status${logs()}`)
    assert.deepEqual([o.tun, o.nft, o.pidfile], ['gone', 'gone', 'gone'], `after stop: TUN, nft table, pid file${logs()}`)
    assert.equal(o.cleanup, '0', `ExecStopPost failed: ${readFileSync(`${log}.cleanup`, 'utf8')}`)
  })
}
