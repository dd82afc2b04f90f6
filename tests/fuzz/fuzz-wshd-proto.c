/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The wshd protocol decoder: the first thing that reads what comes across the container boundary. Whatever
 * decodes must encode again (nothing the decoder accepts is refused by the encoder) to a message that
 * decodes to the same fields and is not longer than the input.
 */

#include <stdint.h>
#include <stdlib.h>

#include "macro.h"
#include "wshd-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ void *buf = NULL;
        WshdMessage m, again;
        size_t buf_size;
        int r;

        r = wshd_message_decode(data, size, &m);
        if (r < 0) {
                if (r != -EBADMSG && r != -EPROTO && r != -ENOMEM)
                        abort();
                return 0;
        }

        r = wshd_message_encode(&m, &buf, &buf_size);
        if (r < 0 || buf_size > size)
                abort();
        r = wshd_message_decode(buf, buf_size, &again);
        if (r < 0 || !wshd_message_equal(&m, &again))
                abort();

        wshd_message_done(&again);
        wshd_message_done(&m);
        return 0;
}
