/**
 * The markdown-to-roff converter of man/roff.ts on each construct the man page sources use,
 * with the expected roff written out by hand; and its refusal of what it does not support.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {inline, markdownToRoff} from '../../../man/roff.js'

const OPTS = {source: 'pqc 9.9.9', manual: 'pqc manual', from: 'man/x.1.md'}
const body = (md: string): string[] => markdownToRoff(`# x(1) -- a test page\n${md}`, OPTS).roff.split('\n').slice(6, -1)

test('title line becomes the header, NAME section and generated-file comment', () => {
  const page = markdownToRoff('# pqc-client(8) -- run the `pqc` client\n', OPTS)
  assert.equal(page.name, 'pqc-client')
  assert.equal(page.section, '8')
  assert.deepEqual(page.roff.split('\n'), [
    '.\\" Generated from man/x.1.md by man/build.ts (npm run man). Do not edit.',
    '.TH "PQC-CLIENT" "8" "" "pqc 9.9.9" "pqc manual"',
    '.nh',
    '.ad l',
    '.SH NAME',
    'pqc\\-client \\- run the \\fBpqc\\fR client',
    '',
  ])
})

test('inline markup: code, bold, italic, links, escapes, hyphens as minus signs', () => {
  assert.equal(inline('`--listen` *ADDR:PORT*'), '\\fB\\-\\-listen\\fR \\fIADDR:PORT\\fR')
  assert.equal(inline('**pqc** `it\'s`'), '\\fBpqc\\fR \\fBit\\(aqs\\fR')
  assert.equal(inline('a\\*b c\\\\d'), 'a*b c\\ed')
  assert.equal(inline('see [the site](https://example.org/x)'), 'see the site <https://example.org/x>')
  assert.equal(inline('<https://www.pqconnect.net/>'), '<https://www.pqconnect.net/>')
  assert.equal(inline('**a `b` c**'), '\\fBa b c\\fR')
  assert.throws(() => inline('an `unclosed span'), /unclosed/)
})

test('headings, paragraphs, hard breaks and lines that would be roff requests', () => {
  assert.deepEqual(body('## SYNOPSIS\n\n**pqc** a\\\n**pqc** b\n\n### pqc `x`\ntext\n.dot first\n\nnext'), [
    '.SH "SYNOPSIS"',
    '\\fBpqc\\fR a', '.br', '\\fBpqc\\fR b',
    '.SS "pqc x"',
    'text', '\\&.dot first',
    '.PP', 'next',
  ])
})

test('an inline span may cross a source line', () => {
  assert.deepEqual(body('run `tcpdump -ni any\nudp port 53` now'), ['.PP', 'run \\fBtcpdump \\-ni any', 'udp port 53\\fR now'])
})

test('definition, bullet and numbered lists', () => {
  const md = [
    '* **--tun** *NAME*:',
    '  Name of the TUN',
    '  device.',
    '',
    '  Second paragraph.',
    '* plain bullet',
    '  continued',
    '',
    '1. first',
    '   step',
    '2. second',
  ].join('\n')
  assert.deepEqual(body(md), [
    '.TP', '\\fB\\-\\-tun\\fR \\fINAME\\fR', 'Name of the TUN', 'device.',
    '.IP', 'Second paragraph.',
    '.IP \\(bu 2', 'plain bullet', 'continued',
    '.IP 1. 4', 'first', 'step',
    '.IP 2. 4', 'second',
  ])
})

test('code blocks are literal, escaped and indented', () => {
  assert.deepEqual(body("```\necho 'x' > /a-b\n.not a request\n```"), [
    '.PP', '.RS 4', '.nf', 'echo \\(aqx\\(aq > /a\\-b', '\\&.not a request', '.fi', '.RE',
  ])
})

test('pipe tables become tbl input and mark the page for the tbl preprocessor', () => {
  const page = markdownToRoff('# x(1) -- t\n| a | b |\n|---|---|\n| `1` | one \\| two |\n', OPTS)
  const lines = page.roff.split('\n')
  assert.equal(lines[0], '\'\\" t')
  const ts = lines.indexOf('.TS')
  assert.deepEqual(lines.slice(ts, lines.indexOf('.TE') + 1), [
    '.TS', 'tab(\t);', 'lB lB', 'l lx.',
    'a\tT{', 'b', 'T}',
    '\\fB1\\fR\tT{', 'one | two', 'T}',
    '.TE',
  ])
  assert.throws(() => markdownToRoff('# x(1) -- t\n| a | b |\n|---|---|\n| 1 |\n', OPTS), /man\/x\.1\.md:2: table row has 1 cells/)
})

test('unsupported constructs are refused with the file and line', () => {
  assert.throws(() => markdownToRoff('no title\n', OPTS), /man\/x\.1\.md: first line/)
  assert.throws(() => markdownToRoff('# x(1) -- t\n\n# again\n', OPTS), /man\/x\.1\.md:3: only one "#"/)
  assert.throws(() => markdownToRoff('# x(1) -- t\n```\nopen\n', OPTS), /man\/x\.1\.md:2: unclosed code fence/)
  assert.throws(() => markdownToRoff('# x(1) -- t\n\n    indented\n', OPTS), /man\/x\.1\.md:3: indented text/)
})
