#!/bin/sh
# Checks that the shared library exports the public API and nothing else:
# no casty__ internal and no name outside casty_, but every public (casty_)
# function that the static library defines, so that one declared without
# CASTY_API, which links fine from the static library, is caught too.
# Usage: check_exports.sh SHARED_LIBRARY STATIC_LIBRARY
shared=$1
static=$2
nm=${NM:-nm}

exported=$("$nm" -D --defined-only "$shared" | awk '{ print $NF }' | sort -u)
defined=$("$nm" -g --defined-only "$static" | awk 'NF == 3 { print $3 }' | sort -u)
status=0

internal=$(printf '%s\n' "$exported" | grep '^casty__')
if [ -n "$internal" ]; then
    echo "$shared exports internals:"
    printf '  %s\n' $internal
    status=1
fi

foreign=$(printf '%s\n' "$exported" | grep -v '^casty_')
if [ -n "$foreign" ]; then
    echo "$shared exports names outside the casty_ API:"
    printf '  %s\n' $foreign
    status=1
fi

# A few names are checked whatever the static library says, so that a
# library nm cannot read fails rather than passes empty.
public=$(printf '%s\n' "$defined" | grep '^casty_' | grep -v '^casty__')
for name in $public casty_tell casty_system_create casty_strerror; do
    if ! printf '%s\n' "$exported" | grep -qx "$name"; then
        echo "$shared does not export $name (is it declared with CASTY_API?)"
        status=1
    fi
done
exit $status
