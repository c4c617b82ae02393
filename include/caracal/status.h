/* Caracal public API: status codes.
 *
 * Every fallible function returns cc_status.  CC_OK is zero; anything else is
 * an error whose detail (which file, which peer, which op) is in the calling
 * thread's error message, see cc_error_message() in src/core/core.h. */
#ifndef CARACAL_STATUS_H
#define CARACAL_STATUS_H

typedef enum cc_status {
    CC_OK = 0,
    CC_ERR_ARG,        /* bad argument or option */
    CC_ERR_RANGE,      /* value out of the representable range */
    CC_ERR_NOMEM,      /* allocation failed */
    CC_ERR_IO,         /* file or socket I/O failed */
    CC_ERR_FORMAT,     /* malformed file or frame */
    CC_ERR_MISMATCH,   /* inputs that must agree do not (version, f, model, party) */
    CC_ERR_AUTH,       /* authentication failed: unknown key, bad AEAD tag */
    CC_ERR_PEER,       /* a peer disconnected or misbehaved */
    CC_ERR_TIMEOUT,    /* a peer did not answer in time */
    CC_ERR_UNSUPPORTED,/* not available on this CPU / build */
    CC_ERR_INTERNAL,   /* a bug: an invariant did not hold */
    CC_STATUS_COUNT
} cc_status;

/* Short constant name of a status ("CC_ERR_PEER" -> "peer failure"). */
const char *cc_status_str(cc_status s);

#endif
