/*
 * What the root monitor and its workers need beyond the data path (architecture.md section 3):
 * a listening TCP socket the monitor binds for the resolver worker (DNS over TCP on port 53), and
 * PR_SET_NO_NEW_PRIVS, which a worker sets on itself first so no exec can regain privilege.
 */
#define _GNU_SOURCE
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* tcpListen(family, bindAddress, port, backlog) -> fd (non-blocking, close-on-exec, listening) */
static napi_value tcp_listen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  char addr_text[INET6_ADDRSTRLEN];
  int32_t family;
  uint32_t port, backlog;
  int fd, one = 1;
  struct sockaddr_storage ss;
  socklen_t sslen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) {
    pqc_throw_arg(env, "tcpListen(family, bindAddress, port, backlog)");
    return NULL;
  }
  PQC_TRY(pqc_arg_int32(env, argv[0], "family", &family));
  PQC_TRY(pqc_arg_string(env, argv[1], "bindAddress", addr_text, sizeof addr_text));
  PQC_TRY(pqc_arg_uint32(env, argv[2], "port", &port));
  PQC_TRY(pqc_arg_uint32(env, argv[3], "backlog", &backlog));
  if ((family != 4 && family != 6) || port > 65535 || backlog > 65535) {
    pqc_throw_arg(env, "family must be 4 or 6, port and backlog at most 65535");
    return NULL;
  }
  memset(&ss, 0, sizeof ss);
  if (family == 4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr_text, &sin->sin_addr) != 1) goto bad_address;
    sslen = sizeof *sin;
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr_text, &sin6->sin6_addr) != 1) goto bad_address;
    sslen = sizeof *sin6;
  }
  fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    pqc_throw_errno(env, "socket", errno);
    return NULL;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, (int)backlog) != 0) {
    int err = errno;
    close(fd);
    pqc_throw_errno(env, "bind/listen", err);
    return NULL;
  }
  napi_create_int32(env, fd, &out);
  return out;
bad_address:
  pqc_throw_arg(env, "bindAddress is not an address of the given family");
  return NULL;
}

/* noNewPrivs(): prctl(PR_SET_NO_NEW_PRIVS, 1); irreversible for this process and its children. */
static napi_value no_new_privs(napi_env env, napi_callback_info info) {
  (void)info;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) pqc_throw_errno(env, "prctl", errno);
  return NULL;
}

napi_status pqc_init_privsep(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = pqc_export_fn(env, exports, "tcpListen", tcp_listen)) != napi_ok) return s;
  return pqc_export_fn(env, exports, "noNewPrivs", no_new_privs);
}
