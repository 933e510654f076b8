#include "casty/error.h"

const char *casty_strerror(int code)
{
    switch ((casty_error_t)code) {
    case CASTY_OK:
        return "success";
    case CASTY_EINVAL:
        return "invalid argument";
    case CASTY_ENOMEM:
        return "out of memory";
    case CASTY_EMSGSIZE:
        return "message larger than the limit or the buffer";
    case CASTY_ESHUTDOWN:
        return "actor system is shut down";
    case CASTY_ENOACTOR:
        return "no such actor: it has stopped, or the ref names none";
    case CASTY_EEXIST:
        return "an actor of that name already exists";
    case CASTY_ETIMEDOUT:
        return "timed out";
    case CASTY_ENOTFOUND:
        return "no actor at that path";
    case CASTY_EDEADLK:
        return "blocking call from a worker thread";
    case CASTY_ENOTCHILD:
        return "actor is not a child of the caller";
    case CASTY_EFULL:
        return "mailbox full: message rejected";
    case CASTY_EAGAIN:
        return "mailbox full: try again";
    }
    return "unknown error";
}
