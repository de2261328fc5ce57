/**
 * Admission of a client query (dns-anchors.md rows 3 and 21): what the proxy does with bytes a
 * client sent, before any cache or upstream work. Malformed queries get FORMERR when their header
 * can be read and are dropped otherwise; responses are dropped; other opcodes get NOTIMP; EDNS
 * versions above 0 get BADVERS; zone transfers are refused; the DoH canary gets NXDOMAIN.
 */
import {DNS_DOH_CANARY_NAME} from '../constants.js'
import {type ClientQuery, formErrFromHeader, questionOnlyReply} from './reply.js'
import {
  FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RD, RCODE_BADVERS, RCODE_FORMERR, RCODE_NOTIMP, RCODE_NXDOMAIN,
  RCODE_REFUSED, TYPE_AXFR, TYPE_IXFR, TYPE_OPT, parseMessage,
} from './wire.js'

export type Admission =
  | {kind: 'drop'; reason: 'short' | 'response' | 'unparsable'}
  | {kind: 'reply'; reason: 'formerr' | 'notimp' | 'badvers' | 'refused' | 'canary'; bytes: Uint8Array}
  | {kind: 'query'; query: ClientQuery}

export function admitQuery(bytes: Uint8Array): Admission {
  if (bytes.length < 12) return {kind: 'drop', reason: 'short'}
  if ((bytes[2]! & (FLAG_QR >> 8)) !== 0) return {kind: 'drop', reason: 'response'}
  const msg = parseMessage(bytes)
  if (msg === undefined || msg.questions.length !== 1) {
    const f = formErrFromHeader(bytes)
    return f === undefined ? {kind: 'drop', reason: 'unparsable'} : {kind: 'reply', reason: 'formerr', bytes: f}
  }
  const qn = msg.questions[0]!
  const query: ClientQuery = {
    id: msg.id,
    questionBytes: bytes.subarray(qn.start, qn.end),
    question: qn,
    rd: (msg.flags & FLAG_RD) !== 0,
    cd: (msg.flags & FLAG_CD) !== 0,
    ad: (msg.flags & FLAG_AD) !== 0,
    edns: msg.opt === undefined ? undefined : {udpSize: msg.opt.udpSize, dnssecOk: msg.opt.dnssecOk},
  }
  if (msg.opcode !== 0) return {kind: 'reply', reason: 'notimp', bytes: questionOnlyReply(query, RCODE_NOTIMP)}
  if (msg.opt !== undefined && msg.opt.version > 0) {
    return {kind: 'reply', reason: 'badvers', bytes: questionOnlyReply(query, RCODE_BADVERS)}
  }
  if (qn.type === TYPE_OPT) return {kind: 'reply', reason: 'formerr', bytes: questionOnlyReply(query, RCODE_FORMERR)}
  if (qn.type === TYPE_AXFR || qn.type === TYPE_IXFR) {
    return {kind: 'reply', reason: 'refused', bytes: questionOnlyReply(query, RCODE_REFUSED)}
  }
  if (qn.lname === DNS_DOH_CANARY_NAME) {
    return {kind: 'reply', reason: 'canary', bytes: questionOnlyReply(query, RCODE_NXDOMAIN)}
  }
  return {kind: 'query', query}
}

/** Cache and in-flight key: name (lowercased), type, class, DO, CD (dns-anchors.md row 5). */
export function queryKey(q: ClientQuery): string {
  return `${q.question.lname}|${q.question.type}|${q.question.klass}|${q.edns?.dnssecOk === true ? 1 : 0}${q.cd ? 1 : 0}`
}
