/**
 * Child script for the server namespace: an HTTP server on 0.0.0.0:80 that answers every GET
 * with the deterministic body, and a TCP echo server on 0.0.0.0:7007. Prints {"ready":true}
 * once both listen; exits on SIGTERM.
 */
import http from 'node:http'
import net from 'node:net'

import {ECHO_PORT, HTTP_PORT, e2eBody} from './e2e-apps.js'

const body = e2eBody()
const web = http.createServer((req, res) => {
  res.writeHead(200, {'content-type': 'text/plain', 'content-length': body.length})
  res.end(body)
  process.stderr.write(`http: ${req.method} ${req.url} from ${req.socket.remoteAddress}\n`)
})
const echo = net.createServer((sock) => {
  process.stderr.write(`echo: connection from ${sock.remoteAddress}:${sock.remotePort}\n`)
  sock.on('data', (d) => sock.write(d))
  sock.on('error', (err) => process.stderr.write(`echo: ${err.message}\n`))
})
await Promise.all([
  new Promise<void>((resolve) => web.listen(HTTP_PORT, '0.0.0.0', resolve)),
  new Promise<void>((resolve) => echo.listen(ECHO_PORT, '0.0.0.0', resolve)),
])
console.log(JSON.stringify({ready: true}))
process.once('SIGTERM', () => process.exit(0))
