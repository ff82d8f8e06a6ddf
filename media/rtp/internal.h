/* internal.h — big-endian byte helpers shared by the rtp module's files. Callers
 * have already checked that the bytes are there. */
#ifndef CS_RTP_INTERNAL_H
#define CS_RTP_INTERNAL_H

#include <stdint.h>

#include "common/common.h"
#include "rtp.h"


/* rtp_ext.c: checks every RFC 8285 element of a parsed packet fits. */
int rtp_ext_validate(const cs_rtp_packet_t *pkt);

#endif
