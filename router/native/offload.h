/*
 * TUN offload packet logic (offload.c): the virtio_net_hdr that prefixes every read and write of a
 * TUN fd opened with IFF_VNET_HDR, the Internet checksum, userspace segmentation of the kernel's
 * TCP/IPv4 super-packets (TSO) and coalescing of same-flow TCP/IPv4 segments into one write (GRO).
 * Pure functions over caller buffers: no syscalls, no allocation, no cryptography.
 */
#ifndef PQC_NATIVE_OFFLOAD_H
#define PQC_NATIVE_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/* sizeof(struct virtio_net_hdr) (linux/virtio_net.h): the header we set with TUNSETVNETHDRSZ. */
#define PQC_VNET_HDR_LEN 10u
/* Largest packet one read(2) of an offload TUN returns after the header (IP total length is 16-bit). */
#define PQC_OFFLOAD_MAX_PACKET 65535u
/* Scratch buffer for one offload read: header + the largest packet (+1: a too-long read is visible). */
#define PQC_OFFLOAD_SCRATCH (PQC_VNET_HDR_LEN + PQC_OFFLOAD_MAX_PACKET + 1u)
/* A super-packet read from the kernel becomes at most this many segments; more is dropped. */
#define PQC_GSO_MAX_SEGS 1024u
/* At most this many packets are coalesced into one write. */
#define PQC_GRO_MAX_SEGS 64u
/* The rewritten IP + TCP headers of a coalesced write: 20 (no IP options) + at most 60. */
#define PQC_GRO_HEAD_MAX 80u

/* virtio_net_hdr values (linux/virtio_net.h). */
#define PQC_VNET_F_NEEDS_CSUM 1u
#define PQC_VNET_GSO_NONE 0u
#define PQC_VNET_GSO_TCPV4 1u

/* The header's fields in host order. On the wire they are the host's order (legacy virtio, the
 * TUN default without TUNSETVNETLE/BE). */
typedef struct pqc_vnet_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
} pqc_vnet_hdr;

void pqc_vnet_hdr_read(const uint8_t *p, pqc_vnet_hdr *h);
void pqc_vnet_hdr_write(uint8_t *p, const pqc_vnet_hdr *h);

/* Ones-complement sum of len bytes (big-endian 16-bit words, odd tail padded) added to sum. */
uint64_t pqc_csum_add(uint64_t sum, const uint8_t *p, size_t len);
/* Folds a sum to 16 bits (not complemented). */
uint16_t pqc_csum_fold(uint64_t sum);

/* How one packet read from an offload TUN becomes ordinary packets (see pqc_gso_plan). */
enum { PQC_GSO_COPY = 0, PQC_GSO_CSUM = 1, PQC_GSO_TCP4 = 2 };

typedef struct pqc_gso_plan {
  int kind;
  uint32_t len;      /* packet bytes (after the virtio header) */
  uint32_t segs;     /* ordinary packets it becomes, >= 1 */
  uint32_t ihl;      /* TCP4: IP header bytes */
  uint32_t hlen;     /* TCP4: IP + TCP header bytes */
  uint32_t gso_size; /* TCP4: payload bytes per segment (the last may be smaller) */
  uint32_t csum_start, csum_offset; /* CSUM */
} pqc_gso_plan;

/*
 * Validates the packet `pkt` (len bytes) read after header `h` and plans its split into packets
 * of at most max_out bytes each. Returns 0, or -1 when it must be dropped (malformed, an offload we
 * did not offer, a segment larger than max_out, more than PQC_GSO_MAX_SEGS segments).
 */
int pqc_gso_plan_make(const pqc_vnet_hdr *h, const uint8_t *pkt, uint32_t len, uint32_t max_out,
                      pqc_gso_plan *plan);
/* Writes packet `index` (< plan->segs) of a planned packet into out (at least max_out bytes);
 * returns its length. Complete checksums, each packet valid on its own. */
uint32_t pqc_gso_segment(const pqc_gso_plan *plan, const uint8_t *pkt, uint32_t index, uint8_t *out);

/* One write of an offload TUN built by pqc_gro_group. */
typedef struct pqc_gro_group {
  uint32_t count;      /* packets of the batch it consumes, >= 1 */
  uint8_t vnet[PQC_VNET_HDR_LEN];
  /* count > 1: write vnet, head[0..head_len), then each packet's payload (after its own hlen). */
  uint8_t head[PQC_GRO_HEAD_MAX];
  uint32_t head_len;
  uint32_t hlen;       /* IP + TCP header bytes of every merged packet */
} pqc_gro_group;

/*
 * Groups packets start.. of a batch (packet i at base + offs[i], lens[i] bytes; all in range) for
 * one write: consecutive segments of one TCP/IPv4 flow that the kernel may resegment exactly (see
 * offload.c) become one GSO write; anything else is a group of 1 with a zero header.
 */
void pqc_gro_group_make(const uint8_t *base, const uint32_t *offs, const uint32_t *lens, uint32_t count,
                        uint32_t start, pqc_gro_group *g);

#endif
