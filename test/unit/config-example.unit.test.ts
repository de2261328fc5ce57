/** The shipped example configuration (config/, data only) must load as documented in pqc.conf(5). */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {resolveConfig} from '../../resolver/config.js'
import {REPO_ROOT} from '../helpers/repo.js'

test('config/resolver.example.json is a valid resolver config with the documented values', () => {
  const path = join(REPO_ROOT, 'config', 'resolver.example.json')
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  const cfg = resolveConfig({config: path, listen: undefined, upstreams: undefined, routerSocket: undefined, controlSocket: undefined, logQueries: undefined})
  assert.equal(cfg.upstreams.length, (raw.upstreams as string[]).length)
  assert.equal(cfg.routerSocket, raw.routerSocket)
  assert.equal(cfg.logQueries, false)
  assert.equal(cfg.cacheEntries, raw.cacheEntries)
  assert.equal(cfg.pool, raw.pool)
})
