/* error.c — text and stable names for Consilium's negative error codes. */
#include "common.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} errors[] = {
    {CS_OK, "ok", "success"},
    {CS_ENOMEM, "no_memory", "out of memory"},
    {CS_EINVAL, "invalid", "invalid input"},
    {CS_ENOTFOUND, "not_found", "no such object"},
    {CS_EPERM, "forbidden", "not permitted"},
    {CS_ESTATE, "wrong_state", "not allowed in the current state"},
    {CS_ETAKEN, "taken", "already taken by someone else"},
    {CS_ELIMIT, "limit", "a configured limit was reached"},
    {CS_EIO, "io", "input/output error"},
    {CS_ESTORAGE, "storage", "storage failure"},
    {CS_EAUTH, "unauthenticated", "missing or invalid credentials"},
    {CS_EEXPIRED, "expired", "expired"},
    {CS_EEXIST, "exists", "already exists"},
    {CS_EAGAIN, "try_again", "temporarily unavailable"},
    {CS_ETOOBIG, "too_big", "too large"},
    {CS_EUNSUPPORTED, "unsupported", "not supported"},
};

const char *cs_strerror(int err)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(errors); i++)
        if (errors[i].code == err)
            return errors[i].text;
    return "unknown error";
}

const char *cs_errname(int err)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(errors); i++)
        if (errors[i].code == err)
            return errors[i].name;
    return "unknown";
}
