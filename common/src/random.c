/* Random bytes from getrandom(2), buffered per thread. A forked child drops
 * the buffer it inherited: it would otherwise hand out the same ids as its
 * parent and its siblings. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cairn/random.h"

static __thread uint8_t rbuf[256];
static __thread size_t rpos = sizeof(rbuf);
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In the child, on the thread that forked: its only thread. */
static void drop_buffer(void)
{
        explicit_bzero(rbuf, sizeof(rbuf));
        rpos = sizeof(rbuf);
}

static void watch_forks(void)
{
        if (pthread_atfork(NULL, NULL, drop_buffer) != 0)
                abort(); /* ENOMEM at the first id: nothing sane to do */
}

static void refill(void)
{
        size_t got = 0;

        pthread_once(&atfork_once, watch_forks);
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
