/* An SD card's flush, on a fast disk: LD_PRELOAD this into a process and every fsync and
 * fdatasync takes EDGEBOX_FSYNC_DELAY_MS milliseconds longer (an SD card takes 5-50 ms where a
 * server disk takes 0.4). The real call is made first, so what is durable stays durable.
 * A card serves one flush at a time, in the order they were asked for (the block layer
 * queues them): two threads flushing at once (an alarm's commit and a checkpoint) wait one
 * after the other here too, first come first served, so an overlap costs the alarm what it
 * would cost on the card. (A plain mutex would let a later flush overtake a waiting one.)
 * With EDGEBOX_FSYNC_LOG set, each flush appends "<start> <end> <served>\n" (CLOCK_MONOTONIC
 * seconds, the clock Python's time.monotonic reads: the call, its return, and when the card
 * began serving it, after any flush it queued behind) to that file: the benchmark counts the
 * flushes between a +CLIP and its first AT+CMGS, and how long the card took over one.
 * Built by the sdcard benchmark with the machine's cc (bench/sdcard.py). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t card = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t card_free = PTHREAD_COND_INITIALIZER;
static unsigned long next_ticket, now_serving;

static void take_the_card(void) {
    pthread_mutex_lock(&card);
    unsigned long mine = next_ticket++;
    while (mine != now_serving) pthread_cond_wait(&card_free, &card);
    pthread_mutex_unlock(&card);
}

static void give_back_the_card(void) {
    pthread_mutex_lock(&card);
    now_serving++;
    pthread_cond_broadcast(&card_free);
    pthread_mutex_unlock(&card);
}

static long delay_ns(void) {
    const char *ms = getenv("EDGEBOX_FSYNC_DELAY_MS");
    return ms ? (long)(atof(ms) * 1e6) : 0;
}

static void wait_like_a_card(void) {
    long ns = delay_ns();
    struct timespec left = {ns / 1000000000L, ns % 1000000000L};
    while (ns > 0 && nanosleep(&left, &left) != 0) {
        /* interrupted by a signal: sleep the rest */
    }
}

static double monotonic(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

static void note(double start, double served) {
    const char *path = getenv("EDGEBOX_FSYNC_LOG");
    if (!path) return;
    char line[96];
    int length = snprintf(line, sizeof line, "%.6f %.6f %.6f\n", start, monotonic(), served);
    int out = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) return;
    ssize_t written = write(out, line, (size_t)length);  /* one short append: whole or nothing */
    (void)written;
    close(out);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    double start = monotonic();  /* from the call: a wait for the card counts as the flush's */
    take_the_card();
    double served = monotonic();
    int result = real(fd);
    wait_like_a_card();
    give_back_the_card();
    note(start, served);
    return result;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    double start = monotonic();  /* from the call: a wait for the card counts as the flush's */
    take_the_card();
    double served = monotonic();
    int result = real(fd);
    wait_like_a_card();
    give_back_the_card();
    note(start, served);
    return result;
}
