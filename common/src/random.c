/* Random bytes from getrandom(2), buffered per thread. (A forked child must
 * not keep using its parent's buffer; Cairn's processes do not fork after
 * start.) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cairn/random.h"

static __thread uint8_t rbuf[256];
static __thread size_t rpos = sizeof(rbuf);

static void refill(void)
{
        size_t got = 0;

        while (got < sizeof(rbuf)) {
                ssize_t r = getrandom(rbuf + got, sizeof(rbuf) - got, 0);

                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        abort(); /* no entropy at all: nothing sane to do */
                }
                got += (size_t)r;
        }
        rpos = 0;
}

void cairn_random(uint8_t *buf, size_t n)
{
        while (n > 0) {
                size_t k;

                if (rpos == sizeof(rbuf))
                        refill();
                k = sizeof(rbuf) - rpos;
                if (k > n)
                        k = n;
                memcpy(buf, rbuf + rpos, k);
                rpos += k;
                buf += k;
                n -= k;
        }
}
