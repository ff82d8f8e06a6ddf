/* internal.h — byte helpers and the packet-writing steps shared by the rtcp
 * module's files. Readers have already checked that the bytes are there. */
#ifndef CS_RTCP_INTERNAL_H
#define CS_RTCP_INTERNAL_H

#include <stdint.h>

#include "common/common.h"
#include "rtcp.h"

/* The largest packet a 16-bit length field can describe: (65535 + 1) * 4. */
#define RTCP_MAX_PACKET 262144u


/*
 * Writing one packet of size bytes (a multiple of 4): rtcp_begin returns where
 * it goes with its header written, or NULL when it does not fit (or is larger
 * than a length field can say); rtcp_commit makes it part of the compound.
 */
uint8_t *rtcp_begin(cs_rtcp_builder_t *b, size_t size, uint8_t count, uint8_t type);
int rtcp_commit(cs_rtcp_builder_t *b, size_t size);

/* A typed parser's first check: the type, and FMT when fmt >= 0, and a body
 * of at least min bytes. */
bool rtcp_is(const cs_rtcp_pkt_t *p, uint8_t type, int fmt, size_t min);

#endif
