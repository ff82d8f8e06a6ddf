/*
 * fuzz_config.c — libFuzzer target: any bytes as a configuration file.
 * Parsing must never crash or read past the input; errors are reported.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "gateway/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    cs_config_t *cfg = malloc(sizeof *cfg);
    if (buf && cfg) {
        memcpy(buf, data, size);
        char err[512];
        cs_config_defaults(cfg);
        if (cs_config_parse(cfg, buf, size, "fuzz", err, sizeof err) == CS_OK)
            cs_config_validate(cfg, err, sizeof err);
    }
    free(cfg);
    free(buf);
    return 0;
}
