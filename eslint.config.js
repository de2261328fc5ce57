// Lint rules, with the folder boundaries of docs (style-anchors.md section 5). The same rules are
// checked, with a reason each, by test/unit/deps.unit.test.ts.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const IO_MODULES = ['node:dgram', 'node:net', 'node:fs', 'node:fs/promises', 'node:child_process', 'node:timers',
  'node:timers/promises', 'node:process', 'node:os', 'node:worker_threads', 'node:cluster', 'node:http', 'node:https',
  'dgram', 'net', 'fs', 'fs/promises', 'child_process', 'timers', 'process', 'os', 'worker_threads']

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'oclif/bin/**', 'router/native/build/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: IO_MODULES.map((name) => ({name, message: 'src/ is the sans-I/O core: no sockets, files, timers or process.'})),
        patterns: [{group: ['**/resolver/**', '**/router/**', '**/monitor/**', '**/oclif/**'], message: 'src/ is shared by all; it imports none of them.'}],
      }],
      'no-restricted-globals': ['error',
        {name: 'setTimeout', message: 'src/ takes time as an argument.'},
        {name: 'setInterval', message: 'src/ takes time as an argument.'},
        {name: 'process', message: 'src/ does not touch the process.'},
        {name: 'console', message: 'src/ logs nothing; it returns events.'}],
      'no-restricted-properties': ['error', {object: 'Date', property: 'now', message: 'src/ takes time as an argument.'}],
    },
  },
  {
    files: ['resolver/**/*.ts'],
    rules: {'no-restricted-imports': ['error', {patterns: [
      {group: ['**/router/**'], message: 'resolver and router talk only over src/ipc at run time.'},
      {group: ['**/monitor/**', '!**/monitor/worker-link.js'], message: 'workers use only the worker side of the monitor link.'}]}]},
  },
  {
    files: ['router/**/*.ts'],
    rules: {'no-restricted-imports': ['error', {patterns: [
      {group: ['**/resolver/**'], message: 'resolver and router talk only over src/ipc at run time.'},
      {group: ['**/monitor/**', '!**/monitor/worker-link.js'], message: 'workers use only the worker side of the monitor link.'}]}]},
  },
  {
    files: ['monitor/**/*.ts'],
    rules: {'no-restricted-imports': ['error', {patterns: [{group: ['**/resolver/**'], message: 'the root monitor starts the resolver as a process; it never runs DNS-parsing code.'}]}]},
  },
)
