# The pqc data-path addon (router/native/, plain C over node_api.h): TUN device, batched TUN
# reads with virtio-net offload (offload.c), batched UDP (recvmmsg/sendmmsg), and the monitor's TCP listen + no_new_privs. npm runs `node-gyp rebuild` on this file during
# `npm ci` / `npm install`; the result is build/Release/pqc_native.node (loaded by
# router/native/addon.ts). Linux only. No cryptography here.
{
  "targets": [
    {
      "target_name": "pqc_native",
      "sources": [
        "router/native/common.c",
        "router/native/offload.c",
        "router/native/privsep.c",
        "router/native/reader.c",
        "router/native/tun.c",
        "router/native/udp.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "cflags!": ["-O3"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
