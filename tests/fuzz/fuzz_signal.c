/*
 * fuzz_signal.c — libFuzzer target: any bytes as a client signalling message.
 * Decoding must never crash, read out of bounds or leak; a decoded message
 * must have NUL-terminated, bounded strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "signaling/proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so reading past the end is caught by ASan. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    cs_msg_t *m = malloc(sizeof *m);
    cs_proto_error_t err;
    if (m && cs_proto_decode(buf, size, m, &err) == CS_OK) {
        if (memchr(m->req_id, '\0', sizeof m->req_id) == NULL)
            abort();
        if (m->type == CS_MSG_CONSULT_REQUEST &&
            (memchr(m->u.request.reason, '\0', sizeof m->u.request.reason) == NULL ||
             !cs_date_valid(m->u.request.patient.birth_date)))
            abort();
    } else if (m && memchr(err.message, '\0', sizeof err.message) == NULL) {
        abort();
    }
    free(m);
    free(buf);
    return 0;
}
