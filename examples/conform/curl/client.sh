#!/bin/sh
# One request through curl --retry, as its manual suggests: --retry 3 with
# --retry-delay 1, and the caller's deadline as --max-time (which "is reset
# each time the transfer is retried") and --retry-max-time ("to limit the
# retry time"; whole seconds), driven by retrylab conform's RETRYLAB_
# environment variables. curl prints the final status; it exits 0 with a
# response, non-zero without.
set -eu
retry_max_time=${RETRYLAB_TIMEOUT%.*}
if [ "$retry_max_time" -lt 1 ]; then
	retry_max_time=1 # 0 would mean no limit
fi
set -- --silent --show-error --output /dev/null --write-out '%{http_code}\n' \
	--request "$RETRYLAB_METHOD" \
	--retry 3 --retry-delay 1 --retry-max-time "$retry_max_time" \
	--max-time "$RETRYLAB_TIMEOUT"
if [ -n "$RETRYLAB_BODY_FILE" ]; then
	set -- "$@" --data-binary "@$RETRYLAB_BODY_FILE"
fi
nl='
'
old_ifs=$IFS
IFS=$nl
for header in $RETRYLAB_HEADERS; do
	set -- "$@" --header "$header"
done
IFS=$old_ifs
exec curl "$@" "$RETRYLAB_URL"
